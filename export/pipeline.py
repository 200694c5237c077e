"""export_all: every format from one Keras model, each validated, described in manifest.json."""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from edgeport import runtime
from edgeport.export.common import DEFAULT_CALIBRATION_SAMPLES, Quantization, class_names_for, default_calibration_images
from edgeport.export.onnx import check_opset, input_quantization, quantize_onnx, to_onnx
from edgeport.export.tflite import to_tflite
from edgeport.export.validate import BARS, MAX_INT8_SIZE_RATIO, ValidationError, reference_probabilities, validate_file
from edgeport.runtime.data import PREPROCESSING
from edgeport.runtime.evaluate import confusion_matrix, per_class_accuracy
from edgeport.runtime.files import write_text_atomic
from edgeport.runtime.manifest import MANIFEST_NAME, sha256_file

REFERENCE_NAME = "reference_probs.npy"
VERSIONED = ("tensorflow-cpu", "keras", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert", "numpy", "protobuf")


@dataclass(frozen=True)
class Target:
    """One exported file: its CLI name, file name, format and quantization."""

    key: str
    filename: str
    format: str
    quantization: Quantization


TARGETS = (
    Target("fp32", "model_fp32.tflite", "tflite", Quantization.NONE),
    Target("fp16", "model_fp16.tflite", "tflite", Quantization.FLOAT16),
    Target("dynamic", "model_dynamic.tflite", "tflite", Quantization.DYNAMIC),
    Target("int8", "model_int8.tflite", "tflite", Quantization.INT8),
    Target("onnx", "model.onnx", "onnx", Quantization.NONE),
    Target("onnx-int8", "model_int8.onnx", "onnx", Quantization.INT8),
)
ALL_FORMATS = tuple(t.key for t in TARGETS)


def parse_formats(formats) -> list[Target]:
    """Targets for format names (a list or a comma-separated string), in canonical order."""
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    wanted = list(formats)
    unknown = [f for f in wanted if f not in ALL_FORMATS]
    if unknown or not wanted:
        raise ValueError(f"unknown format {', '.join(map(repr, unknown)) or '(none given)'}; choose from {','.join(ALL_FORMATS)}")
    return [t for t in TARGETS if t.key in wanted]


def load_keras_model(path: str | os.PathLike):
    """Load a .keras file, or say clearly why it is not one."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such Keras model (train one with 'edgeport train')")
    if path.suffix not in (".keras", ".h5"):
        raise ValueError(f"expected a Keras model file ending in '.keras'; got {str(path)!r}")
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as e:  # Keras raises ValueError, OSError, zipfile errors, ...
        raise ValueError(f"{path} is not a loadable Keras model: {' '.join(str(e).split())[:300]}") from e


def export_all(
    model_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    formats=ALL_FORMATS,
    calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES,
    opset: int = 17,
    data_dir=None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Export a Keras model to every requested format, validate each file, write the manifest.

    Files are built and validated in a staging folder inside out_dir, then renamed into place;
    a failure part-way leaves out_dir's previous files untouched. Files that miss a bar are
    still written (with passed: false in the manifest) so they can be inspected.

    Args:
        model_path: a .keras file.
        out_dir: where the files, reference_probs.npy and manifest.json go.
        formats: names from ALL_FORMATS (list or comma-separated string).
        calibration_samples: training images used to calibrate the int8 files.
        opset: ONNX opset.
        data_dir: Fashion-MNIST folder (default: the usual search path).
        progress: called with one line per finished step; None for silence.

    Returns:
        The manifest dict.

    Raises:
        FileNotFoundError / ValueError: bad model path, formats or options.
        ExportError: a converter failed. ValidationError: some file missed its bars.
    """
    say = progress or (lambda line: None)
    targets = parse_formats(formats)
    if any(t.format == "onnx" for t in targets):
        check_opset(opset)  # a bad option fails before any work, not after the TFLite files
    if not isinstance(calibration_samples, int) or calibration_samples < 1:
        raise ValueError(f"calibration samples must be a positive whole number; got {calibration_samples!r}")
    model_path, out = Path(model_path), Path(out_dir)
    model = load_keras_model(model_path)
    test_images, test_labels = runtime.load_fashion_mnist("test", data_dir)
    background = runtime.image_background(test_images)
    needs_calibration = any(t.quantization is Quantization.INT8 for t in targets)
    calibration = default_calibration_images(calibration_samples, data_dir) if needs_calibration else None

    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out))
    try:
        started = time.perf_counter()
        reference = reference_probabilities(model, test_images)
        np.save(staging / REFERENCE_NAME, reference)
        say(f"Keras reference: accuracy {np.mean(reference.argmax(1) == test_labels):.4f} "
            f"on {len(test_labels):,} test images ({time.perf_counter() - started:.1f} s)")
        entries = {}
        for target in targets:
            started = time.perf_counter()
            path = _write_target(target, model, staging, calibration, opset, background)
            float32 = next((e["bytes"] for e in entries.values()
                            if e["format"] == target.format and e["quantization"] == "none"), None)
            if float32 is None and target.quantization is not Quantization.NONE:
                float32 = _float32_size(target, model, staging, opset, background)
            predictor = runtime.load(path, verify=False)  # the path users run; no manifest in staging yet
            entry = describe_file(predictor, target, class_names_for(model), background)
            entry["validation"] = validate_file(predictor, test_images, test_labels, reference, target.quantization, float32)
            entries[target.filename] = entry
            say(_progress_line(entry, target.filename, time.perf_counter() - started))
        manifest = _manifest(model_path, model, entries, calibration, opset, reference, test_labels)
        manifest["files"] = _kept_entries(out, manifest["source"]["sha256"], entries) | entries
        write_text_atomic(staging / MANIFEST_NAME, json.dumps(manifest, indent=1) + "\n")
        # Publish: files first, manifest last, each by rename.
        for name in [*entries, REFERENCE_NAME, MANIFEST_NAME]:
            os.replace(staging / name, out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    failures = [f for e in entries.values() for f in e["validation"]["failures"]]
    if failures:
        raise ValidationError(failures)
    return manifest


def _kept_entries(out: Path, source_sha256: str, fresh: dict) -> dict:
    """Entries of an earlier export of the same model for files not exported this time.

    Exporting a subset of formats must not orphan the other files from the manifest (they
    would then load unverified); files from a different model are dropped from it instead.
    """
    try:
        previous = runtime.read_manifest(out)
    except ValueError:
        return {}
    if not previous or previous.get("source", {}).get("sha256") != source_sha256:
        return {}
    return {name: entry for name, entry in previous["files"].items()
            if name not in fresh and (out / name).is_file() and sha256_file(out / name) == entry.get("sha256")}


def _write_target(target: Target, model, folder: Path, calibration, opset: int, background: str) -> Path:
    path = folder / target.filename
    if target.format == "tflite":
        images = calibration if target.quantization is Quantization.INT8 else None
        return to_tflite(model, path, target.quantization.value, images)
    if target.quantization is Quantization.NONE:
        return to_onnx(model, path, opset, background=background)
    # The int8 ONNX file is quantized from a float32 ONNX file made here, on purpose, rather
    # than from whatever model.onnx happens to be on disk.
    float32 = folder / "float32-for-quantization.onnx"
    to_onnx(model, float32, opset, background=background)
    try:
        return quantize_onnx(float32, path, calibration)
    finally:
        float32.unlink(missing_ok=True)


def _float32_size(target: Target, model, folder: Path, opset: int, background: str) -> int:
    """Size of the float32 file of target's format, when it was not requested itself."""
    reference = Target("size", f"float32-size.{target.format}", target.format, Quantization.NONE)
    path = _write_target(reference, model, folder, None, opset, background)
    try:
        return path.stat().st_size
    finally:
        path.unlink()


def describe_file(predictor: runtime.Predictor, target: Target, class_names: list[str], background: str) -> dict:
    """The manifest's record of one file (without validation figures)."""
    path = predictor.path
    entry = {
        "format": target.format,
        "quantization": target.quantization.value,
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
        **predictor.describe(),
        "preprocessing": PREPROCESSING,
        "class_names": class_names,
        "background": background,
    }
    if target.format == "onnx" and target.quantization is Quantization.INT8:
        entry["input"]["quantization"] = input_quantization(path)
    return entry


def _manifest(model_path: Path, model, entries: dict, calibration, opset: int, reference, labels) -> dict:
    matrix = confusion_matrix(labels.astype(np.int64), reference.argmax(1), reference.shape[1])
    return {
        "edgeport": 1,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "source": {
            "file": model_path.name,
            "sha256": sha256_file(model_path),
            "name": model.name,
            "params": int(model.count_params()),
            "input_shape": list(model.input_shape),
            "accuracy": float(np.mean(reference.argmax(1) == labels)),
            "per_class_accuracy": per_class_accuracy(matrix),
            "confusion_matrix": matrix.tolist(),
        },
        "test_set": {"name": "fashion-mnist test", "images": int(len(labels)), "reference": REFERENCE_NAME},
        "calibration": None if calibration is None else {"split": "train", "images": int(len(calibration)), "seed": 0},
        "onnx_opset": opset,
        "bars": {q.value: vars(bar) for q, bar in BARS.items()} | {"max_int8_size_ratio": MAX_INT8_SIZE_RATIO},
        "versions": package_versions(),
        "files": entries,
    }


def package_versions() -> dict:
    """Python's and each converter's and engine's version, for the manifest and bench.json."""
    from importlib import metadata  # slow to import; only export and the benchmark need it

    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _progress_line(entry: dict, name: str, seconds: float) -> str:
    v = entry["validation"]
    verdict = "pass" if v["passed"] else "FAIL: " + "; ".join(v["failures"])
    return (f"{name:<22} {entry['bytes'] / 1024:8.1f} KB  accuracy {v['accuracy']:.4f} "
            f"({100 * v['accuracy_change']:+.2f} pt)  agreement {100 * v['agreement']:6.2f} %  "
            f"max diff {v['max_abs_diff']:.1e}  {verdict}  ({seconds:.1f} s)")
