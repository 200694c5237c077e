"""Cross-layer equalisation: a copy of a Keras model whose consecutive weighted layers share their ranges.

Post-training int8 gives each activation tensor one scale. When one channel of a layer's output is far
wider than the others (one unit 1000x its neighbours), that scale crushes every other channel to a few
levels. For two weighted layers joined directly or through ReLU, dividing the first layer's output channel
i by s_i and multiplying the second layer's input channel i by s_i leaves the function unchanged
(ReLU(x / s) = ReLU(x) / s for s > 0); s_i = sqrt(r1_i / r2_i) makes both layers' ranges for that channel
equal (Nagel et al., "Data-Free Quantization Through Weight Equalization and Bias Correction", 2019; AIMET,
Sony MCT and NNCF do it). The int8 rungs try the equalised copy when the model as trained misses its bar
on the tuning images (rungs.equalising).

Pairs are Dense or Conv2D (one group) followed by Dense or Conv2D, the first with a linear or ReLU
activation, joined directly or through a plain ReLU layer, each output read by nothing else. ReLU6,
hard-swish and BatchNorm between the two end a pair: they are not scale-free.
"""

from __future__ import annotations

import numpy as np

# Passes over the pairs: equalising one pair moves its neighbours' ranges (a chain of three layers).
PASSES = 3


def equalized(model, custom_objects=None) -> tuple[object, list[str]]:
    """A copy of model with every pair equalised, and the pairs as "first→second" names; (model, []) when it
    has no pair or cannot be copied (a custom layer without its config)."""
    pairs = weighted_pairs(model)
    if not pairs:
        return model, []
    import keras

    try:
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
    except Exception:  # a layer Keras cannot rebuild from its config: equalisation does not apply
        return model, []
    layers = {layer.name: layer for layer in copy.layers}
    for _ in range(PASSES):
        for first, second in pairs:
            _equalize_pair(layers[first], layers[second])
    return copy, [f"{first}→{second}" for first, second in pairs]


def weighted_pairs(model) -> list[tuple[str, str]]:
    """The names of the (first, second) layer pairs of model that equalisation may rescale, in model order."""
    import keras

    layers = list(getattr(model, "layers", []))
    only_reader = _chain_reader(layers) if isinstance(model, keras.Sequential) else _graph_reader(layers)

    pairs = []
    for first in layers:
        if not _weighted(first) or _activation(first) not in ("linear", "relu"):
            continue
        second = only_reader(first)
        if isinstance(second, (keras.layers.ReLU, keras.layers.Activation)) and _plain_relu(second):
            second = only_reader(second)
        if second is not None and _weighted(second):
            pairs.append((first.name, second.name))
    return pairs


def _chain_reader(layers: list):
    """A Sequential model's layers each read the one before them: the layer after, or None."""
    following = dict(zip(map(id, layers), layers[1:]))
    return lambda layer: following.get(id(layer))


def _graph_reader(layers: list):
    """A functional model's layer read by exactly one other layer: that layer, or None (several, or a layer
    called more than once, which has no single output)."""
    readers: dict[int, list] = {}
    for layer in layers:
        for tensor in _inputs(layer):
            readers.setdefault(id(tensor), []).append(layer)

    def only_reader(layer):
        try:
            found = readers.get(id(layer.output), [])
        except (AttributeError, ValueError):
            return None
        return found[0] if len(found) == 1 else None
    return only_reader


def _inputs(layer) -> list:
    try:
        tensors = layer.input
    except (AttributeError, ValueError):
        return []
    return list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]


def _weighted(layer) -> bool:
    import keras

    if isinstance(layer, keras.layers.Conv2D) and not isinstance(layer, keras.layers.DepthwiseConv2D):
        return getattr(layer, "groups", 1) == 1
    return isinstance(layer, keras.layers.Dense)


def _activation(layer) -> str:
    return getattr(getattr(layer, "activation", None), "__name__", "")


def _plain_relu(layer) -> bool:
    import keras

    if isinstance(layer, keras.layers.ReLU):
        return (layer.max_value is None and not float(layer.negative_slope) and not float(layer.threshold))
    return _activation(layer) == "relu"


def _equalize_pair(first, second) -> None:
    """Rescale first's output channels and second's input channels so that their weight ranges match."""
    weights_1, weights_2 = first.get_weights(), second.get_weights()
    kernel_1, kernel_2 = weights_1[0], weights_2[0]
    range_1 = np.abs(kernel_1).reshape(-1, kernel_1.shape[-1]).max(axis=0)  # per output channel
    inputs_2 = np.moveaxis(kernel_2, -2, 0)  # (in, ...): Dense (in, out), Conv2D (kh, kw, in, out)
    range_2 = np.abs(inputs_2).reshape(inputs_2.shape[0], -1).max(axis=1)
    if range_1.shape != range_2.shape:
        return  # not channel for channel (a reshape between): leave them
    usable = (range_1 > 0) & (range_2 > 0)
    scale = np.ones_like(range_1)
    scale[usable] = np.sqrt(range_1[usable] / range_2[usable])
    weights_1[0] = kernel_1 / scale
    if len(weights_1) > 1:
        weights_1[1] = weights_1[1] / scale
    weights_2[0] = np.moveaxis(inputs_2 * scale.reshape(-1, *([1] * (inputs_2.ndim - 1))), 0, -2)
    first.set_weights([w.astype(np.float32) for w in weights_1])
    second.set_weights([w.astype(np.float32) for w in weights_2])
