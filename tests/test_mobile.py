"""Phone copies: `edgeport export --mobile` writes a batch-1 .ort file per ONNX file, with NNAPI/CoreML verdicts.

The expectations come from outside edgeport: onnxruntime's own command-line tools (shape fixer
and mobile usability checker) run on the side, onnxruntime's session reads the .ort file's
shapes, and the .ort file must answer as the .onnx file it came from.
"""

import re
import shutil

import numpy as np
import onnxruntime as ort
import pytest

from edgeport import runtime
from tests.conftest import run_cli, run_python


@pytest.fixture(scope="module")
def manifest(exported):
    return runtime.read_manifest(exported)


def test_every_onnx_file_has_a_phone_copy_that_answers_as_it_does(exported, manifest, test_set):
    onnx_files = sorted(name for name, entry in manifest.files.items() if entry.format == "onnx")
    assert {"model.onnx", "model_int8.onnx"} <= set(onnx_files)
    assert sorted(manifest.mobile) == sorted(name.replace(".onnx", ".mobile.ort") for name in onnx_files)
    images = test_set[0][:500]
    for name in onnx_files:
        phone = exported / name.replace(".onnx", ".mobile.ort")
        assert phone.read_bytes()[4:8] == b"ORTM"  # ONNX Runtime's flatbuffer format, not a renamed .onnx
        session = ort.InferenceSession(str(phone), providers=["CPUExecutionProvider"])
        assert session.get_inputs()[0].shape == [1, 28, 28] and session.get_outputs()[0].shape == [1, 10]
        predictor, source = runtime.load(phone), runtime.load(exported / name)  # the sha256 is checked
        assert (predictor.format, predictor.fixed_batch, predictor.input_shape) == ("ort", 1, (1, 28, 28))
        assert predictor.class_names == source.class_names and predictor.class_names[0] == "T-shirt/top"
        assert predictor.quantization == manifest.files[name].quantization
        ours, theirs = predictor.predict(images), source.predict(images)
        assert ours.shape == (500, 10)
        assert np.mean(ours.argmax(1) == theirs.argmax(1)) >= 0.999, name
        assert np.abs(ours - theirs).max() <= 1e-5, name
        # One image through the batch-1 engine directly equals the runtime's row for it.
        direct = session.run(None, {"images": images[7:8].astype(np.float32) / 255})[0]
        np.testing.assert_allclose(ours[7:8], direct, atol=1e-6)
        entry = manifest.mobile[phone.name]
        assert entry.source == name and entry.source_sha256 == manifest.files[name].sha256
        assert entry.bytes == phone.stat().st_size and entry.passed and entry.agreement_with_source >= 0.999


def test_verdicts_match_onnxruntimes_own_checker(exported, manifest, tmp_path):
    """The issue's measurement, repeated with onnxruntime's command-line tools on a copy fixed by its own fixer."""
    phones = manifest.mobile
    assert phones["model.mobile.ort"].accelerators["nnapi"].verdict == "YES"
    assert phones["model.mobile.ort"].accelerators["coreml_mlprogram"].verdict == "YES"
    assert phones["model_int8.mobile.ort"].accelerators["nnapi"].verdict == "YES"
    for entry in phones.values():
        assert set(entry.as_exported.values()) == {"NO"}  # a dynamic batch: no accelerator takes it
    fixed = tmp_path / "model_int8.fixed.onnx"
    run_python("-m", "onnxruntime.tools.make_dynamic_shape_fixed", "--input_name", "images", "--input_shape",
               "1,28,28", exported / "model_int8.onnx", fixed)
    for path, entry, fixed_shapes in ((fixed, phones["model_int8.mobile.ort"].accelerators, True),
                                      (exported / "model_int8.onnx", phones["model_int8.mobile.ort"].as_exported,
                                       False)):
        log = run_python("-m", "onnxruntime.tools.check_onnx_model_mobile_usability", path)
        text = log.stdout + log.stderr
        said = dict(re.findall(r"Model should perform well with (NNAPI|CoreML MLProgram|CoreML NeuralNetwork) as is: "
                               r"(YES|MAYBE|NO)", text))
        assert len(said) == 3, text[-2000:]
        names = {"NNAPI": "nnapi", "CoreML MLProgram": "coreml_mlprogram", "CoreML NeuralNetwork": "coreml_neuralnetwork"}
        for tool_name, verdict in said.items():
            recorded = entry[names[tool_name]]
            assert (recorded.verdict if fixed_shapes else recorded) == verdict, (path.name, tool_name)
    nnapi = phones["model_int8.mobile.ort"].accelerators["nnapi"]
    assert nnapi.supported_nodes == nnapi.nodes and nnapi.partitions == 1


def test_a_phone_copy_is_checked_like_any_model_file(exported, tmp_path):
    for name in ("manifest.json", "model_int8.mobile.ort"):
        shutil.copy(exported / name, tmp_path / name)
    phone = tmp_path / "model_int8.mobile.ort"
    content = bytearray(phone.read_bytes())
    content[-100] ^= 0xFF
    phone.write_bytes(bytes(content))
    with pytest.raises(runtime.IntegrityError, match="model_int8.mobile.ort does not match manifest.json"):
        runtime.load(phone)
    not_ort = tmp_path / "renamed.ort"
    shutil.copy(exported / "model_int8.onnx", not_ort)
    with pytest.raises(ValueError, match="renamed.ort is not an ORT-format model"):
        runtime.load(not_ort)
    result = run_cli("predict", not_ort, exported / "model.keras", "--no-verify", check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["edgeport predict: error: renamed.ort is not an ORT-format model: "
                                                  "no 'ORTM' flatbuffer identifier"]


def test_phone_copies_stay_listed_across_exports_only_while_they_match(exported, fashion, tmp_path):
    from edgeport import export

    model = exported / "model.keras"
    first = export.export_all(model, tmp_path, fashion, export.ExportPlan.from_formats("onnx", mobile=True))
    assert list(first.mobile) == ["model.mobile.ort"]
    # Another export into the folder, without --mobile, keeps the copy: its source is unchanged.
    second = export.export_all(model, tmp_path, fashion, export.ExportPlan.from_formats("fp32"))
    assert second.mobile == first.mobile and "model.onnx" in second.files
    runtime.load(tmp_path / "model.mobile.ort")  # still verified against the manifest
    # A copy whose bytes changed is dropped from the manifest, and named as a stranger.
    phone = tmp_path / "model.mobile.ort"
    phone.write_bytes(phone.read_bytes() + b"\0")
    with pytest.warns(UserWarning, match="also holds model.mobile.ort"):
        third = export.export_all(model, tmp_path, fashion, export.ExportPlan.from_formats("fp32"))
    assert third.mobile == {}
