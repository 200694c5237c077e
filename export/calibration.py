"""Calibration images for the quantized files: which ones, and in the form a converter takes."""

from __future__ import annotations

import numpy as np

from edgeport.runtime.datasets import Dataset
from edgeport.export.errors import PlanError
from edgeport.runtime.manifest import CalibrationRecord
from edgeport.runtime.modelinfo import Preprocessing

DEFAULT_CALIBRATION_SAMPLES = 500


def check_calibration_samples(count) -> None:
    """Refuse a calibration sample count that is not a positive whole number."""
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise PlanError(f"calibration samples must be a positive whole number; got {count!r}")


def seeded_choice(size: int, count: int, seed: int) -> np.ndarray:
    """min(count, size) distinct row numbers below size, drawn with seed, in increasing order."""
    return np.sort(np.random.default_rng(seed).choice(size, size=min(count, size), replace=False))


def calibration_sample(data: Dataset, count: int = DEFAULT_CALIBRATION_SAMPLES, seed: int = 0):
    """`count` images drawn at random (seeded) from data's train split, else from the whole source.

    Returns:
        (uint8 images (N, H, W, C), the manifest's CalibrationRecord: source, split, images, seed,
        and whether the images may also be validation images).
    """
    check_calibration_samples(count)
    split, images = data.calibration[0], data.calibration[1].images
    chosen = seeded_choice(len(images), count, seed)
    record = CalibrationRecord(data.source, split, int(len(chosen)), seed,
                               overlaps_validation=split == data.validation[0])
    return images[chosen], record


def calibration_batch(images, sample_shape, preprocessing: Preprocessing | None = None) -> np.ndarray:
    """Representative images as the model takes them: float32 (N, *sample_shape), preprocessed.

    Args:
        images: uint8 pixels, or floats that are pixel intensities in [0, 1].
        sample_shape: the model's input shape without the batch dimension.
        preprocessing: the model's (default x / 255).

    Raises:
        ValueError: no images, a shape that does not fit the model's input, values out of range.
    """
    x = np.asarray(images)
    preprocessing = preprocessing or Preprocessing.unit()
    sample = tuple(sample_shape)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError("representative images are empty: pass a few hundred training images")
    if x.shape[1:] != sample:
        if int(np.prod(x.shape[1:])) != int(np.prod(sample)):
            raise ValueError(f"representative images have shape {x.shape}; the model takes (N, {', '.join(map(str, sample))})")
        x = x.reshape((len(x), *sample))
    if x.dtype == np.uint8:
        return preprocessing.apply(x)
    if x.dtype.kind != "f" or not (x.min() >= 0.0 and x.max() <= 1.0):
        raise ValueError("representative images must be uint8 pixels or floats in [0, 1]")
    return preprocessing.apply(x.astype(np.float32) * np.float32(255.0))
