"""manifest.json as typed values, and the export plan as one value: the file format stays what it was."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from edgeport import export, runtime
from edgeport.runtime.manifest import FileEntry, Manifest, PhoneEntry, Recommendation
from tests.conftest import ROOT


def test_the_typed_manifest_writes_back_the_very_json_it_read(exported):
    written = json.loads((exported / "manifest.json").read_text())
    manifest = runtime.read_manifest(exported)
    assert manifest.to_json() == written  # every key and value, nested ones included
    assert Manifest.from_json(manifest.to_json()) == manifest
    entry = manifest.files["model_int8.tflite"]
    assert isinstance(entry, FileEntry) and isinstance(manifest.mobile["model_int8.mobile.ort"], PhoneEntry)
    assert entry.info.class_names == runtime.CLASS_NAMES and entry.info.background == "dark"
    assert entry.validation.bar.min_agreement == 0.985 and entry.validation.passed is True
    assert isinstance(manifest.recommended, Recommendation) and manifest.recommended.overall in manifest.files
    assert manifest.data.fit == "frame" and manifest.edgeport == 2


def test_older_manifests_read_and_newer_ones_are_refused(exported, tmp_path):
    written = json.loads((exported / "manifest.json").read_text())
    del written["edgeport"]  # edgeport 0.1 wrote no schema version
    for entry in written["files"].values():
        entry["output"] = {"name": "probabilities"}  # and described the output tensor under "output"
    (tmp_path / "manifest.json").write_text(json.dumps(written))
    old = runtime.read_manifest(tmp_path)
    assert old.edgeport == 2 and old.files["model.onnx"].info.output == "probabilities"
    written["edgeport"] = 3
    (tmp_path / "manifest.json").write_text(json.dumps(written))
    with pytest.raises(runtime.ManifestError, match=r"schema version 3; this edgeport reads versions up to 2: "
                                                    r"upgrade edgeport"):
        runtime.read_manifest(tmp_path)
    written["edgeport"] = 2
    del written["files"]["model.onnx"]["sha256"]
    (tmp_path / "manifest.json").write_text(json.dumps(written))
    with pytest.raises(runtime.ManifestError, match=r"files.model.onnx: missing 'sha256'; re-run 'edgeport export'"):
        runtime.read_manifest(tmp_path)


@pytest.mark.parametrize("options, message", [
    ({"formats": "fp32,coreml"}, r"unknown format 'coreml'; choose from fp32,fp16,"),
    ({"formats": ""}, r"unknown format \(none given\)"),
    ({"budget_pt": -1}, r"budget must be a number of accuracy points from 0 to 100; got -1"),
    ({"budget_pt": True}, r"budget must be a number of accuracy points from 0 to 100; got True"),
    ({"opset": 12}, r"opset must be a whole number from 13 to 18; got 12"),
    ({"calibration_samples": 0}, r"calibration samples must be a positive whole number; got 0"),
    ({"tuning_images": 2.5}, r"tuning images must be a positive whole number; got 2.5"),
    ({"class_names": []}, r"class names must not be empty"),
    ({"lock_timeout": -3}, r"lock timeout must be a number of seconds >= 0; got -3"),
])
def test_a_plan_is_checked_when_it_is_made(options, message):
    with pytest.raises(export.PlanError, match=message):
        export.ExportPlan.from_formats(**options)


def test_a_plan_is_a_value_that_carries_its_bars():
    plan = export.ExportPlan.from_formats("int8,onnx", budget_pt=1.0)
    assert [t.filename for t in plan.targets] == ["model_int8.tflite", "model.onnx"] and plan.ladder is False
    assert export.ExportPlan().ladder is True and len(export.ExportPlan().targets) == len(export.TARGETS)
    assert plan.bar_for(export.Quantization.INT8).max_accuracy_change == pytest.approx(0.01)  # the budget
    assert plan.bar_for(export.Quantization.NONE).max_accuracy_change == pytest.approx(0.0005)  # fixed
    with pytest.raises(AttributeError):
        plan.budget_pt = 2.0  # frozen: nothing mutates a plan on the way
    assert plan.bars_record()["int8"] == {"min_agreement": 0.985, "max_accuracy_change": 0.005, "two_sided": False,
                                          "max_abs_diff": None}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_imports_flow_one_way():
    # The subcommands share edgeport.command and never import edgeport.cli, which imports them.
    for module in sorted((ROOT / "edgeport").glob("commands_*.py")):
        assert not {"edgeport.cli", "edgeport.cli.run"} & _imports(module), module.name
    assert not any(name.startswith("edgeport.commands") for name in _imports(ROOT / "edgeport" / "command.py"))
    # export stands on runtime: never on the app layer (cli, commands, web, scale) or on train.
    app = ("edgeport.cli", "edgeport.command", "edgeport.web", "edgeport.scale", "edgeport.train")
    for module in sorted((ROOT / "export").glob("*.py")):
        assert not [name for name in _imports(module) if name.startswith(app)], module.name
    # runtime imports nothing of export, train or the app layer.
    for module in sorted((ROOT / "runtime").glob("*.py")):
        assert not [name for name in _imports(module) if name.startswith((*app, "edgeport.export"))], module.name


def test_every_error_edgeport_raises_for_a_person_is_one_family():
    family = runtime.EdgeportError
    for error in (runtime.DataError, runtime.ModelFileError, runtime.ManifestError, runtime.IntegrityError,
                  export.PlanError, export.ExportError, export.ValidationError, runtime.WebError,
                  runtime.ScaleError, runtime.MissingExtraError):
        assert issubclass(error, family), error
    for error in (runtime.DataError, runtime.ModelFileError, runtime.ManifestError, export.PlanError):
        assert issubclass(error, ValueError), error  # bad input stays a ValueError for existing callers
    # The runtime keeps its own errors; export's live in export (the runtime never names them).
    assert not hasattr(runtime, "ExportError") and export.ExportError.__module__ == "edgeport.export.errors"
    missing = runtime.MissingExtraError("needs pyarrow", "score")
    assert (str(missing), missing.extra) == ("needs pyarrow: pip install 'edgeport[score]'", "score")


@pytest.mark.parametrize("change, message", [
    (lambda m: m["recommended"].update(onnx="../evil/evil.onnx"),
     "recommended.onnx '../evil/evil.onnx' is not one of its files"),
    (lambda m: m["files"].update({"/tmp/evil.onnx": m["files"]["model.onnx"]}),
     "file '/tmp/evil.onnx' is not a file name inside the manifest's folder"),
    (lambda m: m["mobile"]["model.mobile.ort"].update(source="../model.onnx"),
     "source of phone copy '../model.onnx' is not a file name inside the manifest's folder"),
    (lambda m: m["data"].update(reference="../../etc/passwd"),
     "data.reference '../../etc/passwd' is not a file name inside the manifest's folder"),
])
def test_a_manifest_naming_files_outside_its_folder_is_refused_by_every_command(exported, tmp_path, change, message):
    from tests.conftest import run_cli

    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "model.onnx").write_bytes((exported / "model.onnx").read_bytes())
    written = json.loads((exported / "manifest.json").read_text())
    change(written)
    (folder / "manifest.json").write_text(json.dumps(written))
    (tmp_path / "evil").mkdir()
    (tmp_path / "evil" / "evil.onnx").write_bytes((exported / "model.onnx").read_bytes())
    for args in (("web", folder, "--out", tmp_path / "page"), ("predict", folder / "model.onnx", "--data", "fashion-mnist"),
                 ("evaluate", folder / "model.onnx")):
        result = run_cli(*args, check=False)
        assert result.returncode == 1, args
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"edgeport {args[0]}: error: {folder / 'manifest.json'}: {message}"), line
    assert not (tmp_path / "page").exists()
