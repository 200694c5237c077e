"""Which picture rule fits a model's data: the Fashion-MNIST frame or a plain resize, chosen on the model's
own answers.

Data whose pictures have dark borders get the frame rule by default (invert a light background, crop to
the object, centre, resize), the way Fashion-MNIST was made. A model trained on such pictures resized
the Keras way (image_dataset_from_directory) scores better on them resized: export tries both on the
validation pictures and keeps the one the Keras model scores better on.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgeport.export.modelfacts import keras_outputs, preprocessing_for
from edgeport.runtime.datasets import Dataset
from edgeport.runtime.modelinfo import Preprocessing


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
    if all(np.array_equal(data.validation[1].images, first) for data in candidates[1:]):
        return replace(candidates[0], fit_found="the validation images are the same under every rule (already at "
                                                "the model's size): the background's default")
    preprocessing = preprocessing_for(model, preprocessing)
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
