"""The mission's own tests: every exported file predicts what the Keras model predicts.

The seed model is exported once per session by `edgeport export` (tests/conftest.py); each
file is then run through the runtime on the full test set and held to DESIGN.md's bars.
"""

import hashlib
import json
import subprocess

import numpy as np
import pytest

from edgeport import runtime
from tests.conftest import EDGEPORT, ENV, FILES, assert_within_bars, edgeport, run_cli, seen

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def keras_model(exported):
    import keras

    return keras.models.load_model(exported / "model.keras")


@pytest.fixture(scope="module")
def reference(exported):
    return np.load(exported / "reference_probs.npy")


def test_reference_probabilities_are_the_keras_models(keras_model, reference, test_set):
    images, _ = test_set
    direct = keras_model.predict(images.astype(np.float32) / 255.0)
    assert reference.shape == (10_000, 10) and reference.dtype == np.float32
    np.testing.assert_allclose(reference, direct, atol=1e-6)


@pytest.mark.parametrize("name", sorted(FILES))
def test_file_matches_keras_within_its_bars(exported, reference, test_set, name):
    images, labels = test_set
    probs = runtime.load(exported / name).predict(images)
    assert probs.shape == (10_000, 10) and probs.dtype == np.float32
    assert_within_bars(name, probs, reference, labels)


@pytest.mark.parametrize("name", sorted(FILES))
def test_batch_dimension_is_dynamic(exported, test_set, name):
    images, _ = test_set
    predictor = runtime.load(exported / name)
    whole = predictor.predict(images[:1000])
    one_at_a_time = np.concatenate([predictor.predict(images[i : i + 1]) for i in range(0, 1000, 97)])
    np.testing.assert_allclose(one_at_a_time, whole[::97], atol=1e-6)
    chunked = predictor.predict(images[:1000], batch_size=1)
    np.testing.assert_array_equal(chunked.argmax(1), whole.argmax(1))


@pytest.mark.parametrize("name", sorted(FILES))
def test_manifest_describes_the_bytes_on_disk(exported, name):
    manifest = json.loads((exported / "manifest.json").read_text())
    entry = manifest["files"][name]
    data = (exported / name).read_bytes()
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry["bytes"] == len(data)
    assert entry["class_names"] == list(runtime.CLASS_NAMES)
    assert entry["preprocessing"]["scale"] == pytest.approx(1 / 255)
    assert entry["tensors"]["input"]["shape"] == [None, 28, 28]
    assert entry["output"] == "probabilities" and entry["background"] == "dark"
    assert entry["validation"]["passed"] is True
    assert entry["format"] == ("onnx" if name.endswith(".onnx") else "tflite")


def test_manifest_figures_agree_with_an_independent_run(exported, reference, test_set):
    """Each file's figures are on the images that decided it: the recommended file's on every image, a file a
    look of the sequential validation settled on the first ones of one seeded order."""
    images, labels = test_set
    manifest = runtime.read_manifest(exported)
    assert manifest.files[manifest.recommended.overall].validation.images == len(labels)
    assert manifest.data.looks == [1_000, 2_000, 4_000, 10_000] and "Haybittle-Peto" in manifest.data.sequential
    for name in {manifest.recommended.overall, "model_int8.tflite"}:
        probs = runtime.load(exported / name).predict(images)
        figures = manifest.files[name].validation
        chosen = seen(figures, len(labels))
        assert figures.images == len(chosen)
        assert figures.accuracy == pytest.approx(np.mean(probs[chosen].argmax(1) == labels[chosen]))
        assert figures.agreement == pytest.approx(np.mean(probs[chosen].argmax(1) == reference[chosen].argmax(1)))
        changed = np.sort(chosen[probs[chosen].argmax(1) != reference[chosen].argmax(1)])
        assert figures.changed.indices == changed.tolist()
        assert figures.changed.predicted == probs.argmax(1)[changed].tolist()
    assert {"tensorflow-cpu", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert"} <= set(manifest.versions)
    assert manifest.source.sha256 == hashlib.sha256((exported / "model.keras").read_bytes()).hexdigest()


@pytest.mark.parametrize("quantized, float32", [
    ("model_int8.tflite", "model_fp32.tflite"),
    ("model_dynamic.tflite", "model_fp32.tflite"),
    ("model_int8.onnx", "model.onnx"),
])
def test_8_bit_files_are_at_most_30_percent_of_float32_plus_16_kib(exported, quantized, float32):
    size, full = (exported / quantized).stat().st_size, (exported / float32).stat().st_size
    assert size <= 0.30 * full + 16 * 1024, f"{quantized}: {size / full:.1%} of {float32}"


def test_int8_tflite_really_holds_int8_tensors(exported):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(exported / "model_int8.tflite"))
    assert interpreter.get_input_details()[0]["dtype"] == np.int8
    assert interpreter.get_output_details()[0]["dtype"] == np.int8
    int8_sizes = [np.prod(t["shape"]) for t in interpreter.get_tensor_details() if t["dtype"] == np.int8]
    float_tensors = [t["name"] for t in interpreter.get_tensor_details() if t["dtype"] == np.float32]
    # The two Dense kernels (784x128 and 128x10) are stored as int8; nothing is float.
    assert 784 * 128 in int8_sizes and 128 * 10 in int8_sizes
    assert float_tensors == []


def test_dynamic_tflite_has_int8_weights_and_float_io(exported):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(exported / "model_dynamic.tflite"))
    assert interpreter.get_input_details()[0]["dtype"] == np.float32
    int8_sizes = [np.prod(t["shape"]) for t in interpreter.get_tensor_details() if t["dtype"] == np.int8]
    assert 784 * 128 in int8_sizes


def test_fp16_tflite_stores_float16_weights(exported):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(exported / "model_fp16.tflite"))
    fp16_sizes = [np.prod(t["shape"]) for t in interpreter.get_tensor_details() if t["dtype"] == np.float16]
    assert 784 * 128 in fp16_sizes


def test_int8_onnx_holds_quantize_dequantize_nodes(exported):
    import onnx

    model = onnx.load(str(exported / "model_int8.onnx"))
    ops = [node.op_type for node in model.graph.node]
    assert ops.count("QuantizeLinear") >= 1 and ops.count("DequantizeLinear") >= 3
    # The calibration search's first weights: int8 in 7 bits, symmetric about 0 (onnxruntime's reduce_range), which
    # x86 kernels without VNNI multiply without saturating: each output unit's largest weight lies 63 or 64 steps
    # from zero, neither more (8 bits) nor much less. The seed's file has met its bar with them on every machine so
    # far (99.46 % on the test images); uint8 weights come only after the 7-bit file missed on the tuning images.
    entry = runtime.read_manifest(exported).files["model_int8.onnx"]
    tried = [c["plan"] for c in entry.search if "plan" in c]
    unsigned = entry.weight_type == "uint8"
    assert tried[:1 + unsigned] == [{"method": "minmax", "weights": w} for w in ("7-bit int8", "uint8")[:1 + unsigned]]
    values, zero = _largest_kernel(model, onnx.TensorProto.UINT8 if unsigned else onnx.TensorProto.INT8)
    if unsigned:
        assert np.all(zero == 128) and np.all(np.abs(values - 128).max(axis=1) >= 127)
    else:
        assert np.all(zero == 0) and np.all(np.isin(np.abs(values).max(axis=1), (63, 64)))
    # Per-channel: the big kernel's scale has one value per output unit.
    scales = [np.prod(t.dims) for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT]
    assert 128 in scales


def test_uint8_onnx_weights_use_all_8_bits(exported, fashion, tmp_path):
    """The calibration search's other weights (tests/test_ladder.py tries them): uint8, symmetric about 128 and using
    all 8 bits, each output unit's largest weight 127 or 128 steps from the zero point."""
    import onnx

    from edgeport import export

    path = export.quantize_onnx(exported / "model.onnx", tmp_path / "uint8.onnx", export.calibration_sample(fashion)[0],
                                export.OnnxPlan(export.Quantization.INT8, weights="uint8"))
    values, zero = _largest_kernel(onnx.load(str(path)), onnx.TensorProto.UINT8)
    assert np.all(zero == 128) and np.all(np.abs(values - 128).max(axis=1) >= 127)


def _largest_kernel(model, data_type) -> tuple[np.ndarray, np.ndarray]:
    """The seed's 784x128 kernel in an int8 ONNX file, stored as data_type: its values, one row per output unit,
    and its per-unit zero points (from the DequantizeLinear that reads it)."""
    from onnx import numpy_helper

    kernel = max((t for t in model.graph.initializer if t.data_type == data_type), key=lambda t: np.prod(t.dims))
    assert np.prod(kernel.dims) == 784 * 128
    dequantize = next(n for n in model.graph.node if n.op_type == "DequantizeLinear" and n.input[0] == kernel.name)
    axis = next((a.i for a in dequantize.attribute if a.name == "axis"), 1)
    zero = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}[dequantize.input[2]]
    return np.moveaxis(numpy_helper.to_array(kernel).astype(int), axis, 0).reshape(128, -1), zero


def top_two_ties(probs):
    """Images whose two largest outputs are exactly equal (argmax then picks the lower class)."""
    ordered = np.sort(probs, axis=1)
    return int(np.sum(ordered[:, -1] == ordered[:, -2]))


# Well above the 98.5 % bar thanks to the logit floor: 99.72 % TFLite; ONNX 99.46 % with its 7-bit int8 weights
# (99.64 % with uint8 ones, which its calibration search tries only when the 7-bit file misses).
@pytest.mark.parametrize("name, least", [("model_int8.tflite", 0.995), ("model_int8.onnx", 0.994)])
def test_plain_int8_agrees_well_above_the_bar(exported, reference, test_set, name, least):
    images, _ = test_set
    probs = runtime.load(exported / name).predict(images)
    assert np.mean(probs.argmax(1) == reference.argmax(1)) >= least


@pytest.mark.parametrize("suffix", [".tflite", ".onnx"])
def test_logit_floor_removes_ties_and_keeps_every_clear_answer(keras_model, exported, reference, test_set, fashion,
                                                                tmp_path, suffix):
    from edgeport import export

    images, _ = test_set
    calibration, _ = export.calibration_sample(fashion)
    files = {}
    for floor in (False, True):
        path = tmp_path / f"floor_{floor}{suffix}"
        if suffix == ".tflite":
            export.to_tflite(keras_model, path, "int8", calibration, logit_floor=floor)
        else:
            plan = export.OnnxPlan(export.Quantization.INT8, logit_floor=floor)
            export.quantize_onnx(exported / "model.onnx", path, calibration, plan)
        files[floor] = runtime.load(path).predict(images)
    plain, floored = files[False], files[True]
    agree = {floor: probs.argmax(1) == reference.argmax(1) for floor, probs in files.items()}
    # Most of plain int8's disagreements are exact ties of the top two outputs: the floor removes 40 % at least.
    assert top_two_ties(plain[~agree[False]]) >= 0.6 * np.sum(~agree[False])
    assert top_two_ties(floored) <= 0.6 * top_two_ties(plain)  # 171 -> 94 for ONNX with 7-bit weights
    assert agree[True].mean() > agree[False].mean()
    # Where Keras is sure (top probability 0.1 above the next), the floor changes no answer.
    ordered = np.sort(reference, axis=1)
    clear = ordered[:, -1] - ordered[:, -2] > 0.1
    assert np.all(agree[True][clear])


def test_a_uint8_io_file_runs_like_the_bare_engine(keras_model, fashion, test_set, tmp_path):
    """TFLiteConverter can also give uint8 input and output (older Edge TPU and NNAPI tooling): the runtime runs it."""
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    from edgeport import export

    calibration, _ = export.calibration_sample(fashion, 200)
    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([image[None, ..., 0].astype(np.float32) / 255] for image in calibration)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.uint8
    path = tmp_path / "uint8_io.tflite"
    path.write_bytes(converter.convert())
    images, _ = test_set
    predictor = runtime.load(path)
    assert predictor.quantization == "int8" and predictor.describe()["input"]["dtype"] == "uint8"
    interpreter = Interpreter(model_path=str(path))
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    assert inp["dtype"] == np.uint8 and out["dtype"] == np.uint8
    interpreter.resize_tensor_input(inp["index"], [500, 28, 28])
    interpreter.allocate_tensors()
    scale, zero = inp["quantization"]
    interpreter.set_tensor(inp["index"], np.clip(np.round(images[:500] / 255.0 / scale + zero), 0, 255).astype(np.uint8))
    interpreter.invoke()
    scale, zero = out["quantization"]
    bare = (interpreter.get_tensor(out["index"]).astype(np.float32) - zero) * scale
    np.testing.assert_allclose(predictor.predict(images[:500]), bare, atol=1e-6)


def test_the_validation_worker_gives_the_figures_of_validating_here_and_its_death_fails_only_its_file(
        exported, reference, test_set, tmp_path):
    """Files are validated in a worker process while the next rung converts: its figures are those of validating in
    the export's own process, and a worker that dies (killed here, frozen first so that it dies with the file in
    hand) fails the file it held with the reason, while the next file starts a new worker."""
    import os
    import signal

    from edgeport.export import ExportPlan, Quantization
    from edgeport.export.validate import validate_file
    from edgeport.export.validator import Validator, WorkerDied

    images, labels = test_set
    plan = ExportPlan()
    float32 = (exported / "model_fp32.tflite").stat().st_size
    validator = Validator(tmp_path / "work", images, labels, reference, plan)
    try:
        def validate(key, name, mode):
            validator.send(key, ("validate", str(exported / name), mode, float32, validator.plan, False))

        validate("int8", "model_int8.tflite", Quantization.INT8)
        validator.finished(["int8"])
        figures, tensors, _ = validator.result("int8")
        here = validate_file(exported / "model_int8.tflite", images, labels, reference, Quantization.INT8, float32,
                             plan)
        assert figures == here and figures.images == 1_000  # settled at the first look, as in the export
        assert tensors == runtime.load(exported / "model_int8.tflite", verify=False).describe()

        first = validator.pid
        os.kill(first, signal.SIGSTOP)
        validate("frozen", "model_int8.onnx", Quantization.INT8)
        os.kill(first, signal.SIGKILL)
        validator.finished(["frozen"])
        with pytest.raises(WorkerDied, match=r"^the validation worker died \(signal 9\) on frozen"):
            validator.result("frozen")
        validate("next", "model_dynamic.tflite", Quantization.DYNAMIC)
        validator.finished(["next"])
        assert validator.result("next")[0].passed and validator.pid not in (None, first)
    finally:
        validator.close()


def test_onnx_file_is_named_checked_and_carries_its_labels(exported):
    import onnx

    model = onnx.load(str(exported / "model.onnx"))
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == ["images"]
    assert [o.name for o in model.graph.output] == ["probabilities"]
    props = {p.key: json.loads(p.value) for p in model.metadata_props}
    assert props["class_names"] == list(runtime.CLASS_NAMES)
    assert props["preprocessing"]["scale"] == pytest.approx(1 / 255)


# --- bad input -------------------------------------------------------------------------


def test_missing_model_is_a_clear_error(tmp_path, fashion):
    from edgeport import export

    with pytest.raises(FileNotFoundError, match=r"nothing.keras: no such model; expected a Keras model: a .keras or .h5 "
                                                r"file, or a SavedModel folder \(train one with 'edgeport train'\)"):
        export.export_all(tmp_path / "nothing.keras", tmp_path, fashion)


def test_non_keras_file_is_a_clear_error(tmp_path, fashion):
    from edgeport import export

    fake = tmp_path / "fake.keras"
    fake.write_text("not a zip archive")
    with pytest.raises(ValueError, match=r"fake.keras is not a loadable Keras model"):
        export.export_all(fake, tmp_path, fashion)
    assert not (tmp_path / "manifest.json").exists()


def test_unknown_format_is_a_clear_error(exported, tmp_path, fashion):
    from edgeport import export

    with pytest.raises(ValueError, match=r"unknown format 'coreml'; choose from fp32,fp16,dynamic,int8,onnx,onnx-int8"):
        export.ExportPlan.from_formats("fp32,coreml")


def test_int8_without_images_says_what_to_pass(keras_model, tmp_path):
    from edgeport import export

    with pytest.raises(ValueError, match="int8 quantization needs representative_images"):
        export.to_tflite(keras_model, tmp_path / "m.tflite", quantization="int8")
    with pytest.raises(ValueError, match="quantization must be one of none, float16, dynamic, int8, int16; got 'int4' "
                                         r"\(int4 and mixed files come from export.quantize_tflite\)"):
        export.to_tflite(keras_model, tmp_path / "m.tflite", quantization="int4")
    with pytest.raises(ValueError, match="quantization must be one of none, float16, dynamic, int8, int16, int4, mixed"):
        export.to_tflite(keras_model, tmp_path / "m.tflite", quantization="int3")
    with pytest.raises(ValueError, match=r"expected a path ending in '.tflite'"):
        export.to_tflite(keras_model, tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="opset must be a whole number from 13 to 18; got 99"):
        export.to_onnx(keras_model, tmp_path / "m.onnx", opset=99)
    assert list(tmp_path.iterdir()) == []


def test_dynamic_onnx_quantization_without_images(exported, tmp_path):
    import onnx

    from edgeport import export

    dst = export.quantize_onnx(exported / "model.onnx", tmp_path / "dyn.onnx")
    operators = {node.op_type for node in onnx.load(str(dst)).graph.node}
    assert "DynamicQuantizeLinear" in operators or "MatMulInteger" in operators
    predictor = runtime.load(dst)
    assert predictor.quantization == "dynamic"
    assert predictor.class_names == runtime.CLASS_NAMES


def test_bad_option_fails_before_any_work(exported, tmp_path, fashion):
    from edgeport import export

    with pytest.raises(export.PlanError, match="opset must be a whole number from 13 to 18; got 12"):
        export.export_all(exported / "model.keras", tmp_path, fashion, export.ExportPlan.from_formats("fp32,onnx", opset=12))
    assert list(tmp_path.iterdir()) == []


