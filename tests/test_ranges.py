"""The int8 files' searched options beyond equalisation: activation ranges from the calibration images' histograms
(export/ranges.py) and a 16-bit classifier head (logits.widen_head). Tiny models whose weights are set so that one
technique measurably changes agreement with Keras; the expectation is Keras's own answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeport import runtime
from edgeport.runtime import tflite_file
from edgeport.runtime.tflite_file import builtin_code

PIXELS = 8


def _agreement(path: Path, model, images: np.ndarray) -> float:
    """How often the file's class is Keras's, on pictures (uint8 pixels, which the model takes as x/255, or floats
    in [0, 1])."""
    expected = model.predict(images / 255 if images.dtype == np.uint8 else images, verbose=0).argmax(1)
    return float(np.mean(runtime.load(path, verify=False).predict(images).argmax(1) == expected))


def _outlier_model():
    """A hidden Dense layer whose unit 0 is 1000x the top-left pixel and feeds nothing: on pictures where that
    pixel is dark the unit is 0, and the function is the other units'."""
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((PIXELS, PIXELS, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(128, activation="relu", name="hidden"),
                              keras.layers.Dense(4, activation="softmax", name="head")])
    (kernel, bias), (head, head_bias) = model.get_layer("hidden").get_weights(), model.get_layer("head").get_weights()
    kernel[:, 0], bias[0], head[0] = 0.0, 0.0, 0.0
    kernel[0, 0] = 1000.0
    model.get_layer("hidden").set_weights([kernel, bias])
    model.get_layer("head").set_weights([head * 8, head_bias])
    return model


def test_percentile_ranges_saturate_a_rare_outlier_that_minmax_lets_set_the_step(tmp_path):
    from edgeport.export.modelfacts import model_info
    from edgeport.export.tflite import Calibrated, requantized, to_tflite

    model = _outlier_model()
    rng = np.random.default_rng(0)
    calibration = rng.random((500, PIXELS, PIXELS, 1)).astype(np.float32)
    calibration[:, 0, 0, 0] = 0.0
    calibration[:2, 0, 0, 0] = 1.0  # two calibration pictures of 500 light the unit: 2 of 64,000 hidden values
    pictures = rng.random((2000, PIXELS, PIXELS, 1)).astype(np.float32)
    pictures[:, 0, 0, 0] = 0.0
    methods = {"percentile 99.99": tmp_path / "p9999.tflite", "percentile 99.999": tmp_path / "p99999.tflite",
               "mse": tmp_path / "mse.tflite"}
    calibrated = Calibrated()
    to_tflite(model, tmp_path / "minmax.tflite", "int8", calibration, calibrated=calibrated)
    requantized(calibrated, methods, model_info(model))
    to_tflite(model, tmp_path / "alone.tflite", "int8", calibration)
    # The converter's own file is what it makes without the other rules.
    assert (tmp_path / "minmax.tflite").read_bytes() == (tmp_path / "alone.tflite").read_bytes()
    scores = {name: _agreement(path, model, pictures) for name, path in
              {"minmax": tmp_path / "minmax.tflite", **methods}.items()}
    # The hidden tensor's range reaches 1000 for the two pictures: a step of about 4 erases the other units.
    assert scores["minmax"] < 0.8, scores
    # 99.99 % of the values lie below the outlier's: the range is the other units', and the file agrees.
    assert scores["percentile 99.99"] > 0.97 and scores["percentile 99.99"] > scores["minmax"] + 0.15, scores
    # 99.999 % and the least squared error keep the outlier's value (each of the two costs 1000 squared if clipped).
    assert scores["percentile 99.999"] < 0.8 and scores["mse"] < 0.8, scores
    ranges_of = {name: _hidden_range(path) for name, path in {"minmax": tmp_path / "minmax.tflite", **methods}.items()}
    assert ranges_of["minmax"] > 900 and ranges_of["percentile 99.99"] < 50, ranges_of


