"""Calibration images for the int8 files: which ones, and in the form a converter takes."""

from __future__ import annotations

import numpy as np

from edgeport.runtime.datasets import ALL, TRAIN, Dataset
from edgeport.runtime.modelinfo import Preprocessing

DEFAULT_CALIBRATION_SAMPLES = 500


def check_calibration_samples(count) -> None:
    """Refuse a calibration sample count that is not a positive whole number."""
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"calibration samples must be a positive whole number; got {count!r}")


def calibration_sample(data: Dataset, count: int = DEFAULT_CALIBRATION_SAMPLES, seed: int = 0):
    """`count` images drawn at random (seeded) from data's train split, else from the whole source.

    Returns:
        (uint8 images (N, H, W, C), record for the manifest: source, split, images, seed and
        whether the images may also be validation images).
    """
    check_calibration_samples(count)
    split = TRAIN if TRAIN in data.splits else ALL
    images = data.splits[split].images
    chosen = np.sort(np.random.default_rng(seed).choice(len(images), size=min(count, len(images)), replace=False))
    record = {"source": data.source, "split": split, "images": int(len(chosen)), "seed": seed,
              "overlaps_validation": split == ALL}
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
