"""95 % intervals for a file's figures on the validation images, and how many images would settle a bar.

A file and the Keras model answer the same images, so the figures are paired: the accuracy change
comes from the discordant images alone (the file right where Keras was wrong, and the reverse).

- agreement: Wilson's score interval for a proportion.
- accuracy change: Agresti and Min's adjusted Wald interval for a paired difference of proportions
  (half an image added to each cell of the 2x2 table), which keeps a width when no image is
  discordant and holds its coverage on a few hundred images.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile


def z_for(confidence: float) -> float:
    """The standard normal quantile of a two-sided interval at this confidence (1.96 for 0.95)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def agreement_interval(agreeing: int, images: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's 95 % interval (another level with z) for the share of images on which the file's class is Keras's."""
    if images <= 0:
        raise ValueError("an interval needs at least one image")
    p, z2 = agreeing / images, z ** 2
    centre = (p + z2 / (2 * images)) / (1 + z2 / images)
    half = z * math.sqrt(p * (1 - p) / images + z2 / (4 * images ** 2)) / (1 + z2 / images)
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy_change_interval(gained: int, lost: int, images: int, z: float = Z95) -> tuple[float, float]:
    """Agresti-Min 95 % interval (another level with z) for the accuracy change (file minus Keras, as a fraction).

    Args:
        gained: images the file classifies right and Keras wrong.
        lost: images Keras classifies right and the file wrong.
        images: all validation images.
    """
    if images <= 0:
        raise ValueError("an interval needs at least one image")
    n, b, c = images + 2, gained + 0.5, lost + 0.5
    change = (b - c) / n
    half = z * math.sqrt(max((b + c) / n - change ** 2, 0.0) / n)
    return max(-1.0, change - half), min(1.0, change + half)


def paired_counts(predicted, expected, labels) -> tuple[int, int, int]:
    """(agreeing, gained, lost) images of a file's classes against Keras's, with the labels."""
    predicted, expected, labels = map(np.asarray, (predicted, expected, labels))
    right, keras_right = predicted == labels, expected == labels
    return (int(np.sum(predicted == expected)), int(np.sum(right & ~keras_right)), int(np.sum(~right & keras_right)))


def images_to_settle(per_image_variance: float, distance: float) -> int | None:
    """Images whose 95 % interval would be narrower than distance, the point estimate's gap to a bar,
    at the variance seen; None when the point sits on the bar (no number of images settles it)."""
    if distance <= 1e-9:  # on the bar, up to rounding
        return None
    needed = Z95 ** 2 * per_image_variance / distance ** 2
    return round_up(max(needed, 1.0))


def agreement_variance(agreement: float, images: int) -> float:
    """One image's variance for the agreement (at least one image's worth when none disagreed)."""
    return max(agreement * (1 - agreement), 1.0 / images)


def change_variance(gained: int, lost: int, images: int) -> float:
    """One image's variance for the paired accuracy change (at least one discordant image's worth)."""
    change = (gained - lost) / images
    return max((gained + lost) / images - change ** 2, 1.0 / images)


def round_up(count: float) -> int:
    """count rounded up to two significant figures: an estimate, not a promise."""
    magnitude = 10 ** max(0, int(math.floor(math.log10(count))) - 1)
    return int(math.ceil(count / magnitude) * magnitude)