def test_a_rung_failing_midway_keeps_the_earlier_file_of_the_same_model(exported, tmp_path, monkeypatch, fashion):
    """The ONNX converter fails after the TFLite file was rebuilt for real: the TFLite file is published, the
    failure recorded with its reason, and the earlier export's model.onnx of the same model stays listed."""
    import shutil

    from edgeport import export
    from edgeport.export import ladder

    for name in ("model_fp32.tflite", "model.onnx", "manifest.json"):
        shutil.copy(exported / name, tmp_path / name)
    earlier = (tmp_path / "model.onnx").read_bytes()

    def failing_to_onnx(*args, **kwargs):
        raise export.ExportError("injected converter failure")

    monkeypatch.setattr(ladder, "to_onnx", failing_to_onnx)
    manifest = export.export_all(exported / "model.keras", tmp_path, fashion,
                                 export.ExportPlan.from_formats("fp32,onnx"))
    assert manifest.failed == {"model.onnx": "injected converter failure"}
    assert (tmp_path / "model.onnx").read_bytes() == earlier
    assert manifest.files["model.onnx"] == runtime.read_manifest(exported).files["model.onnx"]
    assert manifest.files["model_fp32.tflite"].validation.passed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json", "model.onnx", "model_fp32.tflite",
                                                         "reference_probs.npy"]  # no staging folder left


def test_cli_prints_one_line_per_file_and_rejects_bad_flags(exported, tmp_path):
    result = edgeport("export", str(exported / "model.keras"), "--out", str(tmp_path), "--formats", "fp32,onnx")
    lines = [line for line in result.stdout.splitlines() if line.startswith("model")]
    assert [line.split()[0] for line in lines] == ["model_fp32.tflite", "model.onnx"]
    assert all(" pass " in line for line in lines)
    assert sorted(json.loads((tmp_path / "manifest.json").read_text())["files"]) == ["model.onnx", "model_fp32.tflite"]

    bad = edgeport("export", str(exported / "model.keras"), "--formats", "tflite9", check=False)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "unknown format 'tflite9'" in bad.stderr
    missing = edgeport("export", str(tmp_path / "none.keras"), check=False)
    assert missing.returncode == 1 and missing.stderr.strip().splitlines() == [
        f"edgeport export: error: {tmp_path / 'none.keras'}: no such model; expected a Keras model: a .keras or .h5 "
        f"file, or a SavedModel folder (train one with 'edgeport train')"
    ]


# --- a second architecture -----------------------------------------------------------------


def test_cnn_builds_and_trains_on_a_subset(cnn):
    # Here, beside the CNN's exports, not in test_train.py: `make test` gives each worker whole files, and the
    # session's CNN is then trained by one worker only.
    import keras

    folder, history = cnn
    model = keras.models.load_model(folder / "model.keras")
    assert model.input_shape == (None, 28, 28, 1)
    assert model.output_shape == (None, 10)
    assert history["params"] == 93_322  # under the 100k of the two-conv benchmark entries
    # The CNN's own recipe, recorded: batches of 64, cosine-decayed rate from 2e-3, mirrored images.
    assert {k: history["config"][k] for k in ("epochs", "batch_size", "learning_rate", "flips")} == \
        {"epochs": 1, "batch_size": 64, "learning_rate": 2e-3, "flips": True}
    # One epoch on a tenth of the data already beats chance (0.10) by far.
    assert history["test_accuracy"] > 0.6
    assert (folder / "model.keras").stat().st_size > 0


@pytest.fixture(scope="module")
def cnn_export(cnn, fashion, tmp_path_factory):
    """The one-epoch CNN's six standard files (few tuning and calibration images: the bars are what is tested)."""
    import shutil

    from edgeport import export

    out = tmp_path_factory.mktemp("cnn_export")
    shutil.copy(cnn[0] / "model.keras", out / "model.keras")
    plan = export.ExportPlan.from_formats(export.STANDARD_FORMATS, calibration_samples=100, tuning_images=200)
    return out, export.export_all(out / "model.keras", out, fashion, plan)


@pytest.mark.parametrize("name", sorted(FILES))
def test_cnn_exports_in_every_form_within_the_bars(cnn_export, test_set, name):
    out, manifest = cnn_export
    images, labels = test_set
    reference = np.load(out / "reference_probs.npy")
    predictor = runtime.load(out / name)
    assert predictor.input_shape == (None, 28, 28, 1)
    probs = predictor.predict(images)  # (N, 28, 28) uint8: the channel axis is added
    assert_within_bars(name, probs, reference, labels)
    # The per-class bar (the default plan's 1 pt of any class's recall), on the test's own counts over the images
    # that decided the file (a file a look of the sequential validation settled has seen the first ones of the
    # seeded order only): a file that costs no class the budget passes; one that does is judged by its interval.
    # On an AVX2-only AMD EPYC this one-epoch model's Shirt (recall 23 %) lost 2.6 to 3.1 pt in its 7-bit int8
    # ONNX file in three exports (this plan, the default one, a thorough search), and the export rightly said FAIL.
    # The interval is Agresti and Min's adjusted Wald interval for paired proportions (half an image added to each
    # cell of the class's 2x2 table), written here from the paper, not from export/intervals.py.
    verdict = manifest.files[name].validation
    chosen = seen(verdict, len(labels))
    predicted, expected, labels = probs[chosen].argmax(1), reference[chosen].argmax(1), labels[chosen]
    classes = []
    for c in range(10):
        right, was_right = predicted[labels == c] == c, expected[labels == c] == c
        count, gained, lost = len(right), int(np.sum(right & ~was_right)), int(np.sum(~right & was_right))
        p, q = (gained + 0.5) / (count + 2), (lost + 0.5) / (count + 2)
        half = 1.959964 * np.sqrt((p + q - (p - q) ** 2) / (count + 2))
        classes.append(((gained - lost) / count, -count, c, (p - q - half, p - q + half)))
    worst, _, label, interval = min(classes)  # the lowest change; of equal ones, the class with more images
    assert verdict.worst_class == manifest.files[name].info.class_names[label]
    assert verdict.worst_class_change == pytest.approx(worst, abs=1e-6)
    assert verdict.worst_class_interval == pytest.approx(interval, abs=2e-6)
    assert verdict.passed if worst >= -0.01 else verdict.passed == (interval[1] >= -0.01)


