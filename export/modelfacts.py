"""What export needs to know about a Keras model: its input, its preprocessing, its outputs
(reading one from its file or folder: export/loading.py)."""

from __future__ import annotations

import numpy as np

from edgeport import runtime
from edgeport.runtime.modelinfo import ModelInfo, Preprocessing, output_kind

_PROBE_IMAGES = 8
KERAS_BATCH = 64  # images per Keras step: the seed MLP takes as long at 64 as at 1,000 (one predict call)


def image_shape(model) -> tuple[int, int, int]:
    """(height, width, channels) of the model's input; (N, H, W) inputs take one channel.

    Raises:
        ValueError: the model does not take images.
    """
    dims = tuple(model.input_shape[1:])
    if len(dims) in (2, 3) and None in dims[:2] and all(isinstance(d, int) for d in dims[2:]):
        raise ValueError(f"model {model.name!r} takes images of any size {model.input_shape}: give the size to export "
                         f"at with --input-size HxW (export.load_keras_model(..., input_size=(H, W)))")
    if len(dims) not in (2, 3) or not all(isinstance(d, int) for d in dims):
        raise ValueError(f"model {model.name!r} takes input {model.input_shape}; expected images (N, H, W) or (N, H, W, C)")
    return (dims[0], dims[1], dims[2] if len(dims) == 3 else 1)


def num_classes(model) -> int:
    return int(model.output_shape[-1])


def preprocessing_for(model, override: Preprocessing | None = None) -> Preprocessing:
    """What the model wants from a pixel: override if given, else what find_preprocessing reads in its layers."""
    from edgeport.export.preprocessing import find_preprocessing

    return override if override is not None else find_preprocessing(model)[0]


def keras_outputs(model, images: np.ndarray, preprocessing: Preprocessing) -> np.ndarray:
    """The Keras model's raw outputs (probabilities or logits) on uint8 images (N, H, W, C), KERAS_BATCH images
    per step (a deep network's activations for 1,000 images at 64x64 took gigabytes)."""
    x = preprocessing.apply(images).reshape((-1, *model.input_shape[1:]))
    return np.asarray(model.predict(x, batch_size=KERAS_BATCH, verbose=0), dtype=np.float32)


# Validation images a model with BatchNormalization is run on in training mode, when it scores at chance.
BATCHNORM_SAMPLE = 512


def batchnorm_hint(model, images: np.ndarray, labels: np.ndarray, preprocessing: Preprocessing,
                   floor: float) -> str | None:
    """Why a model with BatchNormalization layers scores no better than floor, when its moving statistics are
    the cause: in training mode (each batch normalised by its own statistics) it scores above floor on the
    same images. None otherwise. The model's weights are as they were afterwards (training mode updates the
    moving statistics)."""
    import keras

    count = sum(isinstance(layer, keras.layers.BatchNormalization) for layer in all_layers(model))
    if not count:
        return None
    x = preprocessing.apply(images[:BATCHNORM_SAMPLE]).reshape((-1, *model.input_shape[1:]))
    weights = model.get_weights()
    try:
        outputs = np.concatenate([np.asarray(model(x[start:start + KERAS_BATCH], training=True))
                                  for start in range(0, len(x), KERAS_BATCH)])
    finally:
        model.set_weights(weights)
    accuracy = float(np.mean(outputs.argmax(1) == labels[:BATCHNORM_SAMPLE]))
    if accuracy <= floor:
        return None
    return (f"in training mode, each batch normalised by its own statistics, it scores {accuracy:.4f} on the same "
            f"images: the moving mean and variance of its {count} BatchNormalization layer{'s' if count > 1 else ''} "
            f"do not match the data (a brief fit at Keras's default momentum, 0.99, leaves them near where they "
            f"started); fit longer, or with a lower momentum, before exporting")


def all_layers(model) -> list:
    """Every layer of a Keras model, those of nested models included (depth first)."""
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        found += all_layers(layer)
    return found


def model_info(model, class_names=None, preprocessing: Preprocessing | None = None, output: str | None = None,
               background: str | None = None, fit: str | None = None) -> ModelInfo:
    """The facts a file of this model carries, with defaults for what the caller did not say.

    Class names default to "0".."N-1"; preprocessing to preprocessing_for(model); the output
    kind is found by running the model on a few random pixel images (softmax rows sum to 1
    whatever the input).

    Raises:
        ValueError: class names that do not match the model's outputs.
    """
    count = num_classes(model)
    names = tuple(str(n) for n in class_names) if class_names is not None else tuple(str(i) for i in range(count))
    if len(names) != count:
        raise ValueError(f"got {len(names)} class names for a model with {count} outputs")
    preprocessing = preprocessing_for(model, preprocessing)
    preprocessing.check_channels(image_shape(model)[2])
    if output is None:
        probe = np.random.default_rng(0).integers(0, 256, (_PROBE_IMAGES, *image_shape(model)), dtype=np.uint8)
        output = output_kind(keras_outputs(model, probe, preprocessing))
    return ModelInfo(names, preprocessing, output, background, fit)


def reference_probabilities(outputs: np.ndarray, output: str) -> np.ndarray:
    """Probabilities from the model's raw outputs: softmax for a logits model."""
    return runtime.softmax(outputs) if output == "logits" else outputs
