"""Which picture rule fits a model's data: the Fashion-MNIST frame or a plain resize, chosen on the model's
own answers.

Data whose pictures have dark borders could take either rule: the frame (invert a light background, crop
to the object, centre, resize), the way Fashion-MNIST was made, or a plain resize, as Keras loads pictures
(image_dataset_from_directory). A model trained on pictures resized the Keras way scores better on them
resized: export tries both on the validation pictures and keeps the one the Keras model scores better on.
When the validation pictures are already at the model's size, both rules leave them alike; a sample of
them is then rescaled to other sizes and fitted back by each rule, which is the evidence. Resize, Keras's
own behaviour, wins a tie there.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgeport.export import intervals
from edgeport.export.modelfacts import keras_outputs, preprocessing_for
from edgeport.runtime.datasets import Dataset
from edgeport.runtime.images import RESIZE, fit_pictures
from edgeport.runtime.modelinfo import Preprocessing

# Validation pictures rescaled for the evidence when they are all at the model's size: at most this many,
# each made larger and smaller by these (height, width) factors (another aspect ratio too), as users' pictures
# come. They are scored in growing looks (RESCALED_LOOKS): a look at which one rule's paired gain over the
# other is surely above zero (99.9 % interval, as export.sequential's interim looks) settles it; on a deep
# network each look of 100 pictures is some 400 Keras answers.
RESCALED_SAMPLE = 500
RESCALED_LOOKS = (100, RESCALED_SAMPLE)
RESCALINGS = ((1.5, 1.25), (0.75, 0.8))
SETTLED_CONFIDENCE = 0.999


def choose_fit(model, candidates: list[Dataset], preprocessing: Preprocessing | None = None,
               say=None) -> Dataset:
    """The data set (one per rule, the default rule first) on whose validation images the Keras model
    scores best; a tie keeps the first. The one returned says why in fit_found.

    Args:
        model: the Keras classifier.
        candidates: the same data loaded with each rule (runtime.load_dataset(..., fit=...)).
        preprocessing: what the model wants from a pixel (default: read from its layers).
        say: the export's progress callback.
    """
    first = candidates[0].validation[1].images
    preprocessing = preprocessing_for(model, preprocessing)
    if all(np.array_equal(data.validation[1].images, first) for data in candidates[1:]):
        return _choose_on_rescaled(model, candidates, preprocessing, say)
    scores = []
    for data in candidates:
        _, split = data.validation
        scores.append(float(np.mean(keras_outputs(model, split.images, preprocessing).argmax(1) == split.labels)))
    best = int(np.argmax(scores))  # the first of equal scores
    chosen = candidates[best]
    figures = ", ".join(f"{data.fit} {score:.4f}" for data, score in zip(candidates, scores))
    why = f"the Keras model's accuracy on the validation pictures fitted by each rule: {figures}"
    if say is not None:
        say(f"Pictures: fitted by {chosen.fit!r} ({figures}; --fit chooses)")
    return replace(chosen, fit_found=why)


def _choose_on_rescaled(model, candidates: list[Dataset], preprocessing: Preprocessing, say) -> Dataset:
    """choose_fit for validation pictures that every rule leaves alike (already at the model's size): a sample
    of them rescaled (RESCALINGS) and fitted back by each candidate's rule, scored by the Keras model look by
    look (RESCALED_LOOKS) until one rule is surely better; resize wins a tie."""
    split = candidates[0].validation[1]
    order = np.random.default_rng(0).permutation(len(split.images))
    shape, right, seen = split.images.shape[1:], [np.zeros(0, bool) for _ in candidates], 0
    for look in RESCALED_LOOKS:
        new, seen = order[seen:look], min(look, len(order))
        pictures = [_rescaled(image, factors) for image in split.images[new] for factors in RESCALINGS]
        labels = np.repeat(split.labels[new], len(RESCALINGS))
        right = [np.concatenate([so_far, keras_outputs(model, fit_pictures(pictures, shape, data.fitting),
                                                       preprocessing).argmax(1) == labels])
                 for so_far, data in zip(right, candidates)]
        if seen == len(order) or _settled(right, candidates):
            break
    scores = [float(np.mean(r)) for r in right]
    best = min(range(len(candidates)), key=lambda i: (-scores[i], candidates[i].fitting.rule != RESIZE))
    chosen = candidates[best]
    figures = ", ".join(f"{data.fitting.rule} {score:.4f}" for data, score in zip(candidates, scores))
    what = f"{seen:,} validation pictures rescaled to other sizes and fitted back"
    if say is not None:
        say(f"Pictures: fitted by {chosen.fitting.rule!r} ({figures}, on {what}; --fit chooses)")
    return replace(chosen, fit_found=f"the Keras model's accuracy on {what} by each rule (the validation pictures "
                                     f"are all at the model's size): {figures}")


def _settled(right: list[np.ndarray], candidates: list[Dataset]) -> bool:
    """Whether the rule scoring best on the pictures so far is surely better than every other: its paired gain's
    SETTLED_CONFIDENCE interval lies above zero."""
    order = sorted(range(len(right)), key=lambda i: (-right[i].mean(), candidates[i].fitting.rule != RESIZE))
    best = right[order[0]]
    z = intervals.z_for(SETTLED_CONFIDENCE)
    for other in (right[i] for i in order[1:]):
        gained, lost = int(np.sum(best & ~other)), int(np.sum(~best & other))
        if intervals.accuracy_change_interval(gained, lost, len(best), z)[0] <= 0:
            return False
    return True


def _rescaled(image: np.ndarray, factors: tuple[float, float]) -> np.ndarray:
    """One (H, W, C) uint8 picture resized (bilinear, each channel alike) by (height, width) factors."""
    from PIL import Image

    height, width = (max(2, round(side * factor)) for side, factor in zip(image.shape[:2], factors))
    channels = [np.asarray(Image.fromarray(image[..., c]).resize((width, height), Image.Resampling.BILINEAR))
                for c in range(image.shape[2])]
    return np.stack(channels, axis=2).astype(np.uint8)