# --- any input shape ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def colour_model():
    """A 32x32x3, five-class conv net with random weights: nothing about it is Fashion-MNIST."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(8, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(16, 3, activation="relu"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(5, activation="softmax"),
    ])
    images = np.random.default_rng(5).integers(0, 256, (2000, 32, 32, 3), dtype=np.uint8)
    return model, images, model.predict(images.astype(np.float32) / 255.0)


@pytest.mark.parametrize("suffix", [".tflite", ".onnx"])
def test_a_colour_five_class_model_runs_through_the_runtime(colour_model, tmp_path, suffix):
    from edgeport import export

    model, images, expected = colour_model
    path = tmp_path / f"colour{suffix}"
    (export.to_tflite if suffix == ".tflite" else export.to_onnx)(model, path)
    predictor = runtime.load(path)
    assert predictor.input_shape == (None, 32, 32, 3) and predictor.num_classes == 5
    assert predictor.class_names == ("0", "1", "2", "3", "4")
    probs = predictor.predict(images)
    assert probs.shape == (2000, 5)
    agreement = np.mean(probs.argmax(1) == expected.argmax(1))
    assert agreement >= 0.999, agreement
    np.testing.assert_allclose(probs, expected, atol=1e-4)
    assert predictor.predict_one(images[7]).label == expected[7].argmax()
    with pytest.raises(ValueError, match=r"expected 3 channels; got 1"):
        predictor.predict(images[:2, :, :, :1])
    with pytest.raises(ValueError, match=r"expected images of 32x32 pixels; got 28x28"):
        predictor.predict(np.zeros((2, 28, 28, 3), np.uint8))


def test_a_model_that_does_not_take_images_is_refused_by_the_runtime(tmp_path):
    import keras

    from edgeport import export

    flat = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    with pytest.raises(ValueError, match=r"takes input \(None, 784\); expected images \(N, H, W\) or \(N, H, W, C\)"):
        export.to_onnx(flat, tmp_path / "flat.onnx")
    assert not (tmp_path / "flat.onnx").exists()
    # Forced through with facts given by hand, the file is refused when loaded.
    export.to_onnx(flat, tmp_path / "flat.onnx", info=runtime.ModelInfo(tuple("0123456789")))
    with pytest.raises(ValueError, match=r"flat.onnx: expected an image model, input \(N, H, W\) or \(N, H, W, C\); "
                                         r"got input shape \(N, 784\)"):
        runtime.load(tmp_path / "flat.onnx")


def test_a_full_disk_names_the_folder_and_the_cause_and_leaves_nothing(exported, tmp_path):
    # A 200 KiB tmpfs, mounted in a private mount namespace: the reference outputs (400 KB) do not fit.
    out = tmp_path / "small-disk"
    out.mkdir()
    script = 'mount -t tmpfs -o size=200k tmpfs "$1" && "$2" export "$3" --out "$1" --formats fp32; ' \
             'status=$?; ls -A "$1"; exit $status'
    result = subprocess.run(["unshare", "--map-root-user", "--mount", "sh", "-c", script, "sh", str(out), EDGEPORT,
                             str(exported / "model.keras")], capture_output=True, text=True, env=ENV,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stderr.strip().splitlines() == [
        f"edgeport export: error: {out}: No space left on device (while writing reference_probs.npy)"]
    assert result.stdout.splitlines()[-1].startswith("Keras reference:")  # and `ls -A` listed nothing: no debris


def test_a_keras_archive_that_inflates_far_beyond_its_size_is_refused_before_keras_reads_it(exported, tmp_path):
    import zipfile

    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with zipfile.ZipFile(exported / "model.keras") as real:
            for name in real.namelist():
                if name != "config.json":
                    archive.writestr(name, real.read(name))
        with archive.open("config.json", "w") as config:  # 256 MiB of spaces: a few hundred KB zipped
            for _ in range(256):
                config.write(b" " * (1 << 20))
    size = bomb.stat().st_size
    assert size < 2_000_000
    result = run_cli("export", bomb, "--out", tmp_path / "out", check=False)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"edgeport export: error: {bomb} would inflate to ") and "(config.json: 268,435,456)" in line
    assert line.endswith(f"for a {size:,}-byte file: refused as a compression bomb")
    assert not (tmp_path / "out").exists()


def test_an_h5_model_whose_datasets_inflate_far_beyond_its_size_is_refused(tmp_path):
    import h5py

    from edgeport import export

    bomb = tmp_path / "bomb.h5"
    with h5py.File(bomb, "w") as f:  # 256 MiB declared, nothing stored: the file stays a few KB
        f.create_dataset("model_weights/dense/kernel", shape=(1 << 28,), dtype="u1", compression="gzip",
                         chunks=(1 << 20,))
    with pytest.raises(runtime.ModelFileError, match=r"bomb.h5 would inflate to 268,435,456 bytes "
                                                     r"\(model_weights/dense/kernel: 268,435,456\), over"):
        export.load_keras_model(bomb)


def test_an_export_loads_the_keras_model_once(exported, tmp_path, monkeypatch):
    import keras

    loads = []
    real = keras.models.load_model
    monkeypatch.setattr(keras.models, "load_model", lambda *a, **k: loads.append(a) or real(*a, **k))
    edgeport("export", exported / "model.keras", "--out", tmp_path, "--formats", "fp32")
    assert len(loads) == 1 and (tmp_path / "model_fp32.tflite").is_file()


def test_a_conv_net_gets_a_real_4_bit_onnx_file_and_the_speed_objective(cnn, fashion, test_set, tmp_path):
    """MatMulNBits would leave every Conv in float: a conv net's model_w4.onnx holds per-channel int4 Conv
    weights (QDQ) with float activations; --objective speed recommends by the latency measured at export."""
    import shutil

    import onnx
    import onnxruntime as ort

    from edgeport import export
    from edgeport.export.recommend import within_budget

    shutil.copy(cnn[0] / "model.keras", tmp_path / "model.keras")
    plan = export.ExportPlan.from_formats("onnx,onnx-w4", calibration_samples=100, tuning_images=200,
                                          objective="speed")
    manifest = export.export_all(tmp_path / "model.keras", tmp_path, fashion, plan)
    w4, float32 = manifest.files["model_w4.onnx"], manifest.files["model.onnx"]
    assert w4.quantization == "int4" and w4.bytes < 0.25 * float32.bytes
    graph = onnx.load(str(tmp_path / "model_w4.onnx")).graph
    int4 = {t.name for t in graph.initializer if t.data_type == onnx.TensorProto.INT4}
    dequantized = {n.output[0] for n in graph.node if n.op_type == "DequantizeLinear" and n.input[0] in int4}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    assert convs and all(n.input[1] in dequantized for n in convs)  # every Conv reads 4-bit weights
    assert not any(n.op_type == "QuantizeLinear" for n in graph.node)  # activations stay float
    read = {name for n in graph.node for name in n.input}
    assert all(t.name in read for t in graph.initializer)  # no unused initializer for onnxruntime to warn about
    images = test_set[0][:200]
    session = ort.InferenceSession(str(tmp_path / "model_w4.onnx"), providers=["CPUExecutionProvider"])
    bare = session.run(None, {"images": images.astype(np.float32)[..., None] / 255})[0]
    np.testing.assert_allclose(runtime.load(tmp_path / "model_w4.onnx").predict(images), bare, atol=1e-6)
    # The speed objective: the fastest file within budget by its recorded latency; the smallest is named too.
    chosen = manifest.recommended
    within = {name: e for name, e in manifest.files.items() if within_budget(e, 0.5)}
    assert chosen.objective == "speed" and within and all(e.latency_us > 0 for e in within.values())
    assert chosen.overall == chosen.fastest == min(within, key=lambda n: within[n].latency_us)
    assert chosen.smallest == min(within, key=lambda n: within[n].bytes)


def _fewer(fashion, folder, count: int = 2000):
    """Fashion-MNIST cut to count images per split, as an .npz data set: enough for a test of mechanics."""
    path = folder / "fewer.npz"
    train, test = fashion.splits["train"], fashion.splits["test"]
    np.savez(path, x_train=train.images[:count, :, :, 0], y_train=train.labels[:count],
             x_test=test.images[:count, :, :, 0], y_test=test.labels[:count], class_names=np.array(fashion.class_names))
    return runtime.load_dataset(path, (28, 28, 1))


def test_a_rung_that_cannot_shrink_the_model_is_skipped_with_its_reason(cnn, fashion, tmp_path):
    import shutil

    from edgeport import export

    shutil.copy(cnn[0] / "model.keras", tmp_path / "model.keras")
    # A size bar of 10 % and no allowance: 4-bit weights leave about an eighth of the file, over it.
    plan = export.ExportPlan.from_formats("onnx,onnx-w4", calibration_samples=100, tuning_images=200,
                                          size_ratio=0.10, size_allowance_bytes=0)
    manifest = export.export_all(tmp_path / "model.keras", tmp_path, _fewer(fashion, tmp_path), plan)
    assert set(manifest.files) == {"model.onnx"} and not (tmp_path / "model_w4.onnx").exists()
    why = manifest.skipped["model_w4.onnx"]
    assert why.startswith("cannot shrink below the size bar") and "(bar 10 % + 0 KiB)" in why


def test_layers_are_matched_across_formats_by_their_weights(cnn_export):
    """The report names each ONNX layer as its TFLite twin: the CNN's conv and dense layers pair one to one,
    each pair holding the same weights (per output channel, whatever the layout)."""
    from edgeport.export import litert, onnx_quant
    from edgeport.export.report import layer_twins

    out, _ = cnn_export
    tflite, onnx_layers = litert.layer_weights(out / "model_fp32.tflite"), onnx_quant.layer_weights(out / "model.onnx")
    twins = layer_twins(tflite, onnx_layers)
    assert len(tflite) == len(onnx_layers) >= 3 and set(twins) == set(tflite)
    assert sorted(twins.values()) == sorted(onnx_layers)
    for name, twin in twins.items():
        a, b = tflite[name], onnx_layers[twin]
        assert a.shape[0] == b.shape[0] and a.size == b.size
        np.testing.assert_allclose(np.sort(a.ravel()), np.sort(b.ravel()), rtol=1e-5, atol=1e-6)


def test_onnx_calibration_passes_in_strides_when_the_activations_would_not_fit(tmp_path, monkeypatch):
    """onnxruntime's calibrators hold every activation of every image of a pass. A model whose activations fit
    CALIBRATION_MEMORY passes once; with less room, edgeport hands them strides of 50-image chunks, which they
    fold into their ranges (minmax: the same scales) or histograms (percentile: within 1 %; entropy re-bins them
    as strides widen them, so its scales move) and drop."""
    import keras
    import onnx
    from onnx import numpy_helper
    from onnxruntime.quantization import calibrate

    from edgeport import export
    from edgeport.export import onnx_quant

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(4, activation="softmax")])
    source = export.to_onnx(model, tmp_path / "model.onnx")
    images = np.random.default_rng(0).integers(0, 256, (500, 8, 8)).astype(np.uint8)
    # What one image's activations take, counted independently: Flatten 64, Dense 16 (+ ReLU 16), Dense 4
    # (+ Softmax 4) floats; the calibrator sees at least the outputs of the two dense layers.
    assert 4 * (16 + 4) <= onnx_quant.activation_bytes(source) <= 4 * (64 + 16 + 16 + 4 + 4) * 2
    passes = []
    for calibrator in (calibrate.MinMaxCalibrater, calibrate.HistogramCalibrater):
        original = calibrator.collect_data
        monkeypatch.setattr(calibrator, "collect_data",
                            lambda self, reader, original=original: (passes.append(1), original(self, reader))[1])

    def scales(method: str) -> dict:
        passes.clear()
        path = export.quantize_onnx(source, tmp_path / f"{method}-{onnx_quant.CALIBRATION_MEMORY}.onnx", images,
                                    export.OnnxPlan(export.Quantization.INT8, method=method))
        return {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer if "scale" in i.name}

    whole = {}
    for method in onnx_quant.CALIBRATION_METHODS:
        whole[method] = scales(method)
        assert len(passes) == 1  # 500 images' activations fit in a pass
    monkeypatch.setattr(onnx_quant, "CALIBRATION_MEMORY", 50 * onnx_quant.activation_bytes(source))
    for method, within in (("minmax", 0.0), ("percentile", 0.01)):
        chunked = scales(method)
        assert len(passes) == 10  # 500 images, 50 a pass
        assert chunked.keys() == whole[method].keys() and len(chunked) >= 4
        for name in chunked:
            np.testing.assert_allclose(chunked[name], whole[method][name], rtol=within, atol=0, err_msg=name)
    scales("entropy")
    assert len(passes) == 10
