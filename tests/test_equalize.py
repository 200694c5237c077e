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
    fit_quadrants(model, quadrants, epochs=40, scale=1)
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
        trained, equalised = [step for step in entry.search if "candidate" in step]
        assert trained["agreement"] + 0.1 < equalised["agreement"], (name, entry.search)
        assert len(entry.equalized) == 1 and entry.validation.passed, name
    # Its own model as fitted needs nothing: no candidate but the first is tried.
    plain = edgeport("export", conv_outlier / "plain.keras", "--data", quadrants["npz"], "--out", tmp_path / "plain",
                     "--formats", "int8")
    entry = runtime.read_manifest(tmp_path / "plain").files["model_int8.tflite"]
    assert entry.equalized is None and entry.search is None and " pass " in plain.stdout
