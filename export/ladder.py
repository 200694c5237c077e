"""The rungs of the quantization ladder, and the searches that build each one well.

Every rung is a real file built by a real tool. Where a rung has choices (the calibration
method, the 4-bit block size, which layers stay wider or in float), the candidates are built and
scored on the tuning images, drawn from the calibration side of the data, never on the
validation images that the manifest's figures come from.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from edgeport import runtime
from edgeport.export import litert, onnx_quant
from edgeport.export.common import Quantization
from edgeport.export.onnx import to_onnx
from edgeport.export.tflite import to_tflite
from edgeport.export.plan import ExportPlan, Target
from edgeport.export.validate import check_bar
from edgeport.runtime.modelinfo import ModelInfo

Q = Quantization

# A layer whose probe reaches this signal-to-noise ratio costs nothing worth keeping it wide for.
MAX_USEFUL_SQNR_DB = 60.0
ONNX_W4_BLOCKS = (128, 64, 32, 16)  # largest block (smallest file) first


@dataclass(frozen=True)
class Tuning:
    """Calibration-side images that candidates are scored on: labels and the Keras probabilities."""

    images: np.ndarray
    labels: np.ndarray
    reference: np.ndarray
    plan: ExportPlan

    def figures(self, path: Path) -> dict:
        """Agreement, accuracy change and output SQNR of a candidate file on the tuning images."""
        probs = runtime.load(path, verify=False).predict(self.images)
        predicted, expected = probs.argmax(1), self.reference.argmax(1)
        return {"agreement": float(np.mean(predicted == expected)),
                "accuracy_change": float(np.mean(predicted == self.labels) - np.mean(expected == self.labels)),
                "sqnr_db": sqnr_db(self.reference, probs)}

    def within(self, figures: dict, mode: Quantization) -> bool:
        """Whether a candidate's tuning figures meet its bar and the budget."""
        bar = replace(self.plan.bar_for(mode), max_abs_diff=None)
        return not check_bar("", SimpleNamespace(**figures), bar)


def sqnr_db(reference: np.ndarray, output: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio of output against reference, in dB (capped at 120)."""
    noise = float(np.sum((np.asarray(output, np.float64) - reference) ** 2))
    signal = float(np.sum(np.asarray(reference, np.float64) ** 2))
    return 120.0 if noise <= signal * 1e-12 else float(10 * np.log10(signal / noise))


class Sources:
    """The float32 files every quantized rung starts from, built once per export in a scratch folder,
    and what rungs share about them (the int8 probes and calibration method serve int8 and mixed)."""

    def __init__(self, model, folder: Path, opset: int, info: ModelInfo):
        self._model, self._folder, self._opset, self._info = model, folder, opset, info
        self._paths: dict[str, Path] = {}
        self._known: dict = {}

    def once(self, key, compute):
        """compute() the first time key is asked for; its result after that."""
        if key not in self._known:
            self._known[key] = compute()
        return self._known[key]

    def float32(self, fmt: str) -> Path:
        if fmt not in self._paths:
            self._folder.mkdir(exist_ok=True)
            path = self._folder / f"float32.{fmt}"
            if fmt == "tflite":
                to_tflite(self._model, path, Quantization.NONE, None, self._info)
            else:
                to_onnx(self._model, path, self._opset, self._info)
            self._paths[fmt] = path
        return self._paths[fmt]


def build_target(target: Target, path: Path, model, sources: Sources, info: ModelInfo, calibration,
                 tuning: Tuning | None) -> dict:
    """Write target's file at path; returns what the manifest records about how it was built.

    The record may hold: search (the candidates tried, with their tuning figures), layers
    (per-layer SQNR of the probes, most sensitive first), float_layers, wide_layers,
    calibration_method, block_size.
    """
    mode = target.quantization
    if mode is Q.NONE:
        shutil.copyfile(sources.float32(target.format), path)
        return {}
    if target.format == "tflite" and mode in (Q.FLOAT16, Q.DYNAMIC, Q.INT8):
        to_tflite(model, path, mode, calibration if mode is Q.INT8 else None, info)
        if mode is not Q.INT8:
            return {}
        # Per-layer error of int8, probed with LiteRT Quantizer (TFLiteConverter cannot quantize one layer alone).
        return {"layers": _tflite_probes(Q.INT8, path, sources, info, calibration, tuning)}
    if target.format == "tflite":
        return _tflite_rung(mode, path, sources, info, calibration, tuning)
    return _onnx_rung(mode, path, sources, calibration, tuning)


def _tflite_probes(mode, path, sources, info, calibration, tuning) -> list[dict]:
    """Per-layer SQNR with only that layer quantized (mode INT8 or INT4), once per export."""
    src = sources.float32("tflite")

    def probe(layer, dst):
        return litert.quantize_tflite(src, dst, litert.TFLitePlan(mode, only_layers=(layer,)), info, calibration)

    return sources.once(("tflite probes", mode), lambda: rank_layers(list(litert.layers(src)), probe, path, tuning))


def _tflite_rung(mode, path, sources, info, calibration, tuning) -> dict:
    src = sources.float32("tflite")

    def build(plan, dst=path):
        return litert.quantize_tflite(src, dst, plan, info, calibration)

    if mode is Q.INT16:
        build(litert.TFLitePlan(Q.INT16))
        return {}
    ranked = _tflite_probes(Q.INT4 if mode is Q.INT4 else Q.INT8, path, sources, info, calibration, tuning)
    if mode is Q.INT4:
        keep = greedy(ranked, lambda kept: build(litert.TFLitePlan(Q.INT4, wide_layers=kept)), mode, tuning, start=0)
        return {"layers": ranked, "wide_layers": list(keep["kept"]), "search": keep["search"]}
    keep = greedy(ranked, lambda kept: build(litert.TFLitePlan(Q.MIXED, float_layers=kept)), mode, tuning, start=1)
    return {"layers": ranked, "float_layers": list(keep["kept"]), "search": keep["search"]}


def _onnx_rung(mode, path, sources, calibration, tuning) -> dict:
    src = sources.float32("onnx")

    def build(plan, dst=path):
        return onnx_quant.quantize_onnx(src, dst, calibration, plan)

    if mode in (Q.DYNAMIC, Q.INT16):
        build(onnx_quant.OnnxPlan(mode))
        return {}
    if mode is Q.INT4:
        plans = [onnx_quant.OnnxPlan(Q.INT4, block_size=b) for b in ONNX_W4_BLOCKS]
        chosen, search = first_within(plans, build, mode, tuning)
        return {"block_size": chosen.block_size, "search": search}
    # The int8 rung and the mixed rung share the calibration method and the probes.
    methods = [onnx_quant.OnnxPlan(Q.INT8, method=m) for m in onnx_quant.CALIBRATION_METHODS]
    chosen, search = sources.once("onnx calibration", lambda: best_of(methods, build, tuning))
    names = list(onnx_quant.layers(src))
    ranked = sources.once("onnx probes", lambda: rank_layers(
        names, lambda layer, dst: build(replace(chosen, only_layers=(layer,)), dst), path, tuning))
    if mode is Q.INT8:
        if not path.exists():  # the mixed rung ran the search first: its file went to the mixed path
            build(chosen)
        return {"calibration_method": chosen.method, "search": search, "layers": ranked}
    keep = greedy(ranked, lambda kept: build(replace(chosen, quantization=Q.MIXED, float_layers=kept)), mode, tuning,
                  start=1)
    return {"layers": ranked, "float_layers": list(keep["kept"]), "calibration_method": chosen.method,
            "search": keep["search"]}


def rank_layers(names: list[str], build_probe, path: Path, tuning: Tuning | None) -> list[dict]:
    """Per-layer sensitivity: the output SQNR when each layer alone is quantized, lowest (most sensitive) first.

    Args:
        names: the file's weighted layers.
        build_probe: (layer, path) -> writes a file in which only that layer is quantized.
        path: where the rung will go; probes are written beside it and removed.
    """
    if tuning is None:
        return []
    probe = path.with_name(f".probe-{path.name}")
    scores = []
    try:
        for order, layer in enumerate(names):
            build_probe(layer, probe)
            scores.append({"layer": layer, "order": order, "sqnr_db": round(tuning.figures(probe)["sqnr_db"], 2)})
    finally:
        probe.unlink(missing_ok=True)
    return sorted(scores, key=lambda s: (s["sqnr_db"], s["order"]))


def greedy(ranked: list[dict], build, mode: Quantization, tuning: Tuning | None, start: int) -> dict:
    """Keep the most sensitive layers out of the narrow type one more at a time, until the file is within budget.

    Stops at the first count whose tuning figures are within the bar; when none is, keeps the
    count with the best agreement. At most all layers but one are kept (all of them would be
    the float file again), and a layer whose probe costs nothing (SQNR >= 60 dB) is not kept.

    Returns:
        {"kept": layers kept, "search": [{"kept", tuning figures}]} (the file at the rung's path
        is the chosen one).
    """
    useful = [s["layer"] for s in ranked if s["sqnr_db"] < MAX_USEFUL_SQNR_DB]
    counts = range(start, max(start, min(len(useful), len(ranked) - 1)) + 1)
    search, best = [], None
    for count in counts:
        kept = tuple(useful[:count])
        path = build(kept)
        if tuning is None:
            return {"kept": kept, "search": []}
        figures = tuning.figures(path)
        search.append({"kept": list(kept), **_rounded(figures)})
        if tuning.within(figures, mode):
            return {"kept": kept, "search": search}
        if best is None or figures["agreement"] > best[1]:
            best = (kept, figures["agreement"])
    if best[0] != tuple(search[-1]["kept"]):
        build(best[0])
    return {"kept": best[0], "search": search}


def first_within(plans: list, build, mode: Quantization, tuning: Tuning | None):
    """The first plan (the smallest file first) within the bar on the tuning images, else the best agreement."""
    search, best = [], None
    for plan in plans:
        path = build(plan)
        if tuning is None:
            return plan, []
        figures = tuning.figures(path)
        search.append({"plan": _plan_record(plan), "bytes": path.stat().st_size, **_rounded(figures)})
        if tuning.within(figures, mode):
            return plan, search
        if best is None or figures["agreement"] > best[1]:
            best = (plan, figures["agreement"])
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
        search.append({"plan": _plan_record(plan), **_rounded(figures)})
        if best is None or (figures["agreement"], figures["sqnr_db"]) > best[1]:
            best = (plan, (figures["agreement"], figures["sqnr_db"]))
    if best[0] is not plans[-1]:
        build(best[0])
    return best[0], search


def _plan_record(plan) -> dict:
    record = {"method": plan.method} if plan.quantization is not Q.INT4 else {"block_size": plan.block_size}
    return record


def _rounded(figures: dict) -> dict:
    return {"agreement": round(figures["agreement"], 5), "accuracy_change": round(figures["accuracy_change"], 5),
            "sqnr_db": round(figures["sqnr_db"], 2)}


def integer_only(path: Path) -> bool:
    """Whether a file computes in integers only: what an NPU or a microcontroller needs.

    TFLite: no operator reads or writes a floating-point tensor, except a SHAPE operator (and
    the DEQUANTIZE that feeds it only), which looks at dimensions, not values. ONNX (QDQ): every operator other than
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
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(path.read_bytes()), 0)
    graph, ops = model.subgraphs[0], schema.BuiltinOperator
    floats = {schema.TensorType.FLOAT32, schema.TensorType.FLOAT16, schema.TensorType.FLOAT64}

    def code(op):
        opcode = model.operatorCodes[op.opcodeIndex]
        return max(opcode.builtinCode, opcode.deprecatedBuiltinCode)

    shape_only = {i for op in graph.operators if code(op) == ops.SHAPE for i in op.inputs}
    read_elsewhere = {i for op in graph.operators if code(op) != ops.SHAPE for i in op.inputs}
    for op in graph.operators:
        if code(op) == ops.SHAPE or (code(op) == ops.DEQUANTIZE and not set(op.outputs) & read_elsewhere
                                     and set(op.outputs) <= shape_only):
            continue
        if any(i >= 0 and graph.tensors[i].type in floats for i in [*op.inputs, *op.outputs]):
            return False
    return True


_ONNX_FLOATS = (1, 10, 11, 16)  # FLOAT, FLOAT16, DOUBLE, BFLOAT16
_ONNX_NOT_COMPUTE = ("QuantizeLinear", "DequantizeLinear", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze",
                     "Identity")
