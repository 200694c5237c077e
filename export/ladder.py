"""The searches that build each rung of the ladder well (export/rungs.py's builders call them), and what the
rungs of one export share.

Every rung is a real file built by a real tool. Where a rung has choices (the calibration
method, the 4-bit block size, which layers stay wider or in float), the candidates are built and
scored on the tuning images, drawn from the calibration side of the data, never on the
validation images that the manifest's figures come from.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np

from edgeport import runtime
from edgeport.export import litert, onnx_quant
from edgeport.export.common import ExportError, Quantization, frozen_function
from edgeport.export.equalize import equalized
from edgeport.export.intervals import agreement_interval
from edgeport.export.onnx import to_onnx
from edgeport.export.tflite import to_tflite
from edgeport.export.verdict import inside, misses
from edgeport.runtime.modelinfo import ModelInfo

if TYPE_CHECKING:
    from edgeport.export.plan import ExportPlan
    from edgeport.export.rungs import Rung

Q = Quantization

# A layer whose probe reaches this signal-to-noise ratio costs nothing worth keeping it wide for.
MAX_USEFUL_SQNR_DB = 60.0
ONNX_W4_BLOCKS = (128, 64, 32, 16)  # largest block (smallest file) first
# A quick search probes a rung's layers one by one only when the probes, each timed like the rung's first
# build, fit in this many seconds: a small network's few layers always do, a deep one's are left out.
QUICK_PROBE_SECONDS = 30.0
# Probes rank layers by output SQNR: a few hundred tuning images tell the order apart (the searches'
# verdicts use all of them).
PROBE_IMAGES = 500
# Entropy and percentile calibration build histograms of every activation: together, an estimated four
# minmax builds (on EfficientNetB0 64x64 the int8 ONNX rung took 60 s with all three methods).
HISTOGRAM_COST = 4.0


@dataclass(frozen=True)
class Tuning:
    """Calibration-side images that candidates are scored on: labels and the Keras probabilities."""

    images: np.ndarray
    labels: np.ndarray
    reference: np.ndarray
    plan: "ExportPlan"
    tflm: bool = False  # score candidates in TensorFlow Lite Micro (a microcontroller's files), not the runtime
    # within its bar only when the agreement's 95 % interval on these images lies above the bar: tuning images
    # from the training side flatter a file (the model fitted them), and the validation images judge it
    sure: bool = False

    def figures(self, path: Path) -> dict:
        """Agreement, accuracy change and output SQNR of a candidate file on the tuning images, and the seconds its
        scoring took (what a quick search prices the next candidates by)."""
        started = time.perf_counter()
        probabilities = self.predictor(path).predict(self.images)
        return self.figures_of(probabilities) | {"seconds": time.perf_counter() - started}

    def predictor(self, path: Path):
        """What scores a candidate: the runtime's predictor, or TFLM's for a microcontroller's file."""
        if self.tflm:
            from edgeport.export import micro  # micro imports the ladder's neighbours: here, only when used

            return micro.tflm_predictor(path, micro.roomy_arena(path))
        # LiteRT runs one thread unless told (onnxruntime takes every core): a TFLite candidate is scored on every
        # core, while the validation worker mostly waits for the next file (the CNN's 4-bit file, which XNNPACK
        # does not take, ran at 737 us per image on one thread and 328 on two).
        return runtime.load(path, threads=os.cpu_count() if Path(path).suffix == ".tflite" else None, verify=False)

    def figures_of(self, probs: np.ndarray) -> dict:
        """The figures of a candidate's probabilities on the first len(probs) tuning images (images: how many)."""
        count = len(probs)
        predicted, expected, labels = probs.argmax(1), self.reference[:count].argmax(1), self.labels[:count]
        return {"agreement": float(np.mean(predicted == expected)),
                "accuracy_change": float(np.mean(predicted == labels) - np.mean(expected == labels)),
                "sqnr_db": sqnr_db(self.reference[:count], probs), "images": count}

    def head(self, count: int) -> "Tuning":
        """The first count tuning images: enough to rank layers by SQNR, a fraction of the cost."""
        return replace(self, images=self.images[:count], labels=self.labels[:count], reference=self.reference[:count])

    def within(self, figures: dict, mode: Quantization) -> bool:
        """Whether a candidate's tuning figures meet its bar and the budget."""
        bar = replace(self.plan.bar_for(mode), max_abs_diff=None)
        if self.sure:
            count = figures["images"]
            agreeing = round(figures["agreement"] * count)
            figures = figures | {"agreement_interval": agreement_interval(agreeing, count)}
            if not inside(SimpleNamespace(**figures), bar):
                return False
        return not misses(SimpleNamespace(**figures), bar)


def sqnr_db(reference: np.ndarray, output: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio of output against reference, in dB (capped at 120)."""
    noise = float(np.sum((np.asarray(output, np.float64) - reference) ** 2))
    signal = float(np.sum(np.asarray(reference, np.float64) ** 2))
    return 120.0 if noise <= signal * 1e-12 else float(10 * np.log10(signal / noise))


class Sources:
    """What the rungs of one export share, built once in a scratch folder: the model's frozen function, the
    float32 file of each format, and what the searches learn (probes, the ONNX calibration method).

    Attributes:
        thorough: search every candidate and probe every int8 file (plan.search == "thorough").
        say: the export's progress callback.
    """

    def __init__(self, model, folder: Path, opset: int, info: ModelInfo, search: str = "quick", say=None):
        self._model, self._folder, self._opset, self._info = model, folder, opset, info
        self.thorough, self.say = search == "thorough", say or (lambda line: None)
        self._paths: dict[tuple, Path] = {}
        self._known: dict = {}

    def once(self, key, compute):
        """compute() the first time key is asked for; its result after that."""
        if key not in self._known:
            self._known[key] = compute()
        return self._known[key]

    def frozen(self, batch: int | None = None, equalized: bool = False):
        """The model's frozen inference function, traced once for every conversion of the export (batch: a
        fixed batch size, for a microcontroller's file; equalized: of the cross-layer equalised copy)."""
        return self.once(("frozen", batch, equalized), lambda: frozen_function(self.model(equalized), batch))

    def model(self, equalized: bool = False):
        """The Keras model, or its cross-layer equalised copy (export.equalize; the model itself when it has no
        pair to equalise)."""
        return self.equalization()[0] if equalized else self._model

    def equalization(self) -> tuple[object, list[str]]:
        """The model's cross-layer equalised copy and the pairs it rescaled, computed once."""
        return self.once("equalized", lambda: equalized(self._model))

    def weighted_layers(self) -> int:
        """How many of the model's layers have a kernel (convolutions, dense layers): the probes a search runs."""
        from edgeport.export.modelfacts import all_layers

        return self.once("weighted", lambda: sum(hasattr(layer, "kernel") or hasattr(layer, "depthwise_kernel")
                                                 for layer in all_layers(self._model)))

    def equalizable(self) -> bool:
        """Whether the model has a pair of layers cross-layer equalisation may rescale (export.equalize); cheaper
        than its equalised copy. ConvNeXtTiny, DenseNet121, EfficientNetB0 and ResNet50V2 have none."""
        from edgeport.export.equalize import weighted_pairs

        return self.once("equalizable", lambda: bool(weighted_pairs(self._model)))

    def converted(self, fmt: str) -> bool:
        """Whether the float32 file of a format is already converted (asking for it would not convert it)."""
        return isinstance(self._paths.get((fmt, False)), Path)

    def float32(self, fmt: str, equalized: bool = False) -> Path:
        """The float32 file of a format (of the equalised copy, with equalized), converted once; a conversion
        that failed fails again at once."""
        key = (fmt, equalized)
        if key not in self._paths:
            self._folder.mkdir(exist_ok=True)
            path = self._folder / f"float32{'.equalized' if equalized else ''}.{fmt}"
            model, frozen = self.model(equalized), self.frozen(equalized=equalized)
            try:
                if fmt == "tflite":
                    to_tflite(model, path, Quantization.NONE, None, self._info, frozen=frozen)
                else:
                    to_onnx(model, path, self._opset, self._info, frozen=frozen)
                self._paths[key] = path
            except ExportError as e:  # every rung of the format needs this file: say why once, fail each
                self._paths[key] = e
        if isinstance(self._paths[key], ExportError):
            raise self._paths[key]
        return self._paths[key]


class Steps:
    """Progress of a long search: a line at most every few seconds, with an estimate of the time left."""

    EVERY_S = 10.0

    def __init__(self, say, what: str, total: int):
        self._say, self._what, self._total = say, what, total
        self._started = self._last = time.perf_counter()

    def done(self, count: int) -> None:
        now = time.perf_counter()
        if count >= self._total or now - self._last < self.EVERY_S:
            return
        self._last = now
        left = (now - self._started) / count * (self._total - count)
        self._say(f"  {self._what}: {count} of {self._total} done, about {left:.0f} s left")


def cannot_shrink(target: "Rung", sources: Sources, plan: "ExportPlan") -> str | None:
    """Why target's file could not meet the size bar, estimated before it is built; None when it could.

    The estimate keeps everything outside the weighted layers (Conv, Dense...) as float32 and
    narrows those layers' weights to the rung's bits; ONNX's 4-bit blocks (MatMulNBits, for a
    network without convolutions) take MatMul weights alone.
    """
    mode = target.quantization
    if mode.bits > 8:
        return None
    src = sources.float32(target.format)
    blocks = target.format == "onnx" and mode is Q.INT4 and not sources.once("conv", lambda: onnx_quant.has_conv(src))
    read = onnx_quant.matmul_weights if blocks else litert.layer_weights if target.format == "tflite" \
        else onnx_quant.layer_weights
    # Read once per export: every additional rung of a format asks.
    narrowed = sources.once(("weight bytes", target.format, blocks),
                            lambda: sum(w.nbytes for w in read(src).values()))
    total = src.stat().st_size
    estimate = total - narrowed * (1 - mode.bits / 32)
    limit = plan.size_ratio * total + plan.size_allowance_bytes
    if estimate <= limit:
        return None
    return (f"cannot shrink below the size bar: {100 * narrowed / total:.0f} % of the float32 file is weights it "
            f"narrows to {mode.bits} bits, which leaves about {100 * estimate / total:.0f} % "
            f"(bar {100 * plan.size_ratio:.0f} % + {plan.size_allowance_bytes // 1024} KiB)")


def search_options(sources: Sources, layers: int, mode: Quantization, path: Path) -> dict:
    """How greedy searches a rung. Thorough: probes, then one more layer kept at a time (a mixed file
    keeps at least one layer in float). Quick: every layer narrow first, probes only when they fit in
    QUICK_PROBE_SECONDS, then a bisection over how many layers to keep."""
    kind = "in 8 bits" if mode is Q.INT4 else "in float"
    options = {"say": sources.say, "what": f"{path.name}: layers kept {kind}"}
    if sources.thorough:
        return options | {"start": 0 if mode is Q.INT4 else 1}
    return options | {"start": 0, "bisect": True, "probe_budget": (layers, QUICK_PROBE_SECONDS)}


def rank_layers(names: list[str], build_probe, path: Path, tuning: Tuning | None, steps: Steps | None = None
                ) -> list[dict]:
    """Per-layer sensitivity: the output SQNR when each layer alone is quantized, lowest (most sensitive) first.

    Args:
        names: the file's weighted layers.
        build_probe: (layer, path) -> writes a file in which only that layer is quantized.
        path: where the rung will go; probes are written beside it and removed.
        steps: told of each probe done (progress with the time left).
    """
    if tuning is None:
        return []
    tuning = tuning.head(PROBE_IMAGES)
    probe = path.with_name(f".probe-{path.name}")
    scores = []
    try:
        for order, layer in enumerate(names):
            build_probe(layer, probe)
            scores.append({"layer": layer, "order": order, "sqnr_db": round(tuning.figures(probe)["sqnr_db"], 2)})
            if steps is not None:
                steps.done(order + 1)
    finally:
        probe.unlink(missing_ok=True)
    return sorted(scores, key=lambda s: (s["sqnr_db"], s["order"]))


def greedy(rank, build, mode: Quantization, tuning: Tuning | None, start: int, bisect: bool = False, say=None,
           what: str = "", probe_budget: tuple[int, float] | None = None) -> dict:
    """Keep the most sensitive layers out of the narrow type, as few as put the file within budget.

    Takes the smallest count of kept layers whose tuning figures are within the bar: trying one more
    at a time, or by bisection (a few builds whatever the depth, taking the error to shrink as
    layers are kept). When none is within, keeps the count with the best agreement. At most all
    layers but one are kept (all of them would be the float file again), and a layer whose probe
    costs nothing (SQNR >= 60 dB) is not kept.

    Args:
        rank: () -> the layers, most sensitive first ({"layer", "sqnr_db"}), called only when a layer
            must be kept: a file within budget with none kept (start=0) needs no ranking.
        build: (kept layers) -> the path of the file built with them.
        start: the fewest layers to keep (0: try the file with every layer narrow first).
        probe_budget: (layers, seconds): with start=0, rank only when that many probes, each timed
            like the first build and its scoring, fit in the seconds; else the first file is the rung's,
            scored on the first PROBE_IMAGES tuning images only (_scored_within_budget).

    Returns:
        {"kept": layers kept, "search": [{"kept", tuning figures}], "layers": the ranking, [] when
        none was needed} (the file at the rung's path is the chosen one).
    """
    search, built = [], [None]

    def attempt(kept: tuple, budget: tuple[int, float] | None = None) -> tuple[bool, float, float | None]:
        """Build and score a candidate, with budget as _scored_within_budget scores it: (within, agreement, the
        probes' estimated seconds when they would not fit in budget)."""
        started = time.perf_counter()
        path, built[0] = build(kept), kept
        figures, over = _scored_within_budget(path, started, tuning, budget) if budget else (tuning.figures(path),
                                                                                             None)
        search.append({"kept": list(kept), **rounded(figures)})
        return tuning.within(figures, mode), figures["agreement"], over

    best = None
    if start == 0:
        if tuning is None:
            build(())
            return {"kept": (), "search": [], "layers": []}
        within, agreement, over = attempt((), probe_budget)
        if over is not None:  # the probes would not fit: the file with every layer narrow is the rung's
            if not within:
                (say or (lambda line: None))(
                    f"  {what.split(':')[0]}: missed the budget on {search[-1]['images']:,} tuning images with no "
                    f"layer kept; {probe_budget[0]} layer probes would take about {over:.0f} s: not run "
                    f"(--search thorough runs them)")
            return {"kept": (), "search": search, "layers": []}
        if within:
            return {"kept": (), "search": search, "layers": []}
        best = ((), agreement)
    ranked = rank()
    useful = [s["layer"] for s in ranked if s["sqnr_db"] < MAX_USEFUL_SQNR_DB]
    counts = list(range(max(start, 1), max(start, min(len(useful), len(ranked) - 1)) + 1))
    if tuning is None:
        kept = tuple(useful[:counts[0]]) if counts else ()
        build(kept)
        return {"kept": kept, "search": [], "layers": ranked}
    order = _bisection(len(counts)) if bisect else iter(range(len(counts)))
    steps = Steps(say or (lambda line: None), what, max(1, len(counts).bit_length() if bisect else len(counts)))
    chosen, index, done = None, next(order, None), 0
    while index is not None:
        kept = tuple(useful[:counts[index]])
        within, agreement, _ = attempt(kept)
        if within and (chosen is None or len(kept) < len(chosen)):
            chosen = kept
        if best is None or agreement > best[1]:
            best = (kept, agreement)
        done += 1
        steps.done(done)
        if within and not bisect:
            break
        index = _tell(order, within) if bisect else next(order, None)
    chosen = chosen if chosen is not None else best[0]
    if built[0] != chosen:
        build(chosen)
    return {"kept": chosen, "search": search, "layers": ranked}


def _scored_within_budget(path: Path, started: float, tuning: Tuning, budget: tuple[int, float]
                          ) -> tuple[dict, float | None]:
    """A quick search's first file (at path, its build begun at started), scored for a search that goes on (probes
    its layers, tries other methods) only when budget's (count, seconds) hold that many more builds, each timed
    like this one with its scoring on every tuning image: (its figures, None) when they fit; (its figures on the
    first PROBE_IMAGES tuning images, the estimated seconds) when they do not. The search then keeps this file
    whatever its figures say, so scoring it on the rest would buy only a more exact record (ResNet50V2's 4-bit
    TFLite file took 35 s for its 2,000 tuning images); the estimate extrapolates the first images' pace to all."""
    predictor = tuning.predictor(path)
    building = time.perf_counter() - started
    head = predictor.predict(tuning.images[:PROBE_IMAGES])
    scoring = (time.perf_counter() - started - building) * len(tuning.labels) / len(head)
    count, seconds = budget
    estimate = count * (building + scoring)
    if estimate > seconds:
        return tuning.figures_of(head), estimate
    rest = predictor.predict(tuning.images[len(head):]) if len(head) < len(tuning.labels) else head[:0]
    return tuning.figures_of(np.concatenate([head, rest])), None


def _bisection(count: int):
    """Indices 0..count-1 to try, bisecting for the first that is within; send() each result."""
    low, high = 0, count - 1
    while low <= high:
        middle = (low + high) // 2
        within = yield middle
        if within:
            high = middle - 1
        else:
            low = middle + 1


def _tell(order, within: bool):
    """The bisection's next index after telling it the last result; None when it is done."""
    try:
        return order.send(within)
    except StopIteration:
        return None


def first_within(plans: list, build, mode: Quantization, tuning: Tuning | None, budget=None):
    """The first plan (the smallest file first) within the bar on the tuning images, else the best agreement.

    budget: (seconds, say, what): go past the first plan only when it took at most seconds to build
    and score; else keep it, and say so.
    """
    search, best = [], None
    for index, plan in enumerate(plans):
        started = time.perf_counter()
        path = build(plan)
        if tuning is None:
            return plan, []
        if index == 0 and budget is not None:  # the others only when the first's build and scoring fit
            figures, first_seconds = _scored_within_budget(path, started, tuning, (1, budget[0]))
        else:
            figures, first_seconds = tuning.figures(path), None
        search.append({"plan": _plan_record(plan), "bytes": path.stat().st_size, **rounded(figures)})
        if tuning.within(figures, mode):
            return plan, search
        if first_seconds is not None:
            budget[1](f"  {budget[2]}: not tried, the first took about {first_seconds:.0f} s (--search thorough "
                      f"tries them)")
            return plan, search
        if best is None or figures["agreement"] > best[1]:
            best = (plan, figures["agreement"])
    if best[0] is not plans[len(search) - 1]:
        build(best[0])
    return best[0], search


def best_of(plans: list, build, tuning: Tuning | None):
    """The plan with the best tuning agreement (then SQNR), all files being the same size."""
    if tuning is None:
        build(plans[0])
        return plans[0], []
    search, best = [], None
    for plan in plans:
        figures = tuning.figures(build(plan))
        search.append({"plan": _plan_record(plan), **rounded(figures)})
        if best is None or (figures["agreement"], figures["sqnr_db"]) > best[1]:
            best = (plan, (figures["agreement"], figures["sqnr_db"]))
    if best[0] is not plans[-1]:
        build(best[0])
    return best[0], search


def _plan_record(plan) -> dict:
    if plan.quantization is Q.INT4:
        return {"block_size": plan.block_size}
    return {"method": plan.method, "weights": plan.weights}


def rounded(figures: dict) -> dict:
    return {"agreement": round(figures["agreement"], 5), "accuracy_change": round(figures["accuracy_change"], 5),
            "sqnr_db": round(figures["sqnr_db"], 2), "images": figures["images"]}


def integer_only(path: Path) -> bool:
    """Whether a file computes in integers only: what an NPU or a microcontroller needs.

    TFLite: no tensor of the file is floating-point (export.tflite.with_metadata lets SHAPE read an
    integer input where the quantizer had made a float copy for it). ONNX (QDQ): every operator other than
    Quantize/DequantizeLinear and data movement (Reshape, Transpose...) reads its floating-point inputs from a DequantizeLinear, so an
    integer engine can fuse each one into an integer kernel.
    """
    if path.suffix == ".tflite":
        return _tflite_integer_only(path)
    import onnx

    graph = onnx.load(str(path)).graph
    integers = {t.name for t in graph.initializer if t.data_type not in _ONNX_FLOATS}
    dequantized = {n.output[0] for n in graph.node if n.op_type == "DequantizeLinear"}
    compute = [n for n in graph.node if n.op_type not in _ONNX_NOT_COMPUTE]
    return bool(compute) and any(n.op_type == "QuantizeLinear" for n in graph.node) and all(
        name in dequantized or name in integers or not name for n in compute for name in n.input)


def _tflite_integer_only(path: Path) -> bool:
    """No tensor of any subgraph is floating-point: what TFLM's integer kernels and an NPU can run whole."""
    from edgeport.runtime import tflite_file

    schema, model = tflite_file.schema(), tflite_file.objects(path)
    floats = {schema.TensorType.FLOAT32, schema.TensorType.FLOAT16, schema.TensorType.FLOAT64,
              schema.TensorType.BFLOAT16}
    return all(tensor.type not in floats for graph in model.subgraphs for tensor in graph.tensors)


_ONNX_FLOATS = (1, 10, 11, 16)  # FLOAT, FLOAT16, DOUBLE, BFLOAT16
_ONNX_NOT_COMPUTE = ("QuantizeLinear", "DequantizeLinear", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze",
                     "Identity")