def test_mean_image_extremes_clip_the_few_bright_pictures_that_every_percentile_keeps(tmp_path):
    """2 % of the calibration pictures are bright, and every hidden unit's input is 40x its usual size on them: 2 % of
    the values is too many for a percentile to clip, and minmax's step erases the dark pictures' differences. The
    mean of each picture's extremes is near the dark pictures' own."""
    import keras

    from edgeport.export.modelfacts import model_info
    from edgeport.export.ranges import MEAN_EXTREMES
    from edgeport.export.tflite import Calibrated, requantized, to_tflite

    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(0)
    pictures = rng.integers(0, 7, (2000, PIXELS, PIXELS, 1), dtype=np.uint8)  # dark: in int8, exactly as Keras
    calibration = rng.integers(0, 7, (500, PIXELS, PIXELS, 1), dtype=np.uint8)
    calibration[:10] = rng.integers(200, 256, (10, PIXELS, PIXELS, 1), dtype=np.uint8)
    model = keras.Sequential([keras.Input((PIXELS, PIXELS, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(8, name="hidden"), keras.layers.Activation("tanh"),
                              keras.layers.Dense(4, activation="softmax", name="head")])
    kernel, bias = model.get_layer("hidden").get_weights()
    spread = ((pictures / 255).reshape(len(pictures), -1) @ kernel).std()
    model.get_layer("hidden").set_weights([kernel / spread, bias])  # the dark pictures' tanh inputs: about ±1
    head, head_bias = model.get_layer("head").get_weights()
    model.get_layer("head").set_weights([head * 4, head_bias])
    methods = {method: tmp_path / f"{method.replace(' ', '-')}.tflite"
               for method in ("percentile 99.99", "percentile 99.999", "mse", MEAN_EXTREMES)}
    calibrated = Calibrated()
    to_tflite(model, tmp_path / "minmax.tflite", "int8", calibration, calibrated=calibrated)
    requantized(calibrated, methods, model_info(model))
    files = {"minmax": tmp_path / "minmax.tflite", **methods}
    scores = {name: _agreement(path, model, pictures) for name, path in files.items()}
    assert scores[MEAN_EXTREMES] > 0.97, scores
    assert all(scores[MEAN_EXTREMES] > scores[name] + 0.1 for name in files if name != MEAN_EXTREMES), scores
    tops = {name: _tanh_input_range(path) for name, path in files.items()}
    assert tops[MEAN_EXTREMES] < tops["minmax"] / 5 and tops["percentile 99.99"] > tops["minmax"] / 2, tops


def _tanh_input_range(path: Path) -> float:
    """The top of the int8 range of the TANH operator's input."""
    schema = tflite_file.schema()
    model = tflite_file.objects(path)
    graph = model.subgraphs[0]
    (tanh,) = [op for op in graph.operators if builtin_code(model, op) == schema.BuiltinOperator.TANH]
    params = graph.tensors[int(tanh.inputs[0])].quantization
    return float((127 - params.zeroPoint[0]) * params.scale[0])


def _hidden_range(path: Path) -> float:
    """The top of the int8 range of the hidden layer's output (the tensor the head's FULLY_CONNECTED reads)."""
    model = tflite_file.objects(path)
    graph = model.subgraphs[0]
    readers = [op for op in graph.operators if int(op.outputs[0]) in [int(t) for t in graph.outputs]]
    softmax_input = int(readers[0].inputs[0])
    head = next(op for op in graph.operators if softmax_input in [int(t) for t in op.outputs])
    params = graph.tensors[int(head.inputs[0])].quantization
    return float((127 - params.zeroPoint[0]) * params.scale[0])


def _close_classes_model(classes: int = 32):
    """Logits with a large offset shared by every class, which moves with the picture's brightness: the softmax and
    the gaps between classes ignore it, but the logits' int8 range must span it, and the leading two classes are
    often nearer each other than a step."""
    import keras

    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((PIXELS, PIXELS, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(classes, name="logits"), keras.layers.Softmax()])
    kernel, bias = model.get_layer("logits").get_weights()
    model.get_layer("logits").set_weights([kernel * 6 + 5.0, bias])
    return model


def test_a_16_bit_head_ends_ties_of_equal_int8_logits_and_stays_integer_in_litert_and_tflm(tmp_path):
    from edgeport.export import micro
    from edgeport.export.common import frozen_function
    from edgeport.export.ladder import integer_only
    from edgeport.export.logits import widen_head
    from edgeport.export.tflite import pack, to_tflite

    model = _close_classes_model()
    rng = np.random.default_rng(1)
    # Pixels, which the int8 input holds exactly: what differs is the head.
    calibration, pictures = (rng.integers(0, 256, (count, PIXELS, PIXELS, 1), dtype=np.uint8) for count in (500, 3000))
    plain, wide = tmp_path / "int8.tflite", tmp_path / "head16.tflite"
    to_tflite(model, plain, "int8", calibration)
    content = plain.read_bytes()
    objects = tflite_file.objects(content)
    layers = widen_head(objects)
    assert "logits" in layers[0] and layers[1] == "softmax", layers
    wide.write_bytes(pack(objects, len(content)))

    def ties(path):
        ordered = np.sort(runtime.load(path, verify=False).predict(pictures), axis=1)
        return float(np.mean(ordered[:, -1] == ordered[:, -2]))

    tied, before, after = ties(plain), _agreement(plain, model, pictures), _agreement(wide, model, pictures)
    assert tied > 0.05 and before < 0.95, (tied, before)  # equal leading outputs, about half the wrong class
    # The ties are gone, and about half of them were disagreements (the rest: the int8 weights' own error).
    assert ties(wide) < 0.005 and after > before + tied / 4 and after > 0.98, (before, after, tied, ties(wide))
    # Integer in, integer out, integer inside: an int8 picture in, int8 probabilities out, int16 only in the head.
    assert integer_only(wide)
    schema, graph = tflite_file.schema(), tflite_file.objects(wide).subgraphs[0]
    assert [graph.tensors[int(t)].type for t in (*graph.inputs, *graph.outputs)] == [schema.TensorType.INT8] * 2
    assert sum(t.type == schema.TensorType.INT16 for t in graph.tensors) == 3  # features, logits, probabilities
    # TFLM runs the same head (its int16 FULLY_CONNECTED, SOFTMAX and QUANTIZE kernels) to the same answers.
    one, one_wide = tmp_path / "one.tflite", tmp_path / "one_head16.tflite"
    to_tflite(model, one, "int8", calibration, frozen=frozen_function(model, 1))
    content = one.read_bytes()
    objects = tflite_file.objects(content)
    widen_head(objects)
    one_wide.write_bytes(pack(objects, len(content)))
    tflm = micro.tflm_predictor(one_wide, micro.roomy_arena(one_wide)).predict(pictures[:300])
    litert = runtime.load(one_wide, verify=False).predict(pictures[:300])
    # Their int16 softmax kernels differ in rounding: at most one output code, which can reorder two classes
    # one code apart.
    assert np.abs(tflm - litert).max() <= 1 / 256 + 1e-6
    assert np.mean(tflm.argmax(1) == litert.argmax(1)) >= 0.99


def _close_classes_export(folder: Path, test_count: int):
    """_close_classes_model saved as folder/model.keras, and folder/data.npz: random pictures labelled with its own
    classes, 600 to train (the calibration side) and test_count to test. Returns the model and the test pictures."""
    model = _close_classes_model()
    model.save(folder / "model.keras")
    rng = np.random.default_rng(2)
    x_train, x_test = (rng.integers(0, 256, (count, PIXELS, PIXELS, 1), dtype=np.uint8) for count in (600, test_count))
    y_train, y_test = (model.predict(x / 255, verbose=0).argmax(1) for x in (x_train, x_test))
    np.savez(folder / "data.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return model, x_test


def test_the_int8_rungs_keep_a_16_bit_head_when_it_agrees_better_and_say_so(tmp_path):
    from edgeport.export.ladder import integer_only
    from tests.conftest import edgeport

    model, x_test = _close_classes_export(tmp_path, 1500)
    edgeport("export", tmp_path / "model.keras", "--data", tmp_path / "data.npz", "--out", tmp_path / "out",
             "--formats", "int8,onnx-int8", check=False)
    files = runtime.read_manifest(tmp_path / "out").files
    for name in ("model_int8.tflite", "model_int8.onnx"):
        entry = files[name]
        # The files without a 16-bit head (as converted, other ranges or calibration methods) against those with
        # one (.tflite: a head on each file of ranges; .onnx: on the file kept).
        heads = [step for step in entry.search if step.get("candidate", "").startswith("16-bit classifier head")]
        without = [step for step in entry.search if step not in heads]
        assert heads and without, (name, entry.search)
        assert max(h["agreement"] for h in heads) > max(step["agreement"] for step in without) + 0.02, (name,
                                                                                                       entry.search)
        assert entry.int16_layers[-1] == "softmax" and "logits" in entry.int16_layers[0], (name, entry.int16_layers)
        assert integer_only(tmp_path / "out" / name), name
        # The validation pictures, scored by the test itself: the kept file agrees with Keras as recorded.
        assert _agreement(tmp_path / "out" / name, model, x_test) == entry.validation.agreement > 0.96, name


def test_a_quick_search_leaves_out_ranges_and_head_whose_scorings_would_not_fit_and_a_thorough_one_tries_them(
        tmp_path, monkeypatch):
    """The model whose int8 file a 16-bit head brings closer to Keras (above), exported in this process with the
    quick search's time budget at a millionth of a second: every scoring takes longer, so the file stays as
    converted and a line says why; a thorough search, which has no budget, still tries every rule and head."""
    from edgeport.export import ExportPlan, ValidationError, export_all, rungs

    _close_classes_export(tmp_path, 1000)
    data = runtime.load_dataset(str(tmp_path / "data.npz"), (PIXELS, PIXELS, 1))
    monkeypatch.setattr(rungs, "QUICK_PROBE_SECONDS", 1e-6)
    searches = {}
    for search in ("quick", "thorough"):
        lines = []
        try:
            export_all(tmp_path / "model.keras", tmp_path / search, data,
                       ExportPlan.from_formats("int8", search=search), progress=lines.append)
        except ValidationError as e:  # the file may miss the budget: its search record is what is checked
            assert "no file is within the budget" in str(e), e
        entry = runtime.read_manifest(tmp_path / search).files["model_int8.tflite"]
        searches[search] = (entry, lines)
    quick, lines = searches["quick"]
    assert [step["candidate"] for step in quick.search] == ["as converted"], quick.search
    assert quick.activation_ranges is None and quick.int16_layers is None
    said = [line for line in lines if "other activation ranges and the 16-bit head: not tried" in line]
    assert len(said) == 1 and "their 7 scorings would take about" in said[0], lines
    thorough, lines = searches["thorough"]
    candidates = [step["candidate"] for step in thorough.search]
    assert sum(c.startswith("activation ranges: ") for c in candidates) == 4, candidates  # mse as well
    assert sum(c.startswith("16-bit classifier head") for c in candidates) == 5, candidates
    assert not any("not tried" in line for line in lines), lines
    # What the quick search kept is the thorough search's file as converted, scored alike on the tuning images.
    assert quick.search[0] == next(step for step in thorough.search if step["candidate"] == "as converted")
