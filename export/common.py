"""What the exporters share: quantization modes, errors, calibration images, model facts."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import warnings
from enum import Enum
from pathlib import Path

import numpy as np

from edgeport import runtime

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


class CapturedOutput:
    """What a converter printed while it ran, kept to explain a failure instead of printed."""

    def __init__(self):
        self.text = ""

    @contextlib.contextmanager
    def capture(self):
        """Capture the process's stdout and stderr (Python's and the C++ converters', fd 1 and 2).

        TFLiteConverter prints 'fully_quantize: 0, inference_type: 6 ...' from C++ and Keras
        prints 'Saved artifact at ...': a library call must print nothing. The converters'
        Python warnings are dropped for the same reason.
        """
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        saved, python_output = [os.dup(1), os.dup(2)], io.StringIO()
        with tempfile.TemporaryFile() as log:
            try:
                os.dup2(log.fileno(), 1)
                os.dup2(log.fileno(), 2)
                with contextlib.redirect_stdout(python_output), contextlib.redirect_stderr(python_output), \
                        warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    yield self
            finally:
                for fd, copy in zip((1, 2), saved):
                    os.dup2(copy, fd)
                    os.close(copy)
                log.seek(0)
                self.text = python_output.getvalue() + log.read().decode("utf-8", "replace")

    def tail(self, lines: int = 5) -> str:
        """The last lines of the captured text, to append to an error message ('' when empty)."""
        kept = [line for line in self.text.strip().splitlines() if line.strip()][-lines:]
        return f" (converter output: {' | '.join(kept)})" if kept else ""
