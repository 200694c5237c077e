"""Cross-layer equalisation: the copy computes the same function with each pair's channel ranges equal, and the
int8 rungs keep it only when it lifts agreement. Tiny models, trained for seconds on the quadrant pictures."""

from __future__ import annotations

import numpy as np
import pytest

from edgeport import runtime
from tests.conftest import edgeport, fit_quadrants


def _ranges(first, second):
    """Per channel: the first layer's output weight range and the second's input weight range."""
    kernel_1, kernel_2 = first.get_weights()[0], second.get_weights()[0]
    out = np.abs(kernel_1).reshape(-1, kernel_1.shape[-1]).max(0)
    into = np.abs(np.moveaxis(kernel_2, -2, 0)).reshape(kernel_2.shape[-2], -1).max(1)
    return out, into


def test_the_equalised_copy_computes_the_same_with_equal_ranges():
    import keras

    from edgeport.export.equalize import equalized, weighted_pairs

    keras.utils.set_random_seed(1)
    image = keras.Input((8, 8, 3))
    a = keras.layers.Conv2D(6, 3, name="a")(image)
    b = keras.layers.Conv2D(5, 3, activation="relu", name="b")(keras.layers.ReLU()(a))
    c = keras.layers.Conv2D(4, 1, name="c")(b)
    d = keras.layers.Dense(3, name="d")(keras.layers.Flatten()(keras.layers.ReLU(max_value=6.0)(c)))
    model = keras.Model(image, d)
    # a -> ReLU -> b and b -> c pair; c -> ReLU6 -> (Flatten) -> d does not: ReLU6 is not scale-free.
    assert weighted_pairs(model) == [("a", "b"), ("b", "c")]
    a_layer = model.get_layer("a")
    weights = a_layer.get_weights()
    weights[0][..., 2] *= 100  # one channel 100x the others' range
    a_layer.set_weights(weights)
    copy, pairs = equalized(model)
    assert pairs == ["a→b", "b→c"] and copy is not model
    x = np.random.default_rng(0).random((16, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(copy.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-4, atol=1e-4)
    before = _ranges(model.get_layer("a"), model.get_layer("b"))
    after = _ranges(copy.get_layer("a"), copy.get_layer("b"))
    assert before[0].max() / np.median(before[0]) > 50
    np.testing.assert_allclose(after[0], after[1], rtol=0.05)  # equal per channel (the last pass moves b a little)
    # A layer read by two others cannot be rescaled for one of them.
    image = keras.Input((4,))
    hidden = keras.layers.Dense(5, activation="relu")(image)
    branched = keras.Model(image, keras.layers.Add()([keras.layers.Dense(2)(hidden), keras.layers.Dense(2)(hidden)]))
    assert weighted_pairs(branched) == [] and equalized(branched)[1] == []


@pytest.fixture(scope="module")
def conv_outlier(quadrants, tmp_path_factory):
    """A conv net fitted on the quadrants, then one channel of its first layer made 1000x the others' range and
    undone in the layer that reads it (the same function): (model path, the model as fitted)."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
                              keras.layers.Conv2D(4, 3, padding="same"), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Activation("softmax")])
    fit_quadrants(model, quadrants, epochs=50, scale=1)  # to 100 % on the quadrants: its int8 file then needs nothing
    folder = tmp_path_factory.mktemp("conv_outlier")
    model.save(folder / "plain.keras")
    first, second = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    (k1, b1), (k2, b2) = first.get_weights(), second.get_weights()
    k1[..., 5] *= 1000
    b1[5] *= 1000
    k2[:, :, 5, :] /= 1000
    first.set_weights([k1, b1])
    second.set_weights([k2, b2])
    model.save(folder / "outlier.keras")
    return folder


def test_equalisation_lifts_int8_agreement_on_a_conv_layer_with_channel_ranges_far_apart(conv_outlier, quadrants,
                                                                                         tmp_path):
    out = tmp_path / "out"
    edgeport("export", conv_outlier / "outlier.keras", "--data", quadrants["npz"], "--out", out, "--formats",
             "fp32,int8,onnx-int8,micro-int8", "--micro", "--no-emulator")
    files = runtime.read_manifest(out).files
    for name in ("model_int8.tflite", "model_int8.onnx", "model_micro_int8.tflite"):
        entry = files[name]
        # The first two candidates are the model as trained and its equalised copy (a micro file's search may go
        # on in TFLM: int16 activations).
        trained, equalised = [step for step in entry.search if step.get("candidate") in ("as trained",
                                                                                       "cross-layer equalisation")]
        assert trained["agreement"] + 0.1 < equalised["agreement"], (name, entry.search)
        assert len(entry.equalized) == 1 and entry.validation.passed, name
    # Its own model as fitted needs nothing: no candidate but the first is tried.
    plain = edgeport("export", conv_outlier / "plain.keras", "--data", quadrants["npz"], "--out", tmp_path / "plain",
                     "--formats", "int8")
    entry = runtime.read_manifest(tmp_path / "plain").files["model_int8.tflite"]
    assert entry.equalized is None and entry.search is None and " pass " in plain.stdout


def test_the_4_bit_copy_is_on_grids_the_quantizer_keeps_and_moves_each_layer_less_than_rounding(tmp_path):
    """export.clipping on an untrained conv net with a stride, 'same' and 'valid' padding and a depthwise layer:
    every Dense and Conv2D kernel of the copy has at most 15 levels, symmetric about 0, its largest the clipping
    threshold, and the depthwise kernel (which the quantizer leaves in float) is the model's; the
    error feedback leaves each Dense and Conv2D layer's outputs (on its inputs in the copy) nearer the float
    layer's than rounding each weight does; and LiteRT Quantizer's packed 4-bit file holds the copy's weights to
    the last level."""
    import keras

    from edgeport.export import clipping, litert
    from edgeport.export.common import Quantization, frozen_function
    from edgeport.export.modelfacts import model_info
    from edgeport.export.tflite import to_tflite
    from edgeport.runtime import tflite_file

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((12, 12, 3)), keras.layers.Conv2D(8, 3, strides=2, padding="same",
                                                                             activation="relu", name="conv"),
                              keras.layers.DepthwiseConv2D(3, padding="valid", activation="relu", name="depthwise"),
                              keras.layers.Flatten(), keras.layers.Dense(16, activation="relu", name="hidden"),
                              keras.layers.Dense(4, activation="softmax", name="head")])
    images = np.random.default_rng(0).random((64, 12, 12, 3), dtype=np.float32)
    copy, names = clipping.four_bit(model, images)
    assert names == ["conv", "hidden", "head"]
    np.testing.assert_array_equal(copy.get_layer("depthwise").get_weights()[0],
                                  model.get_layer("depthwise").get_weights()[0])
    for name in names:
        float_kernel, kernel = model.get_layer(name).get_weights()[0], copy.get_layer(name).get_weights()[0]
        limit = clipping.threshold(float_kernel)
        levels = np.unique(np.round(kernel / (limit / 7)))
        assert set(levels) <= set(range(-7, 8)) and np.abs(kernel).max() == pytest.approx(limit, rel=1e-6)
        np.testing.assert_allclose(kernel, np.round(kernel / (limit / 7)) * (limit / 7), atol=1e-6)
        x = keras.Model(copy.inputs, copy.get_layer(name).input).predict(images, verbose=0)
        rows = clipping._rows(copy.get_layer(name), x)
        flat = lambda k: k.reshape(-1, k.shape[-1])  # noqa: E731
        exact = rows @ flat(float_kernel)
        fed_back = np.sum((rows @ flat(kernel) - exact) ** 2)
        rounded = np.sum((rows @ flat(clipping.on_grid(float_kernel, limit)) - exact) ** 2)
        assert fed_back < rounded
    # The quantizer's min-max rule finds each grid again: its 4-bit tensors are the copy's kernels.
    info = model_info(model)
    source, packed = tmp_path / "f32.tflite", tmp_path / "w4.tflite"
    to_tflite(copy, source, Quantization.NONE, None, info, frozen=frozen_function(copy, 1))
    litert.quantize_tflite(source, packed, litert.TFLitePlan(Quantization.INT4, integer_activations=True), info,
                           (images * 255).astype(np.uint8))
    file_model, schema = tflite_file.objects(packed), tflite_file.schema()
    graph = file_model.subgraphs[0]
    weights = {}
    for op in graph.operators:  # each weighted operator's weight tensor (input 1): its type and largest level
        code = file_model.operatorCodes[op.opcodeIndex]
        kind = tflite_file.builtin_names()[max(code.builtinCode, code.deprecatedBuiltinCode)]
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            tensor = graph.tensors[op.inputs[1]]
            scale = tensor.quantization.scale if tensor.quantization is not None else None
            weights[kind, tensor.shape[0]] = (tensor.type, None if scale is None else float(np.max(scale)) * 7)
    int4 = schema.TensorType.INT4
    # LiteRT Quantizer's 4-bit recipe leaves DEPTHWISE_CONV_2D in float32.
    assert weights[("DEPTHWISE_CONV_2D", 1)][0] == schema.TensorType.FLOAT32
    for (kind, rows), name in ((("CONV_2D", 8), "conv"), (("FULLY_CONNECTED", 16), "hidden"),
                               (("FULLY_CONNECTED", 4), "head")):
        dtype, largest = weights[kind, rows]
        assert dtype == int4 and largest == pytest.approx(np.abs(copy.get_layer(name).get_weights()[0]).max(), rel=1e-5)
