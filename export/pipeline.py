"""export_all: every format from one Keras model, each validated, described in manifest.json."""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from edgeport import runtime
from edgeport.export.calibration import DEFAULT_CALIBRATION_SAMPLES, calibration_sample, check_calibration_samples
from edgeport.export.common import ExportError, Quantization
from edgeport.export.folderlock import folder_lock
from edgeport.export.modelfacts import (
    image_shape,
    keras_outputs,
    load_keras_model,
    model_info,
    num_classes,
    preprocessing_for,
    reference_probabilities,
)
from edgeport.export.ladder import ALL_FORMATS, TARGETS, Sources, Target, Tuning, build_target, integer_only
from edgeport.export.mobile import ACCELERATORS, build_mobile, mobile_name
from edgeport.export.onnx import check_opset, input_quantization
from edgeport.export.validate import (
    BARS,
    DEFAULT_BUDGET_PT,
    MAX_INT8_SIZE_RATIO,
    SIZE_ALLOWANCE_BYTES,
    ValidationError,
    best_miss,
    recommend,
    validate_file,
    within_budget,
)
from edgeport.runtime.datasets import Dataset
from edgeport.runtime.evaluate import confusion_matrix, per_class_accuracy
from edgeport.runtime.files import write_text_atomic
from edgeport.runtime.manifest import MANIFEST_NAME, MOBILE_TABLE, sha256_file
from edgeport.runtime.modelinfo import ModelInfo, Preprocessing

