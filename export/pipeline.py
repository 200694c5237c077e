"""export_all: every format from one Keras model, each validated, described in manifest.json."""

from __future__ import annotations

import datetime
import io
import os
import platform
import shutil
import tempfile
import threading
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from edgeport import runtime
from edgeport.export import micro, sequential
from edgeport.export.calibration import calibration_sample, seeded_choice
from edgeport.export.common import OUTPUT_LOCK, ExportError, failure_text
from edgeport.export.folderlock import folder_lock
from edgeport.export.ladder import Sources, Tuning, integer_only
from edgeport.export.loading import is_savedmodel, load_keras_model, model_sha256, output_name
from edgeport.export.microkit import write_kit
from edgeport.export.mobile import ACCELERATORS, build_mobile, mobile_name
from edgeport.export.modelfacts import (
    batchnorm_hint,
    image_shape,
    keras_outputs,
    model_info,
    num_classes,
    reference_probabilities,
)
from edgeport.export.onnx import input_quantization
from edgeport.export.plan import ExportPlan
from edgeport.export.preprocessing import USUAL_NAMES, find_preprocessing, try_usual
from edgeport.export.publish import finish_publish, publish
from edgeport.export.recommend import best_miss, recommend, within_budget
from edgeport.export.rungs import Job, Rung, expected_cost, expected_to_skip
from edgeport.export.validate import ValidationError, validate_file
from edgeport.export.validator import Validator
from edgeport.export.verdict import verdict_words
from edgeport.runtime.datasets import Dataset, Split
from edgeport.runtime.errors import ModelFileError
from edgeport.runtime.evaluate import confusion_matrix, per_class_accuracy
from edgeport.runtime.files import write_bytes_atomic, write_text_atomic
from edgeport.runtime.images import fit_rule
from edgeport.runtime.manifest import (
    MANIFEST_NAME,
    STAGING_PREFIX,
    DataRecord,
    FileEntry,
    Manifest,
    ModelSource,
    PhoneEntry,
    Validation,
    npu_files,
    pending_publish,
    sha256_file,
)
from edgeport.runtime.modelinfo import ModelInfo

REFERENCE_NAME = "reference_probs.npy"
VERSIONED = ("tensorflow-cpu", "keras", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert", "tflite-micro", "numpy",
             "protobuf")

_BATCH_1 = "  (validated one image per call: its answers depend on the batch)"

# A Keras model that scores at most this many times chance on its own data is being fed wrong.
NONSENSE_FACTOR = 1.5


def export_all(model_path: str | os.PathLike, out_dir: str | os.PathLike, data: Dataset,
               plan: ExportPlan | None = None, *, calibration: Dataset | None = None,
               progress: Callable[[str], None] | None = None, keras_model=None) -> Manifest:
    """Export a Keras model up the quantization ladder, validate each file, and recommend one within budget.

    Files are built and validated in a staging folder inside out_dir, then renamed into place;
    a failure part-way leaves out_dir's previous files untouched. Files that miss a bar are
    still written (with passed: false in the manifest) so they can be inspected. One export
    at a time writes to a folder: another one waits for it (plan.lock_timeout).

    Args:
        model_path: a .keras or .h5 file or a SavedModel folder (export.load_keras_model).
        out_dir: where the files, reference_probs.npy and manifest.json go.
        data: the labelled data, at the model's input size (runtime.load_dataset); validation
            runs on its test split, or on all of it when it has no splits.
        plan: what to build and how to judge it (default: ExportPlan(), the whole ladder: the six
            standard files always, and each additional rung unless a file of its size class or
            smaller has already passed in its format; the manifest lists those as skipped).
        calibration: the data that calibrates the quantized files (default: data); its train
            split is used, else a seeded sample of all of it (the manifest says so). The
            tuning images that choose between candidates come from the same side.
        progress: called with one line per finished step; None for silence.
        keras_model: the model already loaded from model_path (load_keras_model), when the caller
            has it: it is then not loaded a second time.

    Returns:
        The Manifest; manifest.recommended names the file within budget that the plan's objective picks (balanced
        by default), overall and per format, and the smallest and the fastest beside it.

    Raises:
        FileNotFoundError / ValueError: bad model path or data; a Keras model that scores no better
            than chance on the data (preprocessing or labels are wrong).
        TimeoutError: another export held the folder for longer than plan.lock_timeout.
        ExportError: a converter failed. ValidationError: no file is within budget (the files
            are written all the same), or plan.strict and some file missed its bar.
    """
    plan = plan or ExportPlan()
    say = progress or (lambda line: None)
    model_path, out = Path(model_path), Path(out_dir)
    model = keras_model if keras_model is not None else load_keras_model(model_path)
    info, reference, validation, found = _reference(model, data, plan, say)
    calibration_images, calibration_record, tuning = None, None, None
    if plan.calibrated:
        calibration_images, calibration_record = calibration_sample(calibration or data, plan.calibration_samples)
        tuning = _tuning(model, calibration or data, info, plan)
        calibration_record = replace(calibration_record, tuning_images=int(len(tuning.labels)))

    out.mkdir(parents=True, exist_ok=True)
    with folder_lock(out, model_path.name, plan.lock_timeout, say):
        finish_publish(out)  # an export killed while moving its files in: finish its move first
        _remove_stale_staging(out)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
        kits: dict = {}
        validator = None
        try:
            write_bytes_atomic(staging / REFERENCE_NAME, npy_bytes(reference))  # a failed write names its file
            validator = Validator(staging / ".validation", validation.images, validation.labels, reference, plan)
            sources = Sources(model, staging / ".sources", plan.opset, info, plan.search, say)
            job, answers = Job(model, sources, info, calibration_images, tuning), {}
            entries, skipped, failed = _build(plan, staging, job, validation, reference, say, kits, answers,
                                              validator)
            phones = _build_mobile(entries, staging, validation, say) if plan.mobile else {}
            source_sha256 = model_sha256(model_path)
            kept_files, kept_phones = _kept_entries(out, source_sha256, entries, phones)
            entries = _validate_recommended(entries, kept_files, plan, staging, job, validation, reference, answers,
                                            say, validator)
            validator.close()
            shutil.rmtree(staging / ".sources", ignore_errors=True)
            files = kept_files | entries
            manifest = Manifest(
                created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                source=replace(_model_source(model_path, source_sha256, model, reference, validation.labels),
                               preprocessing_found=found),
                data=DataRecord(data.source, data.kind, data.validation[0], int(len(validation)), REFERENCE_NAME,
                                info.fit, data.unreadable, data.fit_found,
                                *((sequential.looks(len(validation)), sequential.RULE) if plan.sequential else ())),
                calibration=calibration_record, onnx_opset=plan.opset, bars=plan.bars_record(),
                versions=package_versions(), files=files, mobile=_current_phones(kept_phones | phones, files),
                skipped=skipped, failed=failed,
                recommended=recommend(files, plan.budget_pt, plan.integer_only, plan.objective,
                                      plan.board, plan.class_budget_pt))
            write_text_atomic(staging / MANIFEST_NAME, manifest.to_text())
            phone_files = [name for name, entry in phones.items() if entry.error is None]
            publish(staging, out, [*entries, *phone_files, *npu_files(entries), REFERENCE_NAME])
        except OSError as e:
            if e.filename is None or str(staging) not in str(e.filename):
                raise
            # A write in the staging folder failed (a full disk): name the folder the user asked for.
            raise type(e)(e.errno, f"{e.strerror} (while writing {Path(e.filename).name})", str(out)) from e
        finally:
            if validator is not None:
                validator.close()
            if pending_publish(out) is None:  # a move left part-way keeps its files for the next export
                shutil.rmtree(staging, ignore_errors=True)
        _warn_about_strangers(out, manifest)
        if plan.micro and manifest.recommended.micro in entries:
            kit = write_kit(out, manifest, manifest.recommended.micro, validation.images,
                            kits[manifest.recommended.micro])
            say(f"Firmware kit for {manifest.recommended.micro}: {kit}/ (README.md, main.cc and the model's headers)")
    failures = [f for e in entries.values() for f in e.validation.failures]
    failures += [f"{name}: failed to build: {why}" for name, why in failed.items()]
    if manifest.recommended.overall is None:
        miss = best_miss(manifest.files, plan.integer_only)
        raise ValidationError(failures, f"no {'integer-only ' if plan.integer_only else ''}file is within the budget "
                                        f"of {plan.budget_pt:g} pt; " + (f"the closest was {miss}" if miss else
                                                                         "no file was built"))
    if plan.board is not None and manifest.recommended.micro is None:
        raise ValidationError(failures, _micro_miss(manifest.files, plan))
    if plan.strict and failures:
        raise ValidationError(failures)
    return manifest


def _micro_miss(files: dict[str, FileEntry], plan: ExportPlan) -> str:
    """Why no microcontroller's file was recommended for the plan's board, with how far the closest misses."""
    board = plan.board
    candidates = [(name, entry) for name, entry in files.items()
                  if entry.micro is not None and entry.micro.runs
                  and within_budget(entry, plan.budget_pt, plan.class_budget_pt)]
    if not candidates:
        return f"no microcontroller's file is within the budget of {plan.budget_pt:g} pt, so none fits {board.name}"
    name, entry = min(candidates, key=lambda item: micro.overage(item[1], board))
    return f"no microcontroller's file fits {board.name}: the closest, {name}, {micro.fit_problem(entry, board)}"


def _remove_stale_staging(out: Path) -> None:
    """Remove staging folders that killed exports left: the folder lock is held, so no live export owns one."""
    for stale in out.glob(f"{STAGING_PREFIX}*"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)


def npy_bytes(array: np.ndarray) -> bytes:
    """An array as the bytes of an .npy file."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _tuning(model, data: Dataset, info: ModelInfo, plan: ExportPlan) -> Tuning:
    """Images from the calibration side (another seed than the calibration sample), scored by the Keras model."""
    _, split = data.calibration
    chosen = seeded_choice(len(split), plan.tuning_images, seed=1)
    images = split.images[chosen]
    outputs = keras_outputs(model, images, info.preprocessing)
    return Tuning(images, split.labels[chosen], reference_probabilities(outputs, info.output), plan)


def _reference(model, data: Dataset, plan: ExportPlan, say) -> tuple[ModelInfo, np.ndarray, Split, str]:
    """The facts every file will carry, the Keras model's probabilities on the validation images, and where
    the preprocessing came from.

    Raises:
        ValueError: data that does not fit the model, or a model that scores no better than chance on it
            under every usual preprocessing.
    """
    shape, count = image_shape(model), num_classes(model)
    if tuple(data.image_shape) != shape:
        raise ValueError(f"{data.source}: images are {'x'.join(map(str, data.image_shape))} but the model takes "
                         f"{'x'.join(map(str, shape))}: load the data at the model's input size")
    data.check_classes(count)
    _warn_about_class_order(plan.class_names, data)
    split, validation = data.validation
    started = time.perf_counter()
    if plan.preprocessing is not None:
        preprocessing, found = plan.preprocessing, "given (--scale/--offset or --mean/--std)"
    else:
        preprocessing, found = find_preprocessing(model)
    preprocessing.check_channels(shape[2])
    outputs = keras_outputs(model, validation.images, preprocessing)
    accuracy = float(np.mean(outputs.argmax(1) == validation.labels))
    chance = 1.0 / count
    if accuracy <= NONSENSE_FACTOR * chance and plan.preprocessing is None:
        preprocessing, outputs, found = try_usual(model, validation, (preprocessing, outputs, found), accuracy,
                                                  NONSENSE_FACTOR * chance, say)
    background = data.background or runtime.image_background(validation.images)
    info = model_info(model, plan.class_names if plan.class_names is not None else data.class_names, preprocessing,
                      runtime.output_kind(outputs), background, data.fit or fit_rule(background))
    reference = reference_probabilities(outputs, info.output)
    accuracy = float(np.mean(reference.argmax(1) == validation.labels))
    say(f"Keras reference: accuracy {accuracy:.4f} on {len(validation):,} validation images ({split} split), "
        f"output {info.output} ({time.perf_counter() - started:.1f} s)")
    if accuracy <= NONSENSE_FACTOR * chance:
        hint = batchnorm_hint(model, validation.images, validation.labels, info.preprocessing,
                              NONSENSE_FACTOR * chance)
        if hint:
            raise ValueError(f"the Keras model scores {accuracy:.4f} on {data.source} ({split}), no better than chance "
                             f"({chance:.4f} for {count} classes): {hint}")
        raise ValueError(
            f"the Keras model scores {accuracy:.4f} on {data.source} ({split}), no better than chance ({chance:.4f} "
            f"for {count} classes): the usual causes are the preprocessing (it gave x * "
            f"{info.preprocessing.to_json()['scale']} + {info.preprocessing.to_json()['offset']}"
            f"{'' if plan.preprocessing is not None else ', and none of ' + ', '.join(USUAL_NAMES) + ' did better'}"
            f"; a SavedModel's layers cannot be seen) and the labels (class order "
            f"{', '.join(info.class_names[:5])}{', ...' if count > 5 else ''})")
    return info, reference, validation, found


def _warn_about_class_order(given, data: Dataset) -> None:
    """Warn when the class names given are the data's own names in another order: a likely mix-up, since
    output i is named after the i-th name given whatever the data calls its classes."""
    own = data.class_names
    if given is None or own is None or tuple(given) == tuple(own) or sorted(given) != sorted(own):
        return
    warnings.warn(f"the class names given ({', '.join(given)}) are the data's ({', '.join(own)}) in another order: "
                  f"output i of the model is named after the i-th name given; check that this is the order it "
                  f"was trained in", stacklevel=4)


def _build(plan: ExportPlan, staging: Path, job: Job, validation: Split, reference, say, kits: dict,
           answers: dict, validator: Validator) -> tuple[dict[str, FileEntry], dict[str, str], dict[str, str]]:
    """Write, describe and validate every target of the plan in the staging folder (kits: each micro file's
    TFLM predictor, by name, for its firmware kit; answers: its TFLM answers so far, validate.Answers).

    Each host file is validated in the validator's worker while the next rung converts; a rung whose skip rule
    reads the files of its format and kind waits for theirs first. A microcontroller's file is proven here, in
    TFLM. The files within budget are timed at the end, when nothing else runs.

    A rung that fails to build or to run is recorded with its reason and the export goes on: one
    converter's fault never throws away the files that did build.

    Returns:
        (manifest entries by file name, {skipped file name: why}, {failed file name: why}).
    """
    entries, skipped, failed = {}, {}, {}
    pending: dict[str, tuple] = {}  # file name -> (index, target, built, started, build seconds)
    lock = threading.Lock()  # entries, pending and the progress are shared with the validator's thread
    progress = _Progress(plan, job.sources, entries, len(validation), say)

    def told(name: str, status: str, value) -> None:  # the validator's thread, as each verdict comes: its line
        with lock:
            if name not in pending:
                return
            index, target, _, started, building = pending[name]
            checking = value[2] if status == "ok" else time.perf_counter() - started - building
            progress.done(index, target, building + checking,
                          (value[0], (staging / name).stat().st_size) if status == "ok" else failure_text(value))

    def collect(waiting=()) -> None:
        for name in validator.finished(waiting):  # never under the lock: the validator's thread takes it
            with lock:
                _, target, built, _, _ = pending.pop(name)
                try:
                    figures, tensors, _ = validator.result(name)
                    entries[name] = describe_file(staging / name, tensors, target, job.info, figures, built)
                except Exception as e:  # an engine that cannot run the file
                    failed[name] = failure_text(e)

    validator.tell(told)
    for index, target in enumerate(plan.targets):
        collect()
        if target.skip is not None:  # its skip rule reads the files of its format and kind: theirs first
            collect([name for name, (_, other, *_) in pending.items()
                     if other.format == target.format and other.micro == target.micro])
        started = time.perf_counter()
        try:
            why = target.why_skipped(entries, plan, job.sources)
            if why:
                skipped[target.filename] = why
                say(f"{target.filename:<22} skipped: {why}")
                continue
            progress.started(index)
            float32 = job.sources.float32(target.format).stat().st_size  # a format whose float32 file fails fails fast
            path = staging / target.filename
            built = target.build(job, target, path).record()
            size_bar = float32 if target.quantization.bits <= 16 else None
            if target.micro:
                entry = _prove_micro(target, path, job, validation, reference, plan, kits, answers, built, size_bar)
                with lock:
                    entries[target.filename] = entry
            else:
                with lock:
                    pending[target.filename] = (index, target, built, started, time.perf_counter() - started)
                validator.send(target.filename, ("validate", str(path), target.quantization, size_bar,
                                                 validator.plan, False))
                continue
        except Exception as e:  # a converter, quantizer or engine failing on this rung: the others go on
            if isinstance(e, OSError) and e.filename is not None and str(staging) in str(e.filename):
                raise  # the staging folder cannot be written (a full disk): no other rung can be either
            with lock:
                failed[target.filename] = failure_text(e)
        seconds = time.perf_counter() - started
        with lock:
            progress.done(index, target, seconds, (entries[target.filename].validation,
                                                   entries[target.filename].bytes)
                          if target.filename in entries else failed[target.filename])
    collect(list(pending))
    validator.tell(None)
    for name in failed:
        (staging / name).unlink(missing_ok=True)
    _time_files(entries, staging, plan, validator)
    return entries, skipped, failed


class _Progress:
    """Each rung's line as its file is decided, with an estimate of the time the rest of the ladder takes: the
    rungs built or building whose lines have not come, and those not started, by their costs
    (rungs.expected_cost), at the ladder's pace so far: its wall-clock seconds per unit of cost of the rungs
    decided. The wall clock counts what a rung's own seconds leave out: a validation that competes with the next
    build for the cores, a wait for verdicts. (A median of each rung's longer of build and validation had
    DenseNet121's estimate half-way 67 % short.) Lines come in the rungs' order."""

    def __init__(self, plan: ExportPlan, sources, entries: dict, images: int, say, start: float | None = None):
        """start: when the ladder began (time.perf_counter; default now)."""
        self._plan, self._sources, self._entries, self._images, self._say = plan, sources, entries, images, say
        self._start = time.perf_counter() if start is None else start
        self._started: list[int] = []  # the rungs built or building, in order (appended from the main thread)
        self._decided, self._pace = 0.0, 0.0  # the costs of the rungs whose lines came; seconds per unit

    def started(self, index: int) -> None:
        """The rung at index began building."""
        self._started.append(index)

    def done(self, index: int, target: Rung, seconds: float, outcome) -> None:
        """Say a rung's line. outcome: (its Validation, its bytes), or why it failed."""
        self._decided += expected_cost(target, self._sources, self._pace)
        self._pace = pace = (time.perf_counter() - self._start) / self._decided
        started = list(self._started)
        building = max(started[-1] if started else index, index)
        in_flight = sum(expected_cost(self._plan.targets[i], self._sources, pace) for i in started if i > index)
        passed = not isinstance(outcome, str) and outcome[0].passed
        # This rung (when it passed) and those built since it are not in the entries yet: they count as to come
        # for which rungs will be skipped, not for the time.
        first = index if passed else index + 1
        settled = building + 1 - first
        left = _time_left(self._plan.targets[first:], self._entries, self._plan, self._sources, pace, settled,
                          pace * in_flight if building > index else None)
        line = f"{target.filename:<22} FAILED to build: {outcome} ({seconds:.1f} s{left})" \
            if isinstance(outcome, str) else _progress_line(*outcome, target.filename, seconds, left, self._images)
        with OUTPUT_LOCK:  # said from the validator's thread too, while a converter may be capturing the output
            self._say(line)


def _prove_micro(target: Rung, path: Path, job: Job, validation: Split, reference, plan: ExportPlan, kits: dict,
                 answers: dict, built: dict, size_bar: int | None) -> FileEntry:
    """A microcontroller's file proven in TFLM (micro.prove), its predictor kept in kits for the firmware kit and
    its answers in answers; timed in TFLM."""
    proof = micro.prove(path, validation, reference, target.quantization, size_bar, plan)
    kits[target.filename], answers[target.filename] = proof.predictor, proof.answers
    entry = describe_file(path, proof.predictor.describe(), target, job.info, proof.validation,
                          built | {"micro": proof.record})
    if within_budget(entry, plan.budget_pt, plan.class_budget_pt):  # only such a file can be recommended
        entry = replace(entry, latency_us=proof.record.host_us, latency_interval_us=None)
    return entry


def _time_files(entries: dict[str, FileEntry], staging: Path, plan: ExportPlan, validator: Validator) -> None:
    """Time each host file within budget (only such a file can be recommended) one image at a time, in the
    worker, once every file is built and nothing else runs."""
    names = [name for name, entry in entries.items()
             if entry.micro is None and within_budget(entry, plan.budget_pt, plan.class_budget_pt)]
    for name in names:
        validator.send(name, ("time", str(staging / name)))
    validator.finished(names)
    for name in names:
        median, interval = validator.result(name)
        entries[name] = replace(entries[name], latency_us=median, latency_interval_us=interval)


def _validate_recommended(entries: dict[str, FileEntry], kept: dict[str, FileEntry], plan: ExportPlan,
                          staging: Path, job: Job, validation: Split, reference, answers: dict, say,
                          validator: Validator) -> dict[str, FileEntry]:
    """The entries with each recommended file built this time (overall, per format, the microcontroller's)
    validated on every image, judged as the last look judges (export.sequential), so that its published figures
    are the whole set's; until the recommendation, remade from those figures, names only such files. Host files
    are validated in the worker while a microcontroller's is validated here, in TFLM."""
    entries, count = dict(entries), len(validation)
    targets = {target.filename: target for target in plan.targets}
    while True:
        chosen = recommend(kept | entries, plan.budget_pt, plan.integer_only, plan.objective, plan.board,
                           plan.class_budget_pt)
        names = sorted({name for name in (chosen.overall, chosen.tflite, chosen.onnx, chosen.micro)
                        if name in entries and (entries[name].validation.images or count) < count})
        if not names:
            return entries
        started = time.perf_counter()

        def size_bar(name):
            target = targets[name]
            return job.sources.float32(target.format).stat().st_size if target.quantization.bits <= 16 else None

        for name in names:
            if name not in answers:
                validator.send(name, ("validate", str(staging / name), targets[name].quantization, size_bar(name),
                                      validator.plan, True))
        for name in names:
            if name in answers:
                figures = validate_file(answers[name].predictor, validation.images, validation.labels, reference,
                                        targets[name].quantization, size_bar(name), plan, answers=answers[name],
                                        full=True)
            else:
                validator.finished([name])
                figures = validator.result(name)[0]
            entries[name] = replace(entries[name], validation=figures)
            say(_progress_line(figures, entries[name].bytes, name, time.perf_counter() - started, "", count,
                               "recommended, on every image: "))


def _time_left(remaining, entries: dict, plan: ExportPlan, sources, seconds_per_cost: float, settled: int = 0,
               building: float | None = None) -> str:
    """'; about 40 s left' for the rungs still to come: their costs (rungs.expected_cost) at seconds_per_cost (the
    ladder's pace so far), leaving out those likely to be skipped (rungs.expected_to_skip), plus building: the
    seconds left of the rungs built or building whose lines have not come. The first settled of remaining are
    built or building: they count for what is skipped, not for the time. '' when nothing is left."""
    cost = sum(expected_cost(target, sources, seconds_per_cost) for index, target in enumerate(remaining)
               if index >= settled and not expected_to_skip(target, entries, remaining[:index], plan, sources))
    seconds = seconds_per_cost * cost + (building or 0.0)
    return f"; about {seconds:.{0 if seconds >= 10 else 1}f} s left" if cost or building is not None else ""


def _build_mobile(entries: dict, staging: Path, validation, say) -> dict:
    """The phone copy of every ONNX file built this time, by .ort name; a failed one records its error."""
    phones = {}
    for name, entry in entries.items():
        if entry.format != "onnx":
            continue
        started, phone = time.perf_counter(), mobile_name(name)
        try:
            phones[phone] = build_mobile(staging / name, entry, validation.images)
        except (ExportError, ValueError) as e:  # a converter failure, or a copy the runtime refuses
            phones[phone] = PhoneEntry(name, entry.sha256, error=str(e))
            say(f"{phone:<22} FAIL: {e}")
            continue
        say(_phone_line(phones[phone], phone, time.perf_counter() - started))
    return phones


def _phone_line(entry: PhoneEntry, name: str, seconds: float) -> str:
    verdicts = ", ".join(f"{ACCELERATORS[key][0]} {v.verdict}" for key, v in entry.accelerators.items())
    verdict = "pass" if entry.passed else "FAIL: answers differ from its source"
    return (f"{name:<22} {entry.bytes / 1024:8.1f} KB  batch {entry.batch}  agreement with "
            f"{entry.source} {100 * entry.agreement_with_source:6.2f} %  {verdicts}  {verdict}  ({seconds:.1f} s)")


def _current_phones(phones: dict[str, PhoneEntry], files: dict[str, FileEntry]) -> dict[str, PhoneEntry]:
    """Phone copies whose source is in files with the very bytes the copy was made from."""
    return {name: entry for name, entry in sorted(phones.items())
            if entry.source in files and files[entry.source].sha256 == entry.source_sha256}


def _warn_about_strangers(out: Path, manifest: Manifest) -> None:
    """Name the model files in out that the new manifest does not list: they come from another model."""
    listed = manifest.files.keys() | manifest.mobile.keys() | set(npu_files(manifest.files))
    strangers = sorted(p.name for p in out.iterdir()
                       if p.suffix in runtime.predictor.SUFFIXES and p.is_file() and p.name not in listed)
    if strangers:
        warnings.warn(f"{out} also holds {', '.join(strangers)}, not from {manifest.source.file}: "
                      f"left out of {MANIFEST_NAME} (remove them, or export into an empty folder)", stacklevel=3)


def _kept_entries(out: Path, source_sha256: str, fresh: dict, fresh_phones: dict) -> tuple[dict, dict]:
    """Entries of an earlier export of the same model for files not exported this time.

    Exporting a subset of formats must not orphan the other files from the manifest (they
    would then load unverified); files from a different model are dropped from it instead.

    Returns:
        (files, phone copies): the manifest's two tables.
    """
    try:
        previous = runtime.read_manifest(out)
    except ValueError:
        return {}, {}
    if not previous or previous.source is None or previous.source.sha256 != source_sha256:
        return {}, {}

    def unchanged(table: dict, fresh_names) -> dict:
        return {name: entry for name, entry in table.items()
                if name not in fresh_names and (out / name).is_file() and sha256_file(out / name) == entry.sha256}

    return unchanged(previous.files, fresh), unchanged(previous.mobile, fresh_phones)


def describe_file(path: Path, tensors: dict, target: Rung, info: ModelInfo, validation, built: dict) -> FileEntry:
    """The manifest's record of one file: what it is (tensors: its engine's Predictor.describe()), its validation,
    and how the ladder built it."""
    if target.format == "onnx" and target.quantization.calibrated:
        tensors["input"]["quantization"] = input_quantization(path)
    return FileEntry(target.format, target.quantization.value, path.stat().st_size, sha256_file(path), info,
                     tensors=tensors, integer_only=integer_only(path), validation=validation, **built)


def _model_source(model_path: Path, sha256: str, model, reference: np.ndarray, labels: np.ndarray) -> ModelSource:
    matrix = confusion_matrix(labels, reference.argmax(1), reference.shape[1])
    return ModelSource(model_path.name, sha256, str(model_path.resolve()), model.name, int(model.count_params()),
                       list(model.input_shape), float(np.mean(reference.argmax(1) == labels)),
                       per_class_accuracy(matrix), matrix.tolist(), output_name(model))


def keras_model_path(folder: str | os.PathLike, manifest: Manifest, given: str | os.PathLike | None = None
                     ) -> Path | None:
    """The Keras model a manifest was exported from: given (the user's --model), else beside the manifest,
    else where it was exported from (source.path) when that is still a .keras or .h5 file with the
    recorded sha256 (an export with --out elsewhere); None when it cannot be found.

    source.path is only followed to a regular file whose digest is the manifest's: a manifest cannot
    make the report read anything else (a device, a folder tree).

    Raises:
        FileNotFoundError: a given path that is not there. ModelFileError: a given model that is not
            the one the files were exported from.
    """
    source = manifest.source
    if given is not None:
        path = Path(given)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such Keras model (--model)")
        if model_sha256(path) != source.sha256:
            raise ModelFileError(f"{path} is not the model these files were exported from ({source.file}, sha256 "
                                 f"{source.sha256[:12]}...): give that one to --model")
        return path
    path = Path(folder) / source.file
    if path.is_file() or is_savedmodel(path):
        return path
    if source.path:
        path = Path(source.path)
        if path.suffix in (".keras", ".h5") and path.is_file() and model_sha256(path) == source.sha256:
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


def _progress_line(v: Validation, size: int, name: str, seconds: float, left: str = "", images: int | None = None,
                   what: str = "") -> str:
    """A file's line: its size (bytes), what the figures are (what), the figures and verdict (v), and the images
    that decided it when fewer than all."""
    verdict = verdict_words(v)
    early = f" on {v.images:,} images" if v.images and images and v.images < images else ""
    return (f"{name:<22} {size / 1024:8.1f} KB  {what}accuracy {v.accuracy:.4f} "
            f"({100 * v.accuracy_change:+.2f} pt)  agreement {100 * v.agreement:6.2f} %  "
            f"max diff {v.max_abs_diff:.1e}  {verdict}{early}{_BATCH_1 if v.batch == 1 else ''}  "
            f"({seconds:.1f} s{left})")
