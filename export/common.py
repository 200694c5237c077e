"""What the exporters share: quantization modes, errors, calibration images, model facts."""

from __future__ import annotations

import contextlib
import io
import os
from enum import Enum
from pathlib import Path

import numpy as np

import runtime

DEFAULT_CALIBRATION_SAMPLES = 500


class Quantization(str, Enum):
    """How an exported file stores its numbers."""

    NONE = "none"  # float32 throughout
    FLOAT16 = "float16"  # float16 weights, float32 compute and I/O
    DYNAMIC = "dynamic"  # int8 weights, activations quantized on the fly
    INT8 = "int8"  # int8 weights and activations, calibrated on representative images

    @classmethod
    def parse(cls, value) -> "Quantization":
        if value is None:
            return cls.NONE
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(q.value for q in cls)
            raise ValueError(f"quantization must be one of {allowed} (or None); got {value!r}") from None


class ExportError(RuntimeError):
    """A converter failed on a model it was given; the converter's own error is the cause."""


def check_suffix(path: str | os.PathLike, suffix: str) -> Path:
    path = Path(path)
    if path.suffix.lower() != suffix:
        raise ValueError(f"expected a path ending in '{suffix}'; got {str(path)!r}")
    return path


def class_names_for(model, class_names=None) -> list[str]:
    """The model's class names: those given, Fashion-MNIST's for a 10-class model, else numbers."""
    count = int(model.output_shape[-1])
    if class_names is None:
        class_names = runtime.CLASS_NAMES if count == len(runtime.CLASS_NAMES) else [str(i) for i in range(count)]
    if len(class_names) != count:
        raise ValueError(f"got {len(class_names)} class names for a model with {count} outputs")
    return list(class_names)


def calibration_batch(images, sample_shape) -> np.ndarray:
    """Representative images as the model takes them: float32 in [0, 1], shape (N, *sample_shape).

    Raises:
        ValueError: no images, or a shape that does not fit the model's input.
    """
    x = np.asarray(images)
    if x.dtype == np.uint8:
        x = runtime.preprocess(x)
    x = x.astype(np.float32, copy=False)
    sample = tuple(sample_shape)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError("representative images are empty: pass a few hundred training images")
    if x.shape[1:] != sample:
        if int(np.prod(x.shape[1:])) != int(np.prod(sample)):
            raise ValueError(f"representative images have shape {x.shape}; the model takes (N, {', '.join(map(str, sample))})")
        x = x.reshape((len(x), *sample))
    if not (x.min() >= 0.0 and x.max() <= 1.0):
        raise ValueError("representative images must be uint8 pixels or floats in [0, 1]")
    return x


def default_calibration_images(count: int = DEFAULT_CALIBRATION_SAMPLES, data_dir=None, seed: int = 0) -> np.ndarray:
    """`count` training images, drawn evenly at random (seeded), preprocessed to [0, 1]."""
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"calibration samples must be a positive whole number; got {count!r}")
    images, _ = runtime.load_fashion_mnist("train", data_dir)
    chosen = np.random.default_rng(seed).choice(len(images), size=min(count, len(images)), replace=False)
    return runtime.preprocess(images[np.sort(chosen)])


@contextlib.contextmanager
def quiet_stdout():
    """Keras' export path prints 'Saved artifact at ...' lines; a library call should not."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield
