"""The ladder as data: every rung is one entry of RUNGS and one builder function.

A rung's entry says what it is (format, quantization, host or microcontroller), which tool builds it,
whether it is always built, when it is skipped, and how it is built; its bar is its quantization's
(BARS, with the plan's budget for a quantized file). The pipeline, the plan, the converters' lists
of the modes they take, and the skip rules all read this table, so a new rung is a new entry here, its
builder function, and a test.

A builder writes the rung's file at the path it is given and returns a Built: what the ladder searched
and chose for it, as the manifest records it.
"""

from __future__ import annotations

import itertools
import os
import shutil
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Callable

from edgeport.export import clipping, litert, logits, onnx_quant, ranges
from edgeport.export.calibration import calibration_batch
from edgeport.export.common import Quantization, failure_text, frozen_function
from edgeport.export.ladder import (
    HISTOGRAM_COST,
    ONNX_W4_BLOCKS,
    QUICK_PROBE_SECONDS,
    Sources,
    Steps,
    Tuning,
    best_of,
    cannot_shrink,
    first_within,
    greedy,
    integer_only,
    rank_layers,
    rounded,
    search_options,
)
from edgeport.export.tflite import Calibrated, pack, requantized, to_tflite
from edgeport.runtime import tflite_file
from edgeport.runtime.files import write_bytes_atomic
from edgeport.runtime.manifest import Bar, sha256_file
from edgeport.runtime.modelinfo import ModelInfo

if TYPE_CHECKING:
    from edgeport.export.plan import ExportPlan

Q = Quantization

# The tools that build files, as the rungs name them (and the converters check their modes against).
TFLITE_CONVERTER, LITERT_QUANTIZER, TF2ONNX, ORT_QUANTIZATION = (
    "TFLiteConverter", "LiteRT Quantizer", "tf2onnx", "onnxruntime.quantization")

# The fidelity bars on the validation data, against the Keras model. A quantized file's accuracy
# bar is the plan's budget; float files' bars are fixed and two-sided.
BARS = MappingProxyType({
    Q.NONE: Bar(0.9995, 0.0005, True, 1e-4),
    Q.FLOAT16: Bar(0.999, 0.001, True, 5e-3),
    Q.DYNAMIC: Bar(0.985, 0.005, False, None),
    Q.INT8: Bar(0.985, 0.005, False, None),
    Q.INT16: Bar(0.985, 0.005, False, None),
    Q.MIXED: Bar(0.985, 0.005, False, None),
    Q.INT4: Bar(0.97, 0.005, False, None),
})


@dataclass(frozen=True)
class Built:
    """What a rung's builder searched and chose (the manifest's per-file build fields; None: not searched).

    Attributes:
        search: the candidates tried, with their tuning figures.
        layers: per-layer SQNR of the probes, most sensitive first.
        float_layers, wide_layers: the layers kept in float, or at 8-bit weights.
        calibration_method: the ONNX calibration method chosen.
        weight_type: how the int8 or mixed ONNX file stores its weights (onnx_quant.WEIGHT_TYPES), chosen with it.
        block_size: the 4-bit ONNX block size chosen.
        equalized: the layer pairs rescaled by cross-layer equalisation ("first→second"), when the
            equalised model's file was kept.
        int16_layers: the layers of an int8 file whose activations are int16 (int16_activations, ranged's and
            widened's head).
        activation_ranges: the rule that chose a full-integer TFLite file's activation ranges, when not the
            converter's minmax (ranged).
    """

    search: list | None = None
    layers: list | None = None
    float_layers: list | None = None
    wide_layers: list | None = None
    calibration_method: str | None = None
    weight_type: str | None = None
    block_size: int | None = None
    equalized: list | None = None
    int16_layers: list | None = None
    activation_ranges: str | None = None

    def record(self) -> dict:
        """The fields the manifest records (those searched), by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


@dataclass(frozen=True)
class Job:
    """What every builder of one export is given: the model, what the rungs share (Sources), the facts the
    files carry, the calibration images and the tuning images the searches score candidates on."""

    model: object
    sources: Sources
    info: ModelInfo
    calibration: object
    tuning: Tuning | None


Builder = Callable[[Job, "Rung", Path], Built]
SkipRule = Callable[["Rung", dict, "ExportPlan", Sources], "str | None"]


@dataclass(frozen=True)
class Rung:
    """One rung of the ladder.

    Attributes:
        key: its CLI name (--formats). filename: its file. format: "tflite" or "onnx".
        quantization: how the file stores its numbers (its bar: BARS).
        build: the builder function, (job, rung, path) -> Built.
        tool: the tool that makes the file; probed_by: the tool its per-layer probes use, if another.
        standard: always built when planned (the six standard files and the microcontroller's int8 file).
        micro: a microcontroller's file (batch 1, integer input and output, validated in TFLM).
        skip: (rung, entries built so far, plan, sources) -> why it is not built, or None; None: never skipped.
        cost: its build and validation time relative to the other rungs', for the progress line's estimate of
            the time left (measured on the seed MLP and a one-epoch CNN: a float32 or float16 file 1, int8 2,
            4-bit ONNX 4, the 4-bit TFLite search 8, a file validated in TFLM 10; dynamic-range ONNX 2, measured
            at 1.0 to 4.3 on five keras.applications networks: onnxruntime's integer convolutions are slow).
        probes_cost: the part of cost a quick search spends on its layer probes, which it runs only when they fit
            in QUICK_PROBE_SECONDS (expected_cost).
    """

    key: str
    filename: str
    format: str
    quantization: Quantization
    build: Builder = field(repr=False, compare=False)
    tool: str = ""
    standard: bool = False
    micro: bool = False
    skip: SkipRule | None = field(default=None, repr=False, compare=False)
    probed_by: str | None = None
    cost: float = 1.0
    probes_cost: float = 0.0

    def why_skipped(self, entries: dict, plan: "ExportPlan", sources: Sources) -> str | None:
        """Why this rung is not built in this export (its skip rule), or None."""
        return self.skip(self, entries, plan, sources) if self.skip is not None else None


# --- skip rules -------------------------------------------------------------------------------------------

def smaller_or_cannot_shrink(rung: Rung, entries: dict, plan: "ExportPlan", sources: Sources) -> str | None:
    """An additional rung is skipped once a file of its format and kind, no wider, is within budget (with
    plan.ladder), or when it could not meet the size bar (estimated before building it)."""
    winner = _smaller_winner(entries, rung, plan) if plan.ladder else None
    return f"{winner} is within budget and no larger" if winner else cannot_shrink(rung, sources, plan)


def _smaller_winner(entries: dict, rung: Rung, plan: "ExportPlan") -> str | None:
    from edgeport.export.recommend import within_budget

    for name, entry in entries.items():
        if entry.format != rung.format or (entry.micro is not None) != rung.micro or \
                (plan.integer_only and not entry.integer_only):
            continue
        narrow = Quantization(entry.quantization).bits <= rung.quantization.bits
        if narrow and within_budget(entry, plan.budget_pt, plan.class_budget_pt):
            return name
    return None


def expected_cost(rung: Rung, sources: Sources, seconds_per_cost: float) -> float:
    """rung's cost for an estimate of the time left, at seconds_per_cost: without its probes when a quick search
    will not afford them, as the search itself decides (ladder.greedy): a probe for each weighted layer, each
    timed like the rung's first file, beyond QUICK_PROBE_SECONDS. (The 4-bit TFLite rung's first file took 1.1 to
    2.4 units of cost on EfficientNetB0, ResNet50V2 and DenseNet121, whose searches declined their probes.)"""
    if not rung.probes_cost or sources.thorough:
        return rung.cost
    first = rung.cost - rung.probes_cost
    return first if sources.weighted_layers() * first * seconds_per_cost > QUICK_PROBE_SECONDS else rung.cost


def expected_to_skip(rung: Rung, entries: dict, pending: list, plan: "ExportPlan", sources: Sources) -> bool:
    """Whether rung is likely not to be built, for an estimate of the time left: its skip rule skips it on
    the files built so far (asked only once its format's float32 file exists: an estimate converts nothing),
    or (on the ladder) a rung still to come, of its format and kind and no wider, will probably pass and make
    it skip. A rung is not expected to pass when a file of its quantization in the other format missed its
    budget (EfficientNetB0's int8 TFLite file failed, and so did its int8 ONNX file: the further ONNX rungs
    it was expected to skip took a quarter of the export). An additional rung of 8 bits or more is expected to
    pass as a standard one is (the dynamic-range ONNX files of ResNet50V2 and DenseNet121 passed, and their
    16-bit and mixed ONNX rungs were skipped); a 4-bit one is not (it missed on all five keras.applications
    networks of bench_ladder)."""
    if rung.skip is None:
        return False
    if sources.converted(rung.format) and rung.why_skipped(entries, plan, sources):
        return True
    return plan.ladder and any(other.format == rung.format and other.micro == rung.micro
                               and other.quantization.bits <= rung.quantization.bits
                               and (other.standard or other.quantization.bits >= 8)
                               and not _missed_elsewhere(other, entries, plan) for other in pending)


def _missed_elsewhere(rung: Rung, entries: dict, plan: "ExportPlan") -> bool:
    """Whether a file of rung's quantization, in another format, missed its budget."""
    from edgeport.export.recommend import within_budget

    return any(entry.format != rung.format and (entry.micro is not None) == rung.micro
               and Quantization(entry.quantization) is rung.quantization
               and not within_budget(entry, plan.budget_pt, plan.class_budget_pt) for entry in entries.values())


# --- builders ---------------------------------------------------------------------------------------------

def copy_float32(job: Job, rung: Rung, path: Path) -> Built:
    """The float32 file of the rung's format, converted once per export (Sources.float32)."""
    shutil.copyfile(job.sources.float32(rung.format), path)
    return Built()


def tflite_converter(job: Job, rung: Rung, path: Path) -> Built:
    """TFLiteConverter's float16, dynamic-range or full-integer file (with cross-layer equalisation when it
    helps, equalising); a thorough search also probes int8's layers with LiteRT Quantizer (TFLiteConverter
    cannot quantize one layer alone)."""
    mode = rung.quantization
    if mode is not Q.INT8:
        to_tflite(job.model, path, mode, job.calibration if mode.calibrated else None, job.info,
                  frozen=job.sources.frozen())
        return Built()
    built = full_integer(job, path, None)
    return replace(built, layers=tflite_probes(job, Q.INT8, path)) if job.sources.thorough else built


def micro_converter(job: Job, rung: Rung, path: Path) -> Built:
    """A microcontroller's file: one image per call, full-integer input and output, by TFLiteConverter (with
    cross-layer equalisation when it helps, equalising); an int8 file that misses its bar in TFLM on the tuning
    images is searched further (int16_activations)."""
    if rung.quantization is not Q.INT8:
        return equalising(job, rung.quantization, path, _tflite_writer(job, rung.quantization, 1))
    return int16_activations(job, path, full_integer(job, path, 1))


def full_integer(job: Job, path: Path, batch: int | None) -> Built:
    """TFLiteConverter's int8 file, searched further while it misses its bar on the tuning images: of the model as
    trained or equalised (equalising), then with the activation ranges the converter observed or another rule's,
    each with its classifier head in 8 or 16 bits (ranged); each step keeps its candidate only when it agrees
    better."""
    try:
        return ranged(job, path, equalising(job, Q.INT8, path, _tflite_writer(job, Q.INT8, batch)), batch)
    finally:  # the calibrated models are the float model's size: not kept for the rest of the export
        for equalized in (False, True):
            _calibrated(job, batch, equalized).release()


def _figures(job: Job, path: Path) -> dict:
    """The file's figures on the tuning images, scored once per content: the search steps of a rung (equalising,
    ranged, widened) each start from the file the previous one kept, which it has scored already."""
    return job.sources.once(("tuning figures", sha256_file(path)), lambda: job.tuning.figures(path))


def _missing(job: Job, path: Path) -> dict | None:
    """The file's tuning figures, when a search step should try to better it (the file misses its bar on the tuning
    images, or the search is thorough, as for equalising); else None."""
    if job.tuning is None:
        return None
    figures = _figures(job, path)
    return None if job.tuning.within(figures, Q.INT8) and not job.sources.thorough else figures


def _rank(figures: dict) -> tuple[float, float]:
    """How search steps order candidates: agreement on the tuning images, then SQNR."""
    return figures["agreement"], figures["sqnr_db"]


def _better(figures: dict, than: dict) -> bool:
    return _rank(figures) > _rank(than)


def _searched(built: Built, plain: dict, *candidates: dict) -> list:
    """built's search so far (or the file as converted, scored plain) followed by a step's candidates."""
    return [*(built.search or [{"candidate": "as converted", **rounded(plain)}]), *candidates]


def ranged(job: Job, path: Path, built: Built, batch: int | None) -> Built:
    """When the int8 file at path misses its bar on the tuning images: the same conversion's files whose activation
    ranges each rule of export.ranges chose from the calibration images, and a copy of each (the file at path
    included) whose classifier head computes in 16 bits (_widened_tflite); the best (_closest) kept when it agrees
    better on the tuning images. Ranges and head are searched together because they interact: on MobileNetV3Small
    fitted longer, the rule that agreed best alone (mean image extremes) agreed worst with the head. A head is a
    candidate only when it helps (_head_helps). Recorded in search, the rule kept in activation_ranges and the head's
    layers in int16_layers. A quick search leaves the step out, and says so, when its scorings would not fit in
    QUICK_PROBE_SECONDS."""
    plain = _missing(job, path)
    if plain is None:
        return built
    methods = ranges.THOROUGH_METHODS if job.sources.thorough else ranges.METHODS
    # A quick search tries them only when their scorings (each rule, and each file again with the head), each timed
    # like the file's own, fit in QUICK_PROBE_SECONDS: ConvNeXtTiny's int8 file took 14 s a scoring, ResNet50V2's
    # 2.4 s (docs/export.md).
    scorings = 2 * len(methods) + 1
    estimate = scorings * plain["seconds"]
    if not job.sources.thorough and estimate > QUICK_PROBE_SECONDS:
        job.sources.say(f"  {path.name}: other activation ranges and the 16-bit head: not tried, their {scorings} "
                        f"scorings would take about {estimate:.0f} s (--search thorough tries them)")
        return replace(built, search=_searched(built, plain))
    trials = {method: path.with_name(f".{path.stem}.{method.replace(' ', '-')}{path.suffix}") for method in methods}
    heads = {method: path.with_name(f".{path.stem}.{(method or 'as-converted').replace(' ', '-')}.head16{path.suffix}")
             for method in (None, *methods)}
    try:  # the conversion of the file at path (equalised or not) kept its calibrated model (_tflite_writer)
        requantized(_calibrated(job, batch, bool(built.equalized)), trials, job.info)
        scored = {None: plain, **{method: _figures(job, trial) for method, trial in trials.items()}}
        candidates = {(method, None): (trials[method], scored[method]) for method in methods}
        searched = [{"candidate": f"activation ranges: {method}", **rounded(scored[method])} for method in methods]
        for method, head in heads.items():
            layers = _widened_tflite(trials.get(method, path), head)
            if layers is None:  # no head to widen in this model
                break
            figures = _figures(job, head)
            searched.append({"candidate": "16-bit classifier head" + (f", activation ranges: {method}" if method
                                                                       else ""), "layers": layers, **rounded(figures)})
            if _head_helps(figures, scored[method]):
                candidates[(method, tuple(layers))] = (head, figures)
        search = _searched(built, plain, *searched)
        (method, layers), (best, figures) = _closest(candidates)
        if not _better(figures, plain):
            return replace(built, search=search)
        os.replace(best, path)
        return replace(built, search=search, activation_ranges=method, int16_layers=list(layers) if layers else None)
    finally:
        for trial in (*trials.values(), *heads.values()):
            trial.unlink(missing_ok=True)


def _head_helps(head: dict, without: dict) -> bool:
    """Whether a file with a 16-bit head helps over the same file without: it agrees with Keras on more tuning images
    (what it is for is ties; a better SQNR alone does not count)."""
    return head["agreement"] > without["agreement"]


def _closest(candidates: dict) -> tuple:
    """The (key, (path, figures)) of highest SQNR among the candidates that agree with Keras on the tuning images
    within one picture of the most agreeing. One picture of 2,000 is no evidence, and ranged compares up to nine
    candidates: on MobileNetV3Small fitted briefly, the head alone agreed on one tuning picture more than the 99.99th
    percentile with the head (SQNR 26.6 against 27.4 dB), and 0.44 pt less on the 10,000 test pictures."""
    most = max(figures["agreement"] for _, figures in candidates.values())
    close = {key: value for key, value in candidates.items()
             if value[1]["agreement"] >= most - 1 / value[1]["images"] - 1e-9}
    return max(close.items(), key=lambda item: (item[1][1]["sqnr_db"], item[1][1]["agreement"]))


def widened(job: Job, path: Path, built: Built, widen: Callable[[Path], "list[str] | None"]) -> Built:
    """When the int8 file at path misses its bar on the tuning images: a copy whose classifier head computes in 16
    bits (equal int8 logits are most of a briefly fitted network's disagreements), kept when it agrees with Keras on
    more tuning images (not for a better SQNR alone). widen(target) writes that copy and returns the head's layers,
    or None when the model has no such head. Recorded in search, and the head's layers in int16_layers. (A .tflite
    file's head is searched with its activation ranges, in ranged.)"""
    plain = _missing(job, path)
    if plain is None:
        return built
    trial = path.with_name(f".{path.stem}.head16{path.suffix}")
    try:
        layers = widen(trial)
        if layers is None:
            return built
        figures = _figures(job, trial)
        search = _searched(built, plain, {"candidate": "16-bit classifier head", "layers": layers, **rounded(figures)})
        if not _head_helps(figures, plain):
            return replace(built, search=search)
        os.replace(trial, path)
        return replace(built, search=search, int16_layers=layers)
    finally:
        trial.unlink(missing_ok=True)


def _widened_tflite(path: Path, target: Path) -> list[str] | None:
    """The .tflite file at path with its classifier head in 16 bits (logits.widen_head), written at target."""
    content = path.read_bytes()
    model = tflite_file.objects(content)
    layers = logits.widen_head(model)
    if layers is not None:
        write_bytes_atomic(target, pack(model, len(content)))
    return layers


def int16_activations(job: Job, path: Path, built: Built) -> Built:
    """Unless the micro int8 file at path is surely within its bar in TFLM on the tuning images (the agreement's
    95 % interval above it: those images come from the training side, where a file looks better than on the
    validation images; MobileNetV3Small's agreed 98.85 % there and 97.0 % on validation): LiteRT Quantizer's
    integer copies with int16 activations on the most sensitive layers (ranked by the int8 probes; as few as are
    surely within the bar, by bisection; the rest int8), each scored in TFLM, the best kept when it beats the file
    at path. TFLM runs 16x8 kernels for the weighted operators and converts between the two widths with QUANTIZE;
    a candidate in which an operator without an int16 kernel in LiteRT (LEAKY_RELU) fell back to float is not
    kept. The candidates are recorded in search and the layers chosen in int16_layers."""
    if job.tuning is None:
        return built
    tuning = replace(job.tuning, tflm=True, sure=True)
    plain = tuning.figures(path)
    if tuning.within(plain, Q.INT8):
        return built
    equalized = bool(built.equalized)
    source = path.with_name(f".{path.stem}.float32{path.suffix}")
    trial = path.with_name(f".{path.stem}.int16{path.suffix}")
    try:
        to_tflite(job.sources.model(equalized), source, Q.NONE, None, job.info,
                  frozen=job.sources.frozen(1, equalized))
        names = litert.layers(source)

        def rank():
            return [s for s in tflite_probes(job, Q.INT8, path) if s["layer"] in names]

        def build(kept):
            return litert.quantize_tflite(source, trial, litert.TFLitePlan(Q.INT8, int16_layers=tuple(kept)),
                                          job.info, job.calibration)

        # A quick search first scores LiteRT's all-int8 copy, and ranks the layers only when their probes, each
        # timed like that build, fit in QUICK_PROBE_SECONDS (MobileNetV3Small's 54 would take minutes).
        options = {"start": 1} if job.sources.thorough else {"start": 0, "probe_budget": (len(names),
                                                                                      QUICK_PROBE_SECONDS)}
        try:
            keep = greedy(rank, build, Q.INT8, tuning, bisect=True, say=job.sources.say,
                          what=f"{path.name}: layers with int16 activations", **options)
        except Exception as e:  # LiteRT or TFLM failing on a candidate: the int8 file stands, and says why
            return replace(built, search=[*(built.search or []), {"candidate": "int8, in TFLM", **rounded(plain)},
                                          {"candidate": "int16 activations, in TFLM", "error": failure_text(e)}])
        chosen = next((c for c in reversed(keep["search"]) if c["kept"] == list(keep["kept"])), None)
        search = [*(built.search or []), {"candidate": "int8, in TFLM", **rounded(plain)},
                  *({"candidate": "int16 activations, in TFLM", **c} for c in keep["search"])]
        worse = not keep["kept"] or chosen is None or not _better(chosen, plain)
        if worse or not integer_only(trial):  # an operator LiteRT has no int16 kernel for stays float: not for TFLM
            return replace(built, search=search, layers=keep["layers"] or built.layers)
        os.replace(trial, path)  # LiteRT's file, of its own activation ranges: not those ranged may have chosen
        return replace(built, search=search, layers=keep["layers"], int16_layers=list(keep["kept"]),
                       activation_ranges=None)
    finally:
        source.unlink(missing_ok=True)
        trial.unlink(missing_ok=True)


def _tflite_writer(job: Job, mode: Q, batch: int | None):
    def write(equalized: bool, target: Path) -> Path:
        return to_tflite(job.sources.model(equalized), target, mode, job.calibration, job.info,
                         frozen=job.sources.frozen(batch, equalized),
                         calibrated=_calibrated(job, batch, equalized) if mode is Q.INT8 else None)
    return write


def _calibrated(job: Job, batch: int | None, equalized: bool) -> Calibrated:
    """Where the int8 conversion of the model (equalised or not, at this batch) keeps its calibrated model, which
    ranged quantizes again without converting."""
    return job.sources.once(("calibrated", batch, equalized), Calibrated)


def equalising(job: Job, mode: Q, path: Path, write, written: bool = False, always: bool = False) -> Built:
    """The rung's file of the model as trained (write(False, path), unless written already); when its tuning
    figures miss the rung's bar, or the search is thorough or always, also of the model's cross-layer equalised copy
    (write(True, target); export.equalize), kept when its tuning agreement (then SQNR) is higher. Both
    candidates' figures are recorded in search, and the pairs rescaled in equalized when that file is kept."""
    if not written:
        write(False, path)
    if job.tuning is None or not job.sources.equalizable():  # no second candidate: nothing to score the first for
        return Built()
    plain = _figures(job, path)
    if job.tuning.within(plain, mode) and not (job.sources.thorough or always):
        return Built()
    _, pairs = job.sources.equalization()
    if not pairs:
        return Built()
    trial = path.with_name(f".{path.stem}.equalized{path.suffix}")
    try:
        figures = _figures(job, write(True, trial))
        search = [{"candidate": "as trained", **rounded(plain)},
                  {"candidate": "cross-layer equalisation", "pairs": pairs, **rounded(figures)}]
        if not _better(figures, plain):
            return Built(search=search)
        os.replace(trial, path)
        return Built(search=search, equalized=pairs)
    finally:
        trial.unlink(missing_ok=True)


def micro_w4(job: Job, rung: Rung, path: Path) -> Built:
    """A microcontroller's file with packed 4-bit weights, one scale per tensor, int8 activations and integer input
    and output (what TFLM's 4-bit kernels run), by LiteRT Quantizer from the batch-1 float32 file of the model whose
    kernels are clipped to their 4-bit grids with corrected biases (export.clipping); with cross-layer
    equalisation when it scores higher (equalising, always tried: one scale per tensor is what a wide channel hurts
    most)."""
    def four_bit(equalized: bool):
        images = calibration_batch(job.calibration, job.model.input_shape[1:], job.info.preprocessing)
        model, _ = clipping.four_bit(job.sources.model(equalized), images)
        return model, frozen_function(model, 1)

    def write(equalized: bool, target: Path) -> Path:
        model, frozen = job.sources.once(("four-bit", equalized), lambda: four_bit(equalized))
        source = target.with_name(f".{target.stem}.float32.tflite")
        try:
            to_tflite(model, source, Q.NONE, None, job.info, frozen=frozen)
            litert.quantize_tflite(source, target, litert.TFLitePlan(Q.INT4, integer_activations=True), job.info,
                                   job.calibration)
        finally:
            source.unlink(missing_ok=True)
        return target

    return equalising(job, rung.quantization, path, write, always=True)


def litert_16x8(job: Job, rung: Rung, path: Path) -> Built:
    """LiteRT Quantizer's int16 activations and int8 weights (float input and output)."""
    litert.quantize_tflite(job.sources.float32("tflite"), path, litert.TFLitePlan(Q.INT16), job.info,
                           job.calibration)
    return Built()


def litert_narrow(job: Job, rung: Rung, path: Path) -> Built:
    """LiteRT Quantizer's 4-bit or mixed file, keeping the most sensitive layers wider (8 bits for int4,
    float for mixed) only when the file misses the budget on the tuning images."""
    mode, src = rung.quantization, job.sources.float32("tflite")
    probe_mode, kept_as = (Q.INT4, "wide_layers") if mode is Q.INT4 else (Q.INT8, "float_layers")

    def build(kept):
        return litert.quantize_tflite(src, path, litert.TFLitePlan(mode, **{kept_as: kept}), job.info,
                                      job.calibration)

    keep = greedy(lambda: tflite_probes(job, probe_mode, path), build, mode, job.tuning,
                  **search_options(job.sources, len(litert.layers(src)), mode, path))
    return Built(search=keep["search"], layers=keep["layers"], **{kept_as: list(keep["kept"])})


def tflite_probes(job: Job, mode: Quantization, path: Path) -> list[dict]:
    """Per-layer SQNR with only that layer quantized (mode INT8 or INT4), once per export."""
    src = job.sources.float32("tflite")

    def probe(layer, dst):
        return litert.quantize_tflite(src, dst, litert.TFLitePlan(mode, only_layers=(layer,)), job.info,
                                      job.calibration)

    def probes():
        names = list(litert.layers(src))
        return rank_layers(names, probe, path, job.tuning,
                           Steps(job.sources.say, f"{path.name}: {mode.value} layer probes", len(names)))

    return job.sources.once(("tflite probes", mode), probes)


def _onnx_build(job: Job, path: Path):
    src = job.sources.float32("onnx")

    def build(plan, dst=path):
        return onnx_quant.quantize_onnx(src, dst, job.calibration, plan)

    return src, build


def onnx_plain(job: Job, rung: Rung, path: Path) -> Built:
    """onnxruntime's dynamic-range or int16-activation file: nothing to search."""
    _, build = _onnx_build(job, path)
    build(onnx_quant.OnnxPlan(rung.quantization))
    return Built()


def onnx_w4(job: Job, rung: Rung, path: Path) -> Built:
    """4-bit weights: MatMulNBits blocks for a network without convolutions (the largest block within budget on
    the tuning images), else per-channel 4-bit QDQ with the most sensitive layers kept in float."""
    src, build = _onnx_build(job, path)
    if not onnx_quant.has_conv(src):
        plans = [onnx_quant.OnnxPlan(Q.INT4, block_size=b) for b in ONNX_W4_BLOCKS]
        chosen, search = first_within(plans, build, Q.INT4, job.tuning)
        return Built(search=search, block_size=chosen.block_size)
    plan = onnx_quant.OnnxPlan(Q.INT4, per_channel_4bit=True)  # MatMulNBits would leave every Conv in float
    names = list(onnx_quant.layers(src))

    def probes():
        return job.sources.once("onnx int4 probes", lambda: rank_layers(
            names, lambda layer, dst: build(replace(plan, only_layers=(layer,)), dst), path, job.tuning,
            Steps(job.sources.say, f"{path.name}: int4 layer probes", len(names))))

    keep = greedy(probes, lambda kept: build(replace(plan, float_layers=kept)), Q.INT4, job.tuning,
                  **(search_options(job.sources, len(names), Q.INT4, path)
                     | {"what": f"{path.name}: layers kept in float"}))
    return Built(search=keep["search"], layers=keep["layers"], float_layers=list(keep["kept"]))


def _onnx_calibration(job: Job, path: Path):
    """The int8 and mixed rungs' shared calibration method and weight type (a quick search takes the first within
    budget on the tuning images: minmax, the cheapest, with 7-bit int8 weights, the fastest, then with uint8 ones,
    then the histogram methods with 7-bit weights; a thorough one the best of every pair) and their per-layer
    probes."""
    src, build = _onnx_build(job, path)
    minmax, *histograms = onnx_quant.CALIBRATION_METHODS
    seven_bit = onnx_quant.WEIGHT_TYPES[0]
    if job.sources.thorough:
        pairs, pick = list(itertools.product(onnx_quant.CALIBRATION_METHODS, onnx_quant.WEIGHT_TYPES)), best_of
    else:  # past the first only when it was quick: histogram calibration costs several minmax builds
        pairs = [(minmax, w) for w in onnx_quant.WEIGHT_TYPES] + [(m, seven_bit) for m in histograms]

        def pick(plans, build_one, tune):
            return first_within(plans, build_one, Q.INT8, tune, (QUICK_PROBE_SECONDS / HISTOGRAM_COST,
                                                                 job.sources.say,
                                                                 f"{path.name}: other weights and calibration methods"))
    methods = [onnx_quant.OnnxPlan(Q.INT8, method=m, weights=w) for m, w in pairs]
    chosen, search = job.sources.once("onnx calibration", lambda: pick(methods, build, job.tuning))
    names = list(onnx_quant.layers(src))

    def ranked():
        return job.sources.once("onnx probes", lambda: rank_layers(
            names, lambda layer, dst: build(replace(chosen, only_layers=(layer,)), dst), path, job.tuning,
            Steps(job.sources.say, f"{path.name}: int8 layer probes", len(names))))

    return chosen, search, names, ranked, build


def onnx_int8(job: Job, rung: Rung, path: Path) -> Built:
    """Static int8 QDQ with the calibration method chosen on the tuning images."""
    chosen, search, _, ranked, build = _onnx_calibration(job, path)

    def write(equalized: bool, target: Path) -> Path:
        return onnx_quant.quantize_onnx(job.sources.float32("onnx", equalized), target, job.calibration, chosen)

    # The mixed rung may have run the search first: its file then went to the mixed path.
    equalizing = equalising(job, Q.INT8, path, write, written=path.exists())

    def widen(target: Path) -> list[str] | None:  # the logits and softmax in com.microsoft's 16-bit Q/DQ
        source = job.sources.float32("onnx", bool(equalizing.equalized))
        head = logits.onnx_head(source)
        if head is not None:
            onnx_quant.quantize_onnx(source, target, job.calibration, replace(chosen, wide_head=True))
        return head

    built = widened(job, path, Built(search=search + (equalizing.search or []), calibration_method=chosen.method,
                                     weight_type=chosen.weights, equalized=equalizing.equalized), widen)
    return replace(built, layers=ranked()) if job.sources.thorough else built


def onnx_mixed(job: Job, rung: Rung, path: Path) -> Built:
    """int8 with the most sensitive layers kept in float, as few as bring the file within budget."""
    chosen, _, names, ranked, build = _onnx_calibration(job, path)
    keep = greedy(ranked, lambda kept: build(replace(chosen, quantization=Q.MIXED, float_layers=kept)), Q.MIXED,
                  job.tuning, **search_options(job.sources, len(names), Q.MIXED, path))
    return Built(search=keep["search"], layers=keep["layers"], float_layers=list(keep["kept"]),
                 calibration_method=chosen.method, weight_type=chosen.weights)


# --- the table --------------------------------------------------------------------------------------------

_SKIP = smaller_or_cannot_shrink
RUNGS = (
    Rung("fp32", "model_fp32.tflite", "tflite", Q.NONE, copy_float32, TFLITE_CONVERTER, standard=True),
    Rung("fp16", "model_fp16.tflite", "tflite", Q.FLOAT16, tflite_converter, TFLITE_CONVERTER, standard=True),
    Rung("dynamic", "model_dynamic.tflite", "tflite", Q.DYNAMIC, tflite_converter, TFLITE_CONVERTER, standard=True),
    Rung("int8", "model_int8.tflite", "tflite", Q.INT8, tflite_converter, TFLITE_CONVERTER, standard=True,
         probed_by=LITERT_QUANTIZER, cost=2),
    Rung("onnx", "model.onnx", "onnx", Q.NONE, copy_float32, TF2ONNX, standard=True),
    Rung("onnx-int8", "model_int8.onnx", "onnx", Q.INT8, onnx_int8, ORT_QUANTIZATION, standard=True, cost=2),
    # The additional rungs, smallest first: a rung is skipped once a file of its size class has passed.
    Rung("w4", "model_w4.tflite", "tflite", Q.INT4, litert_narrow, LITERT_QUANTIZER, skip=_SKIP, cost=8,
         probes_cost=5.5),
    Rung("onnx-w4", "model_w4.onnx", "onnx", Q.INT4, onnx_w4, ORT_QUANTIZATION, skip=_SKIP, cost=4,
         probes_cost=2.5),
    Rung("onnx-dynamic", "model_dynamic.onnx", "onnx", Q.DYNAMIC, onnx_plain, ORT_QUANTIZATION, skip=_SKIP, cost=2),
    Rung("16x8", "model_16x8.tflite", "tflite", Q.INT16, litert_16x8, LITERT_QUANTIZER, skip=_SKIP, cost=2),
    Rung("onnx-int16", "model_int16.onnx", "onnx", Q.INT16, onnx_plain, ORT_QUANTIZATION, skip=_SKIP, cost=2),
    Rung("mixed", "model_mixed.tflite", "tflite", Q.MIXED, litert_narrow, LITERT_QUANTIZER, skip=_SKIP, cost=8,
         probes_cost=5.5),
    Rung("onnx-mixed", "model_mixed.onnx", "onnx", Q.MIXED, onnx_mixed, ORT_QUANTIZATION, skip=_SKIP, cost=6,
         probes_cost=4.5),
    # --micro: a full-integer file for TensorFlow Lite Micro, its 16x8 sibling when int8 misses the budget, and
    # packed 4-bit weights unless a file as narrow passed.
    Rung("micro-int8", "model_micro_int8.tflite", "tflite", Q.INT8, micro_converter, TFLITE_CONVERTER,
         standard=True, micro=True, cost=10),
    Rung("micro-16x8", "model_micro_16x8.tflite", "tflite", Q.INT16, micro_converter, TFLITE_CONVERTER,
         micro=True, skip=_SKIP, cost=10),
    Rung("micro-w4", "model_micro_w4.tflite", "tflite", Q.INT4, micro_w4, LITERT_QUANTIZER, micro=True, skip=_SKIP,
         cost=10),
)
HOST_RUNGS = tuple(r for r in RUNGS if not r.micro)  # the whole ladder
MICRO_RUNGS = tuple(r for r in RUNGS if r.micro)  # what --micro adds


def modes_of(tool: str) -> tuple[Quantization, ...]:
    """The quantization modes the rungs ask a tool for (building or probing with it), narrowest last: what the
    converter's own function accepts."""
    asked = {r.quantization for r in RUNGS if tool in (r.tool, r.probed_by)}
    return tuple(mode for mode in Quantization if mode in asked)


def check_mode(tool: str, mode: Quantization, message: str) -> None:
    """Raise ValueError(message) when no rung asks tool for mode; message may name {modes} ("a, b, c"),
    {modes_in_words} ("a, b and c") and {got} (the mode given, quoted)."""
    allowed = modes_of(tool)
    modes = [m.value for m in allowed]
    if mode not in allowed:
        in_words = f"{', '.join(modes[:-1])} and {modes[-1]}" if len(modes) > 1 else modes[0]
        raise ValueError(message.format(modes=", ".join(modes), modes_in_words=in_words, got=repr(mode.value)))
