"""The Keras classifiers edgeport trains: the tutorial's MLP and a small CNN."""

from __future__ import annotations

ARCHS = ("mlp", "cnn")


def build_model(arch: str = "mlp", input_shape: tuple[int, int] = (28, 28), num_classes: int = 10):
    """Build an uncompiled Keras classifier with softmax outputs.

    Args:
        arch: "mlp", the tutorial's Flatten -> Dense(128, relu) -> Dense(10, softmax)
            (101,770 parameters), or "cnn", three conv blocks for a 28x28x1 input (93,322).
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
        # Three 3x3 conv blocks (32, 64, 64 filters, 'same' padding, 2x2 pooling) and a Dense(64)
        # head: 93,322 parameters, under the 100k of Fashion-MNIST's two-conv benchmark entries.
        return keras.Sequential(
            [
                keras.Input(shape=(*input_shape, 1), name="images"),
                layers.Conv2D(32, 3, padding="same", activation="relu"),
                layers.MaxPooling2D(),
                layers.Conv2D(64, 3, padding="same", activation="relu"),
                layers.MaxPooling2D(),
                layers.Conv2D(64, 3, padding="same", activation="relu"),
                layers.MaxPooling2D(),
                layers.Flatten(),
                layers.Dropout(0.3),
                layers.Dense(64, activation="relu"),
                layers.Dense(num_classes, activation="softmax"),
            ],
            name="cnn",
        )
    raise ValueError(f"arch must be one of {', '.join(ARCHS)}; got {arch!r}")
