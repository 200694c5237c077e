"""Activation ranges of a full-integer TFLite file chosen from the calibration images' histograms, not their extremes.

TFLiteConverter gives every activation tensor the lowest and highest value the calibration images reached
(minmax). A value reached by one image in a thousand then sets the step for all the others: on
EfficientNetV2B0 (64x64, a brief fit) the int8 file agreed with Keras on 95.4 % of 10,000 pictures. Clipping
the range to a percentile of the values seen, or to the range whose quantization error over the histogram
(rounding inside, clipping outside) is least, keeps the step fine where the values are; the rare values
saturate. Which rule helps differs per network (the same fits: percentile 99.99 lifted EfficientNetV2B0 to
96.9 % and MobileNetV3Small from 97.9 % to 98.2 %, but cost MobileNetV2 0.1 pt, where 99.999 gained 0.3),
so the int8 rungs try each and keep a file only when it agrees better on the tuning images (rungs.ranged).

A third rule ignores the histogram: each tensor's range is the mean, over the calibration images, of each image's
own lowest and highest value (NNCF aggregates per-sample minima and maxima by their mean the same way; LiteRT
Quantizer's moving average of per-image extremes is close to it, and its plain int8 file agreed 98.65 % on
EfficientNetV2B0 fitted longer, against 97.25 % for the converter's minmax one). Rare values of any single image
then saturate, while values that every image reaches keep their full range.

The calibrated model is TFLiteConverter's own, the float graph with each tensor's observed min and max
(calibrate-only): its statistics are changed, then its quantizer runs on them as it would have.
"""

from __future__ import annotations

import numpy as np

from edgeport.export.common import builtin_code, runs_keeping_every_tensor
from edgeport.runtime import tflite_file

MEAN_EXTREMES = "mean image extremes"
METHODS = ("percentile 99.99", "percentile 99.999", MEAN_EXTREMES)  # a quick search's
THOROUGH_METHODS = (*METHODS, "mse")  # never the best of the three networks measured (docs/export.md)
BINS = 2048  # per tensor, over its calibrated range
CHUNK = 50  # calibration images per engine call (every activation of the chunk is kept)
_SHRINK = np.array([1.0, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])  # the MSE rule's candidates


def chosen(calibrated: bytes, samples: np.ndarray, methods: tuple[str, ...]) -> dict[str, dict[int, tuple]]:
    """Per method, the (min, max) each clippable activation tensor of the calibrated model gets.

    Args:
        calibrated: TFLiteConverter's calibrated float flatbuffer (tensors carry their observed min and max).
        samples: the calibration images it was calibrated on, preprocessed float32 (N, *input shape).
        methods: names from METHODS.

    A tensor is clippable when it carries one observed range and is neither a constant, a graph input or
    output, nor the logits of the final SOFTMAX (logits.tighten_tflite narrows those from below; clipping
    their top would make the leading classes equal).
    """
    ranged = _clippable(calibrated)
    counts, means = _statistics(calibrated, samples, ranged)
    return {method: {index: _range(method, *ranged[index], counts[index], means[index])
                     for index in ranged if counts[index].any()}
            for method in methods}


def with_ranges(calibrated: bytes, ranges: dict[int, tuple]) -> bytes:
    """The calibrated flatbuffer with these tensors' observed (min, max) replaced."""
    from edgeport.export.tflite import pack

    model = tflite_file.objects(calibrated)
    tensors = model.subgraphs[0].tensors
    for index, (low, high) in ranges.items():
        tensors[index].quantization.min = np.array([low], dtype=np.float32)
        tensors[index].quantization.max = np.array([high], dtype=np.float32)
    return pack(model, len(calibrated))


def _clippable(calibrated: bytes) -> dict[int, tuple[float, float]]:
    schema = tflite_file.schema()
    model = tflite_file.objects(calibrated)
    graph = model.subgraphs[0]
    kept = {int(t) for t in (*graph.inputs, *graph.outputs)}
    kept |= {int(op.inputs[0]) for op in graph.operators
             if builtin_code(model, op) == schema.BuiltinOperator.SOFTMAX}
    ranged = {}
    for index, tensor in enumerate(graph.tensors):
        params, data = tensor.quantization, model.buffers[tensor.buffer].data
        if (index in kept or params is None or params.min is None or len(params.min) != 1
                or (data is not None and len(data)) or tensor.type != schema.TensorType.FLOAT32):
            continue
        low, high = float(params.min[0]), float(params.max[0])
        if high > low:
            ranged[index] = (low, high)
    return ranged


def _statistics(calibrated: bytes, samples: np.ndarray, ranged: dict
                ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Each tensor's histogram over its calibrated range, and the mean over the images of each image's lowest and
    highest value, the calibration images run a chunk at a time."""
    counts = {index: np.zeros(BINS, dtype=np.int64) for index in ranged}
    extremes = {index: np.zeros(2) for index in ranged}
    images = 0
    for interpreter in runs_keeping_every_tensor(calibrated, samples.astype(np.float32), CHUNK):
        for index, (low, high) in ranged.items():
            values = interpreter.get_tensor(index)
            per_image = values.reshape(len(values), -1)
            extremes[index] += per_image.min(1).sum(), per_image.max(1).sum()
            bins = np.clip(((values.ravel() - low) * (BINS / (high - low))).astype(np.int64), 0, BINS - 1)
            counts[index] += np.bincount(bins, minlength=BINS)
        # A file with a fixed batch leaves out the images that do not fill one: count those run.
        images += len(interpreter.get_tensor(interpreter.get_input_details()[0]["index"]))
    return counts, {index: sums / max(images, 1) for index, sums in extremes.items()}


def _range(method: str, low: float, high: float, counts: np.ndarray, means: np.ndarray) -> tuple[float, float]:
    """The range a method gives a tensor from its histogram (counts) or its images' mean extremes (means): never
    wider than the calibrated one, and holding 0 when that did (an int8 zero point is one of the 256 codes)."""
    if method == "mse":
        return _least_error(low, high, counts)
    if method == MEAN_EXTREMES:
        return _holding_zero(low, high, float(means[0]), float(means[1]))
    edges = np.linspace(low, high, BINS + 1)
    share = float(method.split()[1]) / 100
    cumulative = np.cumsum(counts) / counts.sum()
    return _holding_zero(low, high, float(edges[int(np.searchsorted(cumulative, 1 - share))]),
                         float(edges[min(BINS, int(np.searchsorted(cumulative, share)) + 1)]))


def _holding_zero(low: float, high: float, bottom: float, top: float) -> tuple[float, float]:
    """(bottom, top) for a tensor calibrated to (low, high): each end moved only on the side of 0 that the calibrated
    range reaches, and never past 0."""
    return (min(bottom, 0.0) if low < 0 else low), (max(top, 0.0) if high > 0 else high)


def _least_error(low: float, high: float, counts: np.ndarray) -> tuple[float, float]:
    """The range, each end the calibrated one shrunk by a factor of _SHRINK, whose 8-bit quantization error over
    the histogram is least: a step squared over 12 for each value inside, the squared distance for each outside."""
    edges = np.linspace(low, high, BINS + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    best = (np.inf, low, high)
    for bottom in low * _SHRINK if low < 0 else (low,):
        for top in high * _SHRINK if high > 0 else (high,):
            step = (top - bottom) / 255
            error = np.where(centres > top, (centres - top) ** 2,
                             np.where(centres < bottom, (bottom - centres) ** 2, step * step / 12))
            total = float((error * counts).sum())
            if total < best[0]:
                best = (total, float(bottom), float(top))
    return best[1], best[2]
