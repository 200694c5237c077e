"""Microcontrollers: a file proven in TensorFlow Lite Micro itself, and what it needs on a board.

TFLM (the `tflite-micro` package: TFLM's C++ reference kernels behind a Python wrapper) runs the
micro files here on the validation images, so the manifest's figures for them are the device's
kernels' figures, not XNNPACK's. Its arena is measured by bisection in a child process: TFLM
crashes at some arenas that are too small instead of failing cleanly.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgeport import runtime
from edgeport.runtime import children, tflite_file
from edgeport.export.common import builtin_code, builtin_names, failure_text
from edgeport.runtime.bench import single_image_us
from edgeport.runtime.engines import Engine, LiteRT, TensorSpec
from edgeport.export.errors import ExportError
from edgeport.runtime.errors import MissingExtraError
from edgeport.runtime.manifest import Board, MicroRecord, Validation
from edgeport.runtime.tflite_predictor import TFLitePredictor

if TYPE_CHECKING:
    from edgeport.export.validate import Answers  # imported inside prove at run time: a cycle at module level

# Arenas are probed to this alignment (TFLM aligns its allocations to 16 bytes).
ARENA_STEP = 16
# The arena a firmware declares: the measured minimum plus this share of it, at least ARENA_MARGIN_MIN bytes.
ARENA_MARGIN, ARENA_MARGIN_MIN = 0.10, 1024
# The arena TFLM first runs a file in, to record what it allocates: the larger of these.
PROBE_ARENA_MIN, PROBE_ARENA_PER_BYTE = 1 << 20, 8
# A child that has not measured a file in this many seconds is stopped (a hostile file could hang it).
MEASURE_TIMEOUT_S = 300
# The measuring child: a script of this package run in isolated mode (numpy and TFLM only), never `-c` code
# with the working folder on its import path.
MEASURER = Path(__file__).resolve().with_name("tflm_measure.py")


def kit_arena(arena_bytes: int) -> int:
    """The arena a firmware declares for a measured minimum: plus the margin, rounded up to 16 bytes."""
    size = arena_bytes + max(ARENA_MARGIN_MIN, int(arena_bytes * ARENA_MARGIN))
    return -(-size // ARENA_STEP) * ARENA_STEP


def declared_arena(record: MicroRecord) -> int:
    """The arena the kit declares for a micro file: prove() records it; computed for an older manifest."""
    return record.kit_arena_bytes if record.kit_arena_bytes is not None else kit_arena(record.arena_bytes)


def needs(record: MicroRecord, input_shape) -> tuple[int, int]:
    """(RAM, flash) bytes a micro file needs on a board: the declared arena (which holds the input and output
    tensors) plus the uint8 picture the firmware fills it from; the model array. prove() records both; a
    manifest written before them has them computed here."""
    if record.ram_bytes is not None:
        return record.ram_bytes, record.flash_bytes
    picture = int(np.prod(input_shape[1:]))
    return declared_arena(record) + picture, record.flash_bytes


def _misses(entry, board: Board) -> list[tuple[str, int, int]]:
    """(what, bytes needed, bytes the board has) for RAM and flash where the file needs more than the board has."""
    ram, flash = needs(entry.micro, entry.tensors["input"]["shape"])
    return [(what, need, have) for what, need, have in (("RAM", ram, board.ram_bytes), ("flash", flash, board.flash_bytes))
            if have is not None and need > have]


def fit_problem(entry, board: Board | None) -> str | None:
    """How a micro file misses a board (a None size is not checked), in words; None when it fits or there is no
    board."""
    misses = _misses(entry, board) if board is not None else []
    if not misses:
        return None
    return "needs " + " and ".join(f"{what} {_kib(need)} ({_kib(need - have)} over {_kib(have)})"
                                   for what, need, have in misses)


def overage(entry, board: Board) -> int:
    """The bytes of RAM and flash by which a micro file misses a board, together (0 when it fits)."""
    return sum(need - have for _, need, have in _misses(entry, board))


def _kib(count: int) -> str:
    return f"{count / 1024:,.1f} KiB"


def roomy_arena(path: str | Path) -> int:
    """An arena that any file TFLM runs fits in: where measure's bisection starts, and what a search's
    candidates are scored in (no measuring child for each)."""
    return max(PROBE_ARENA_MIN, PROBE_ARENA_PER_BYTE * Path(path).stat().st_size)


def measure(path: str | Path) -> MicroRecord:
    """Whether TFLM runs a .tflite file, and the smallest arena it runs in (by bisection, from the recorder's total).

    Raises:
        ExportError: the measuring child itself failed (TFLM not installed, a timeout).
    """
    path = Path(path)
    large = roomy_arena(path)
    try:
        done = children.run(children.python_command(MEASURER, path.resolve(), ARENA_STEP, large),
                            cwd=path.resolve().parent, timeout=MEASURE_TIMEOUT_S)  # export's own folder
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except subprocess.TimeoutExpired:
        raise ExportError(f"{path.name}: TFLM did not finish within {MEASURE_TIMEOUT_S} s") from None
    except (ValueError, IndexError):
        raise ExportError(f"{path.name}: could not run TFLM: {last_lines(done.stderr) or done.returncode}") from None
    ops = file_ops(path)
    if not result["runs"]:
        return MicroRecord(False, path.stat().st_size, reason=_reason(result["code"], result["text"]), ops=ops)
    return MicroRecord(True, path.stat().st_size, arena_bytes=result["arena_bytes"], arena=result["arena"], ops=ops)


def _reason(code: int, text: str) -> str:
    """Why TFLM did not run a file, in one line: its own messages, and the signal when it crashed."""
    messages = last_lines(text)
    crashed = f"TFLM crashed (signal {-code})" if code < 0 else ""
    return "; ".join(m for m in (crashed, messages) if m) or f"TFLM failed (exit status {code})"


def last_lines(text: str, count: int = 3) -> str:
    """The last count distinct non-empty lines of a tool's output (no traceback header), joined by "; "."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("Traceback")]
    return "; ".join(dict.fromkeys(lines[-count:]))


def file_ops(path: str | Path) -> list[str]:
    """The builtin operators a .tflite file uses, as TFLM's MicroMutableOpResolver names their Add calls,
    in the order they first appear in the graph."""
    schema = tflite_file.schema()
    model = tflite_file.objects(path)
    names = builtin_names()
    used = []
    for graph in model.subgraphs:
        for op in graph.operators:
            builtin = builtin_code(model, op)
            if builtin == schema.BuiltinOperator.CUSTOM:
                raise ExportError(f"{Path(path).name} uses the custom operator "
                                  f"{model.operatorCodes[op.opcodeIndex].customCode!r}: TFLM has no kernel for it")
            used.append(resolver_name(names[builtin]))
    return list(dict.fromkeys(used))


# The operators whose kernels TFLM also registers for one type (Register_FULLY_CONNECTED_INT8...): CMSIS-NN builds
# only that type's code, the reference kernels alias them to the general one. The type is read from the input
# (and the weights, for the weighted operators; the output too, for SOFTMAX).
WEIGHTED = {"FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D"}
TYPED = WEIGHTED | {"SOFTMAX", "ADD", "MUL", "MAX_POOL_2D", "AVERAGE_POOL_2D", "PAD"}


def typed_kernels(path: str | Path) -> dict[str, str]:
    """For each operator of TYPED whose every use in the file has one type, the registration of that type's
    kernel, by Add name: {"AddFullyConnected": "Register_FULLY_CONNECTED_INT8", ...}."""
    schema = tflite_file.schema()
    model = tflite_file.objects(path)
    types = {value: name for name, value in vars(schema.TensorType).items() if not name.startswith("_")}
    names = builtin_names()
    seen: dict[str, set[str]] = {}
    for graph in model.subgraphs:
        for op in graph.operators:
            name = names[builtin_code(model, op)]
            if name not in TYPED:
                continue
            kind = [types[graph.tensors[op.inputs[0]].type]]
            if name in WEIGHTED:
                kind.append(types[graph.tensors[op.inputs[1]].type])
            if name == "SOFTMAX":
                kind.append(types[graph.tensors[op.outputs[0]].type])
            seen.setdefault(name, set()).add(tuple(kind))
    suffixes = {("INT8",): "_INT8", ("INT16",): "_INT16", ("INT8", "INT8"): "_INT8", ("INT8", "INT4"): "_INT4",
                ("INT16", "INT8"): "_INT16", ("INT16", "INT16"): "_INT16", ("INT8", "INT16"): "_INT8_INT16"}
    chosen = {}
    for name, kinds in seen.items():
        if len(kinds) == 1 and (suffix := suffixes.get(next(iter(kinds)))):
            if name in WEIGHTED and suffix == "_INT8_INT16":
                continue
            chosen[resolver_name(name)] = f"Register_{name}{suffix}"
    return chosen


def resolver_name(op: str) -> str:
    """A builtin operator's name as TFLM's MicroMutableOpResolver method: CONV_2D -> AddConv2D.

    The rule of TFLM's generate_micro_mutable_op_resolver_from_model.py (each part capitalised, parts
    that start with a digit upper-cased, LSTM and BatchMatMul kept as TFLM spells them).
    """
    parts = re.split("[_-]", op.replace("TFLite", ""))
    words = "".join(p[0].upper() + p[1:].lower() if len(p) > 1 and p[0].isalpha() else p.upper() for p in parts)
    return "Add" + words.replace("Lstm", "LSTM").replace("BatchMatmul", "BatchMatMul")


class Tflm(Engine):
    """A microcontroller's file on TFLM's interpreter (its reference kernels), one image per call, as a device
    runs it."""

    name, kernels = "TFLM", "TFLM reference kernels"

    def __init__(self, content: bytes, arena_bytes: int):
        from tflite_micro.python.tflite_micro import runtime as tflm

        names = tflite_file.io_names(content)  # TFLM does not say them
        self._micro = tflm.Interpreter.from_bytes(content, arena_size=arena_bytes)
        self.inputs = (_tflm_spec(names[0], self._micro.get_input_details(0)),)
        self.outputs = (_tflm_spec(names[1], self._micro.get_output_details(0)),)

    def run(self, batch: np.ndarray) -> np.ndarray:
        out = np.empty((len(batch), *self.outputs[0].shape[1:]), self.outputs[0].dtype)
        for index in range(len(batch)):
            self._micro.set_input(batch[index : index + 1], 0)
            self._micro.invoke()
            out[index] = self._micro.get_output(0)[0]
        return out


def _tflm_spec(name: str, details: dict) -> TensorSpec:
    quantization = details["quantization_parameters"]
    scales, zeros = quantization["scales"], quantization["zero_points"]
    return TensorSpec(name, tuple(int(d) for d in details["shape"]), np.dtype(details["dtype"]),
                      float(scales[0]) if len(scales) else 0.0, int(zeros[0]) if len(zeros) else 0)


def tflm_predictor(path: str | Path, arena_bytes: int) -> TFLitePredictor:
    """A micro file as the runtime's TFLitePredictor on the TFLM engine: the runtime's own input and output
    handling (the pixel encoding, dequantization, class names), with TFLM's kernels.

    Raises:
        ExportError: the file does not take one image per call.
    """
    path = Path(path)
    content = path.read_bytes()
    predictor = TFLitePredictor(path, content, None, None, engine=Tflm(content, arena_bytes))
    if predictor.fixed_batch != 1:
        raise ExportError(f"{path.name}: a microcontroller's file takes one image; its batch is "
                          f"{predictor.fixed_batch or 'open'}")
    return predictor


def reference_predictor(path: str | Path) -> TFLitePredictor:
    """A .tflite file on LiteRT's reference kernels (OpResolverType.BUILTIN_REF): the kernels TFLM's are written
    after, without XNNPACK's or the optimized kernels' shortcuts."""
    path = Path(path)
    content = path.read_bytes()
    return TFLitePredictor(path, content, None, None, engine=LiteRT(content, reference=True))


@dataclass(frozen=True)
class Proof:
    """A microcontroller's file proven: its predictor on TFLM, its validation there, and its micro record
    (arena, flash, operators, the kernels' cross-check, its time here, Vela's compilation); and TFLM's answers
    so far (validate.Answers), for a validation on every image."""

    predictor: TFLitePredictor
    validation: Validation
    record: MicroRecord
    answers: Answers | None = None


def prove(path: str | Path, validation, reference: np.ndarray, quantization, float32_bytes: int | None,
          plan) -> Proof:
    """Prove a micro file: measure its arena in TFLM, validate it in TFLM against the Keras reference,
    cross-check TFLM's answers with LiteRT's reference and default kernels, time it, build and run it on an
    emulated Cortex-M4 (plan.emulate), and (plan.npu) compile it with Vela. The validation images' probabilities
    are computed once, in TFLM, look by look (export.sequential); the cross-check runs on the images they decided on.

    Args:
        path: the micro file. validation: the validation split (images, labels). reference: the Keras model's
            probabilities on it. quantization: the file's. float32_bytes: the float32 TFLite file's size (the size
            bar). plan: the ExportPlan (bars, budget, npu).

    Raises:
        ExportError: TFLM cannot run the file.
    """
    from edgeport.export.validate import Answers, validate_file

    path = Path(path)
    record = measure(path)
    if not record.runs:
        raise ExportError(f"TFLM cannot run it: {record.reason}")
    predictor = tflm_predictor(path, record.arena_bytes)
    answers = Answers(predictor, validation.images)
    figures = validate_file(predictor, validation.images, validation.labels, reference, quantization, float32_bytes,
                            plan, answers=answers)
    latency = single_image_us(predictor, validation.images[0])  # TFLM's time here, relative only
    seen = answers.order[:figures.images]  # the images that decided it
    record = replace(cross_check(record, path, answers.first(len(seen)), validation.images[seen]), host_us=latency)
    record = _on_cortex_m4(record, path) if plan.emulate else replace(record, m4_error="not built: --no-emulator")
    record = replace(record, kit_arena_bytes=kit_arena(record.m4.arena_bytes if record.m4 else record.arena_bytes))
    record = replace(record, ram_bytes=needs(record, predictor.input_shape)[0])
    if plan.npu:
        record = _for_npu(record, path, plan.npu)
    return Proof(predictor, figures, record, answers)


def _on_cortex_m4(record: MicroRecord, path: Path) -> MicroRecord:
    """The micro record with the file's figures on the emulated Cortex-M4 (firmware.measure_m4), or why not."""
    from edgeport.export import firmware, tflm_tree

    try:
        typed = tflm_tree.known_kernels(typed_kernels(path))
        return replace(record, m4=firmware.measure_m4(path, record.ops, typed, record.arena_bytes))
    except (ExportError, ValueError) as e:  # the TFLM-validated file stands without them
        return replace(record, m4_error=failure_text(e))


def _for_npu(record: MicroRecord, path: Path, accelerator: str) -> MicroRecord:
    """The micro record with Vela's compilation of path for the NPU (its .vela.tflite beside path), or why not."""
    from edgeport.export.npu import compile_for_npu, vela_name

    try:
        return replace(record, npu=compile_for_npu(path, accelerator, path.with_name(vela_name(path.name))))
    except (ExportError, MissingExtraError) as e:  # the TFLM-validated file stands whatever Vela makes of it
        return replace(record, npu_error=failure_text(e))


def cross_check(record: MicroRecord, path: Path, micro_probabilities: np.ndarray, images: np.ndarray) -> MicroRecord:
    """The record with how LiteRT's reference kernels and its default kernels (the runtime's own predictor)
    answer on images against TFLM's probabilities."""
    figures = {}
    for key, predictor in (("reference", reference_predictor(path)), ("xnnpack", runtime.load(path, verify=False))):
        probabilities = predictor.predict(images)
        figures[f"{key}_agreement"] = round(float(np.mean(probabilities.argmax(1) == micro_probabilities.argmax(1))), 6)
        figures[f"{key}_identical"] = round(float(np.mean(np.all(probabilities == micro_probabilities, axis=1))), 6)
    return replace(record, **figures)
