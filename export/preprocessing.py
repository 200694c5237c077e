"""What a Keras model wants from a pixel: read from its layers, else tried on the data.

Keras tutorials put preprocessing inside the model after augmentation (Rescaling, Normalization),
keras.applications bases leave it to preprocess_input (whose computation their name tells), and a
SavedModel shows no layers at all. find_preprocessing reads what the layers say; try_usual tries the
usual ones on the validation images when that scores near chance.
"""

from __future__ import annotations

import re

import numpy as np

from edgeport.runtime.modelinfo import Preprocessing

# Layers that make a model take raw pixels: it rescales or normalizes them itself.
_SELF_SCALING = ("Rescaling", "Normalization")
# Layers that come before those without changing what a pixel value means: augmentation (a no-op at
# inference), resizing and cropping.
_PIXEL_KEEPING = ("InputLayer", "Resizing", "CenterCrop", "Identity", "Dropout", "GaussianNoise", "GaussianDropout")
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
SYMMETRIC = Preprocessing((1 / 127.5,), (-1.0,))  # x / 127.5 - 1: pixels in [-1, 1]
IMAGENET = Preprocessing.from_mean_std(IMAGENET_MEAN, IMAGENET_STD)
# keras.applications models that leave preprocess_input to their caller, by model name: what it computes.
_APPLICATIONS = (
    (re.compile(r"^(resnet\d+v2|mobilenet(v2)?_[\d.]+_\d+|xception|inception_v3|inception_resnet_v2|nasnet_\w+)$"),
     "x / 127.5 - 1", SYMMETRIC),
    (re.compile(r"^densenet\d+$"), "ImageNet mean and std", IMAGENET),
)


def find_preprocessing(model) -> tuple[Preprocessing, str]:
    """What the model wants from a pixel, read from its layers, and where that was read.

    Raw pixels when its first layer that changes pixel values (past augmentation, resizing and
    cropping, inside nested models too) is Rescaling or Normalization, or arithmetic on the input
    (preprocess_input called inside the model); a keras.applications model that leaves
    preprocess_input to its caller (ResNetV2, MobileNet, MobileNetV2, Xception, Inception, NASNet,
    DenseNet) gets what preprocess_input computes; else x / 255, as the seed tutorial trains.
    """
    first = model if _application(model) else _first_pixel_user(model)
    if first is None:
        return Preprocessing.unit(), "no layer of the model reads pixel values: x / 255"
    kind = type(first).__name__
    if kind in _SELF_SCALING:
        return Preprocessing.raw(), f"the model's {kind} layer {first.name!r} scales raw pixels itself"
    if not _is_layer(first):
        return Preprocessing.raw(), f"the model computes on its input itself ({kind} {first.name!r}): raw pixels"
    application = _application(first)
    if application:
        what, preprocessing = application
        return preprocessing, f"keras.applications {first.name} takes preprocess_input's {what}"
    return Preprocessing.unit(), f"no preprocessing layer before {kind} {first.name!r}: x / 255"


def _first_pixel_user(model):
    """The first operation of the model that reads pixel values; a keras.applications model whose name says
    what it expects stands for itself; None when there is none."""
    for op in getattr(model, "operations", None) or model.layers:
        kind = type(op).__name__
        if kind in _PIXEL_KEEPING or kind.startswith("Random"):
            continue
        if hasattr(op, "layers") and _is_layer(op):  # a nested model: look inside it
            if _application(op):
                return op
            inner = _first_pixel_user(op)
            if inner is None:  # only augmentation in it (Keras's data_augmentation block)
                continue
            return inner
        return op
    return None


def _application(op) -> tuple[str, Preprocessing] | None:
    """(what preprocess_input computes, as a Preprocessing) for a keras.applications model that leaves it to its
    caller, known by its name; None for anything else."""
    if not hasattr(op, "layers"):
        return None
    return next(((what, preprocessing) for pattern, what, preprocessing in _APPLICATIONS if pattern.match(op.name)),
                None)


def _is_layer(op) -> bool:
    import keras

    return isinstance(op, keras.layers.Layer)


def try_usual(model, validation, read: tuple, accuracy: float, threshold: float, say=None) -> tuple:
    """The usual preprocessings tried on the validation images, when the one read from the model scores near
    chance.

    Args:
        model: the Keras classifier.
        validation: the validation Split (uint8 images, labels).
        read: (preprocessing, its outputs, where it was found), as read from the model.
        accuracy: the model's accuracy with it.
        threshold: the accuracy a preprocessing must beat to be taken (near chance).
        say: the export's progress callback.

    Returns:
        (the best preprocessing, its raw outputs, why it was taken), or read as it is when none beats
        threshold.
    """
    from edgeport.export.modelfacts import image_shape, keras_outputs

    tried, scores = read[0], {}
    for name, candidate in usual_preprocessings(image_shape(model)[2]):
        if candidate != tried:
            outputs = keras_outputs(model, validation.images, candidate)
            scores[name] = (float(np.mean(outputs.argmax(1) == validation.labels)), candidate, outputs)
    if not scores:
        return read
    name, (best, candidate, outputs) = max(scores.items(), key=lambda item: item[1][0])
    if best <= threshold:
        return read
    own = preprocessing_name(tried)
    found = (f"tried on the validation images: the model scored {accuracy:.4f} with {own} and {best:.4f} with "
             f"{name}; " + ", ".join(f"{n} {a:.4f}" for n, (a, _, _) in scores.items()))
    if say is not None:
        say(f"Preprocessing: the Keras model scores {accuracy:.4f} with {own}, near chance; with {name} it scores "
            f"{best:.4f} on the validation images: taking {name} (--scale/--offset or --mean/--std choose another)")
    return candidate, outputs, found


def usual_preprocessings(channels: int) -> list[tuple[str, Preprocessing]]:
    """What image models usually take, by name: raw pixels, x / 255, x / 127.5 - 1, and (RGB) ImageNet's
    mean and std."""
    usual = [("x", Preprocessing.raw()), ("x / 255", Preprocessing.unit()),
             ("x / 127.5 - 1", SYMMETRIC)]
    if channels == 3:
        usual.append(("ImageNet mean/std", IMAGENET))
    return usual


USUAL_NAMES = [name for name, _ in usual_preprocessings(3)]


def preprocessing_name(preprocessing: Preprocessing) -> str:
    """A preprocessing's usual name, else its formula."""
    for name, candidate in usual_preprocessings(3):
        if candidate == preprocessing:
            return name
    values = preprocessing.to_json()
    return f"x * {values['scale']} + {values['offset']}"
