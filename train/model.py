"""The Keras classifiers edgeport trains: the tutorial's MLP and a small CNN."""

from __future__ import annotations

ARCHS = ("mlp", "cnn")


def build_model(arch: str = "mlp", input_shape: tuple[int, int] = (28, 28), num_classes: int = 10):
    """Build an uncompiled Keras classifier with softmax outputs.

    Args:
        arch: "mlp", the tutorial's Flatten -> Dense(128, relu) -> Dense(10, softmax)
            (101,770 parameters), or "cnn", two conv blocks for a 28x28x1 input.
        input_shape: image height and width.
        num_classes: number of output classes.

    Raises:
        ValueError: arch is not one of ARCHS.
    """
    import keras
    from keras import layers

    if arch == "mlp":
        return keras.Sequential(
            [
                keras.Input(shape=input_shape, name="images"),
                layers.Flatten(),
                layers.Dense(128, activation="relu"),
                layers.Dense(num_classes, activation="softmax"),
            ],
            name="mlp",
        )
    if arch == "cnn":
        return keras.Sequential(
            [
                keras.Input(shape=(*input_shape, 1), name="images"),
                layers.Conv2D(16, 3, activation="relu"),
                layers.MaxPooling2D(),
                layers.Conv2D(32, 3, activation="relu"),
                layers.MaxPooling2D(),
                layers.Flatten(),
                layers.Dropout(0.25),
                layers.Dense(128, activation="relu"),
                layers.Dense(num_classes, activation="softmax"),
            ],
            name="cnn",
        )
    raise ValueError(f"arch must be one of {', '.join(ARCHS)}; got {arch!r}")