REFERENCE_NAME = "reference_probs.npy"
VERSIONED = ("tensorflow-cpu", "keras", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert", "numpy", "protobuf")


def parse_formats(formats) -> list[Target]:
    """Targets for format names (a list or a comma-separated string), in ladder order; None means all."""
    if formats is None:
        return list(TARGETS)
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    wanted = list(formats)
    unknown = [f for f in wanted if f not in ALL_FORMATS]
    if unknown or not wanted:
        raise ValueError(f"unknown format {', '.join(map(repr, unknown)) or '(none given)'}; choose from {','.join(ALL_FORMATS)}")
    return [t for t in TARGETS if t.key in wanted]


# A Keras model that scores at most this many times chance on its own data is being fed wrong.
NONSENSE_FACTOR = 1.5


def export_all(
    model_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    data: Dataset,
    formats=None,
    calibration: Dataset | None = None,
    calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES,
    opset: int = 17,
    class_names=None,
    preprocessing: Preprocessing | None = None,
    progress: Callable[[str], None] | None = None,
    lock_timeout: float | None = None,
    budget_pt: float = DEFAULT_BUDGET_PT,
    integer_only: bool = False,
    strict: bool = False,
    mobile: bool = False,
) -> dict:
    """Export a Keras model up the quantization ladder, validate each file, and recommend the smallest within budget.

    Files are built and validated in a staging folder inside out_dir, then renamed into place;
    a failure part-way leaves out_dir's previous files untouched. Files that miss a bar are
    still written (with passed: false in the manifest) so they can be inspected. One export
    at a time writes to a folder: another one waits for it (lock_timeout).

    Args:
        model_path: a .keras file.
        out_dir: where the files, reference_probs.npy and manifest.json go.
        data: the labelled data, at the model's input size (runtime.load_dataset); validation
            runs on its test split, or on all of it when it has no splits.
        formats: names from ALL_FORMATS (list or comma-separated string), each built; None
            (the default) builds the whole ladder: the six standard files always, and each
            additional rung unless a file of its size class or smaller has already passed in
            its format (the manifest lists those as skipped).
        calibration: the data that calibrates the quantized files (default: data); its train
            split is used, else a seeded sample of all of it (the manifest says so). The
            tuning images that choose between candidates come from the same side.
        calibration_samples: how many calibration images.
        opset: ONNX opset.
        class_names: the classes' names (default: data.class_names, else "0".."N-1").
        preprocessing: what the model wants from a pixel (default: raw pixels for a model
            whose first layer is Rescaling or Normalization, else x / 255).
        progress: called with one line per finished step; None for silence.
        lock_timeout: seconds to wait for another export to the same folder; None waits as
            long as it takes, 0 not at all.
        budget_pt: accuracy points a quantized file may lose and still be recommended.
        integer_only: recommend only files whose arithmetic is all integer.
        strict: raise ValidationError when any file misses its bar, even with a recommendation.
        mobile: also write, for each ONNX file, a fixed-shape batch-1 copy in ONNX Runtime's
            format (model_int8.onnx -> model_int8.mobile.ort) with onnxruntime's NNAPI and
            CoreML verdicts, listed in the manifest's "mobile" table (export/mobile.py).

    Returns:
        The manifest dict; manifest["recommended"] names the smallest file within budget,
        overall and per format.

    Raises:
        FileNotFoundError / ValueError: bad model path, data, formats or options; a Keras model
            that scores no better than chance on the data (preprocessing or labels are wrong).
        TimeoutError: another export held the folder for longer than lock_timeout.
        ExportError: a converter failed. ValidationError: no file is within budget (the
            files are written all the same), or strict and some file missed its bar.
    """
    say = progress or (lambda line: None)
    targets = parse_formats(formats)
    if any(t.format == "onnx" for t in targets):
        check_opset(opset)  # a bad option fails before any work, not after the TFLite files
    check_calibration_samples(calibration_samples)  # likewise, before the model is even loaded
    check_budget(budget_pt)
    model_path, out = Path(model_path), Path(out_dir)
    model = load_keras_model(model_path)
    info, reference, validation = _reference(model, data, class_names, preprocessing, say)
    calibration_images, calibration_record, tuning = None, None, None
    if any(t.quantization.calibrated or t.quantization.bits <= 8 for t in targets):
        calibration_images, calibration_record = calibration_sample(calibration or data, calibration_samples)
        tuning = _tuning(model, calibration or data, info, budget_pt)
        calibration_record["tuning_images"] = int(len(tuning.labels))

    out.mkdir(parents=True, exist_ok=True)
    with folder_lock(out, model_path.name, lock_timeout, say):
        staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out))
        try:
            np.save(staging / REFERENCE_NAME, reference)
            sources = Sources(model, staging / ".sources", opset, info)
            entries, skipped = _build(model, targets, formats is None, staging, sources, info, calibration_images,
                                      tuning, validation, reference, budget_pt, integer_only, say)
            shutil.rmtree(staging / ".sources", ignore_errors=True)
            phones = _build_mobile(entries, staging, validation, say) if mobile else {}
            manifest = _manifest(model_path, model, data, calibration_record, opset, reference, validation)
            kept = _kept_entries(out, manifest["source"]["sha256"], entries, phones)
            manifest["files"] = kept["files"] | entries
            manifest[MOBILE_TABLE] = _current_phones(kept[MOBILE_TABLE] | phones, manifest["files"])
            manifest["skipped"] = skipped
            manifest["recommended"] = recommend(manifest["files"], budget_pt, integer_only)
            write_text_atomic(staging / MANIFEST_NAME, json.dumps(manifest, indent=1) + "\n")
            # Publish: files first, manifest last, each by rename.
            for name in [*entries, *(n for n, e in phones.items() if "error" not in e), REFERENCE_NAME, MANIFEST_NAME]:
                os.replace(staging / name, out / name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _warn_about_strangers(out, manifest)
    failures = [f for e in entries.values() for f in e["validation"]["failures"]]
    if manifest["recommended"]["overall"] is None:
        miss = best_miss(manifest["files"], integer_only)
        raise ValidationError(failures, f"no {'integer-only ' if integer_only else ''}file is within the budget of "
                                        f"{budget_pt:g} pt; the closest was {miss}")
    if strict and failures:
        raise ValidationError(failures)
    return manifest


def check_budget(budget_pt) -> None:
    """Refuse an accuracy budget that is not a number of points from 0 to 100."""
    if isinstance(budget_pt, bool) or not isinstance(budget_pt, (int, float)) or not 0 <= budget_pt <= 100:
        raise ValueError(f"budget must be a number of accuracy points from 0 to 100; got {budget_pt!r}")


TUNING_IMAGES = 2000


def _tuning(model, data: Dataset, info: ModelInfo, budget_pt: float) -> Tuning:
    """Images from the calibration side (another seed than the calibration sample), scored by the Keras model."""
    from edgeport.runtime.datasets import ALL, TRAIN

    split = data.splits[TRAIN if TRAIN in data.splits else ALL]
    chosen = np.sort(np.random.default_rng(1).choice(len(split), size=min(TUNING_IMAGES, len(split)), replace=False))
    images = split.images[chosen]
    outputs = keras_outputs(model, images, info.preprocessing)
    return Tuning(images, split.labels[chosen], reference_probabilities(outputs, info.output), budget_pt)


def _reference(model, data: Dataset, class_names, preprocessing, say):
    """The facts every file will carry, and the Keras model's probabilities on the validation images.

    Raises:
        ValueError: data that does not fit the model, or a model that scores no better than chance on it.
    """
    shape, count = image_shape(model), num_classes(model)
    if tuple(data.image_shape) != shape:
        raise ValueError(f"{data.source}: images are {'x'.join(map(str, data.image_shape))} but the model takes "
                         f"{'x'.join(map(str, shape))}: load the data at the model's input size")
    data.check_classes(count)
    split, validation = data.validation
    started = time.perf_counter()
    preprocessing = preprocessing_for(model, preprocessing)
    preprocessing.check_channels(shape[2])
    outputs = keras_outputs(model, validation.images, preprocessing)
    info = model_info(model, class_names if class_names is not None else data.class_names, preprocessing,
                      runtime.output_kind(outputs), runtime.image_background(validation.images))
    reference = reference_probabilities(outputs, info.output)
    accuracy = float(np.mean(reference.argmax(1) == validation.labels))
    say(f"Keras reference: accuracy {accuracy:.4f} on {len(validation):,} validation images ({split} split), "
        f"output {info.output} ({time.perf_counter() - started:.1f} s)")
    chance = 1.0 / count
    if accuracy <= NONSENSE_FACTOR * chance:
        raise ValueError(
            f"the Keras model scores {accuracy:.4f} on {data.source} ({split}), no better than chance ({chance:.4f} "
            f"for {count} classes): the usual causes are the preprocessing (it gave x * "
            f"{info.preprocessing.to_json()['scale']} + {info.preprocessing.to_json()['offset']}; a model that "
            f"rescales its input itself takes raw pixels) and the labels (class order "
            f"{', '.join(info.class_names[:5])}{', ...' if count > 5 else ''})")
    return info, reference, validation


def _build(model, targets, skip_losers: bool, staging: Path, sources: Sources, info: ModelInfo, calibration,
           tuning, validation, reference, budget_pt: float, integer_only_wanted: bool, say):
    """Write, describe and validate every target in the staging folder.

    Returns:
        (manifest entries by file name, {skipped file name: why}).
    """
    entries, skipped = {}, {}
    for target in targets:
        if skip_losers and not target.standard:
            winner = _smaller_winner(entries, target, budget_pt, integer_only_wanted)
            if winner:
                skipped[target.filename] = f"{winner} is within budget and no larger"
                say(f"{target.filename:<22} skipped: {skipped[target.filename]}")
                continue
        started = time.perf_counter()
        path = staging / target.filename
        built = build_target(target, path, model, sources, info, calibration, tuning)
        float32 = sources.float32(target.format).stat().st_size
        predictor = runtime.load(path, verify=False)  # the path users run; no manifest in staging yet
        entry = describe_file(predictor, target, info) | built
        entry["validation"] = validate_file(predictor, validation.images, validation.labels, reference,
                                            target.quantization, float32 if target.quantization.bits <= 16 else None,
                                            budget_pt)
        entries[target.filename] = entry
        say(_progress_line(entry, target.filename, time.perf_counter() - started))
    return entries, skipped


def _build_mobile(entries: dict, staging: Path, validation, say) -> dict:
    """The phone copy of every ONNX file built this time, by .ort name; a failed one records its error."""
    phones = {}
    for name, entry in entries.items():
        if entry["format"] != "onnx":
            continue
        started, phone = time.perf_counter(), mobile_name(name)
        try:
            phones[phone] = build_mobile(staging / name, entry, validation.images)
        except (ExportError, ValueError) as e:  # a converter failure, or a copy the runtime refuses
            phones[phone] = {"source": name, "source_sha256": entry["sha256"], "error": str(e)}
            say(f"{phone:<22} FAIL: {e}")
            continue
        say(_phone_line(phones[phone], phone, time.perf_counter() - started))
    return phones


def _phone_line(entry: dict, name: str, seconds: float) -> str:
    verdicts = ", ".join(f"{ACCELERATORS[key][0]} {v['verdict']}" for key, v in entry["accelerators"].items())
    verdict = "pass" if entry["passed"] else "FAIL: answers differ from its source"
    return (f"{name:<22} {entry['bytes'] / 1024:8.1f} KB  batch {entry['batch']}  agreement with "
            f"{entry['source']} {100 * entry['agreement_with_source']:6.2f} %  {verdicts}  {verdict}  "
            f"({seconds:.1f} s)")


def _current_phones(phones: dict, files: dict) -> dict:
    """Phone copies whose source is in files with the very bytes the copy was made from."""
    return {name: entry for name, entry in sorted(phones.items())
            if entry["source"] in files and files[entry["source"]]["sha256"] == entry["source_sha256"]}


def _smaller_winner(entries: dict, target: Target, budget_pt: float, integer_only_wanted: bool) -> str | None:
    """A file of target's format, already within budget, whose size class is no larger than target's."""
    for name, entry in entries.items():
        if entry["format"] != target.format or (integer_only_wanted and not entry["integer_only"]):
            continue
        if Quantization(entry["quantization"]).bits <= target.quantization.bits and within_budget(entry, budget_pt):
            return name
    return None


def _warn_about_strangers(out: Path, manifest: dict) -> None:
    """Name the model files in out that the new manifest does not list: they come from another model."""
    listed = manifest["files"].keys() | manifest[MOBILE_TABLE].keys()
    strangers = sorted(p.name for p in out.iterdir()
                       if p.suffix in runtime.predictor.SUFFIXES and p.is_file() and p.name not in listed)
    if strangers:
        warnings.warn(f"{out} also holds {', '.join(strangers)}, not from {manifest['source']['file']}: "
                      f"left out of {MANIFEST_NAME} (remove them, or export into an empty folder)", stacklevel=3)


def _kept_entries(out: Path, source_sha256: str, fresh: dict, fresh_phones: dict) -> dict:
    """Entries of an earlier export of the same model for files not exported this time.

    Exporting a subset of formats must not orphan the other files from the manifest (they
    would then load unverified); files from a different model are dropped from it instead.

    Returns:
        {"files": {name: entry}, "mobile": {name: entry}}: the manifest's two tables.
    """
    kept = {"files": {}, MOBILE_TABLE: {}}
    try:
        previous = runtime.read_manifest(out)
    except ValueError:
        return kept
    if not previous or previous.get("source", {}).get("sha256") != source_sha256:
        return kept
    for table, fresh_names in (("files", fresh), (MOBILE_TABLE, fresh_phones)):
        kept[table] = {name: entry for name, entry in previous.get(table, {}).items()
                       if name not in fresh_names and (out / name).is_file()
                       and sha256_file(out / name) == entry.get("sha256")}
    return kept


def describe_file(predictor: runtime.Predictor, target: Target, info: ModelInfo) -> dict:
    """The manifest's record of one file (without validation figures)."""
    path = predictor.path
    entry = {
        "format": target.format,
        "quantization": target.quantization.value,
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
        "tensors": predictor.describe(),
        "integer_only": integer_only(path),
        **info.to_json(),
    }
    if target.format == "onnx" and target.quantization.calibrated:
        entry["tensors"]["input"]["quantization"] = input_quantization(path)
    return entry


def _manifest(model_path: Path, model, data: Dataset, calibration: dict | None, opset: int, reference,
              validation) -> dict:
    labels = validation.labels
    matrix = confusion_matrix(labels, reference.argmax(1), reference.shape[1])
    split, _ = data.validation
    return {
        "edgeport": 2,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "source": {
            "file": model_path.name,
            "path": str(model_path.resolve()),
            "sha256": sha256_file(model_path),
            "name": model.name,
            "params": int(model.count_params()),
            "input_shape": list(model.input_shape),
            "accuracy": float(np.mean(reference.argmax(1) == labels)),
            "per_class_accuracy": per_class_accuracy(matrix),
            "confusion_matrix": matrix.tolist(),
        },
        "data": {"source": data.source, "kind": data.kind, "split": split, "images": int(len(labels)),
                 "reference": REFERENCE_NAME},
        "calibration": calibration,
        "onnx_opset": opset,
        "bars": {q.value: vars(bar) for q, bar in BARS.items()}
        | {"max_int8_size_ratio": MAX_INT8_SIZE_RATIO, "size_allowance_bytes": SIZE_ALLOWANCE_BYTES},
        "versions": package_versions(),
        "files": {},
    }


def keras_model_path(folder: str | os.PathLike, manifest: dict) -> Path | None:
    """The Keras model a manifest was exported from: beside it, else where it was, else None."""
    source = manifest["source"]
    for path in (Path(folder) / source["file"], Path(source.get("path", source["file"]))):
        if path.is_file():
            return path
    return None


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
