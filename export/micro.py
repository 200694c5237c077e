"""Microcontrollers: a file proven in TensorFlow Lite Micro itself, and what it needs on a board.

TFLM (the `tflite-micro` package: TFLM's C++ reference kernels behind a Python wrapper) runs the
micro files here on the validation images, so the manifest's figures for them are the device's
kernels' figures, not XNNPACK's. Its arena is measured by bisection in a child process: TFLM
crashes at some arenas that are too small instead of failing cleanly.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
import subprocess
from pathlib import Path

import numpy as np

from edgeport import runtime
from edgeport.runtime import children
from edgeport.export.common import builtin_code, builtin_names
from edgeport.runtime.errors import ExportError
from edgeport.runtime.manifest import MicroRecord
from edgeport.runtime.predictor import TFLitePredictor

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


def needs(entry) -> tuple[int, int]:
    """(RAM, flash) bytes a micro file needs on a board: the declared arena (which holds the input and output
    tensors) plus the uint8 picture the firmware fills it from; the model array."""
    picture = int(np.prod(entry.tensors["input"]["shape"][1:]))
    return kit_arena(entry.micro.arena_bytes) + picture, entry.micro.flash_bytes


def _misses(entry, board: dict) -> list[tuple[str, int, int]]:
    """(what, bytes needed, bytes the board has) for RAM and flash where the file needs more than the board has."""
    ram, flash = needs(entry)
    return [(what, need, have) for what, need, have in (("RAM", ram, board["ram_bytes"]),
                                                       ("flash", flash, board["flash_bytes"]))
            if have is not None and need > have]


def fit_problem(entry, board: dict | None) -> str | None:
    """How a micro file misses a board ({"name", "ram_bytes", "flash_bytes"}; a None size is not checked), in
    words; None when it fits or there is no board."""
    misses = _misses(entry, board) if board is not None else []
    if not misses:
        return None
    return "needs " + " and ".join(f"{what} {_kib(need)} ({_kib(need - have)} over {_kib(have)})"
                                   for what, need, have in misses)


def overage(entry, board: dict) -> int:
    """The bytes of RAM and flash by which a micro file misses a board, together (0 when it fits)."""
    return sum(need - have for _, need, have in _misses(entry, board))


def _kib(count: int) -> str:
    return f"{count / 1024:,.1f} KiB"


def measure(path: str | Path) -> MicroRecord:
    """Whether TFLM runs a .tflite file, and the smallest arena it runs in (by bisection, from the recorder's total).

    Raises:
        ExportError: the measuring child itself failed (TFLM not installed, a timeout).
    """
    path = Path(path)
    large = max(PROBE_ARENA_MIN, PROBE_ARENA_PER_BYTE * path.stat().st_size)
    try:
        done = children.run(children.python_command(MEASURER, path.resolve(), ARENA_STEP, large),
                            cwd=path.resolve().parent, timeout=MEASURE_TIMEOUT_S)  # export's own folder
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except subprocess.TimeoutExpired:
        raise ExportError(f"{path.name}: TFLM did not finish within {MEASURE_TIMEOUT_S} s") from None
    except (ValueError, IndexError):
        raise ExportError(f"{path.name}: could not run TFLM: {_last_lines(done.stderr) or done.returncode}") from None
    ops = file_ops(path)
    if not result["runs"]:
        return MicroRecord(False, path.stat().st_size, reason=_reason(result["code"], result["text"]), ops=ops)
    return MicroRecord(True, path.stat().st_size, arena_bytes=result["arena_bytes"], arena=result["arena"], ops=ops)


def _reason(code: int, text: str) -> str:
    """Why TFLM did not run a file, in one line: its own messages, and the signal when it crashed."""
    messages = _last_lines(text)
    crashed = f"TFLM crashed (signal {-code})" if code < 0 else ""
    return "; ".join(m for m in (crashed, messages) if m) or f"TFLM failed (exit status {code})"


def _last_lines(text: str, count: int = 3) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("Traceback")]
    return "; ".join(dict.fromkeys(lines[-count:]))


def file_ops(path: str | Path) -> list[str]:
    """The builtin operators a .tflite file uses, as TFLM's MicroMutableOpResolver names their Add calls,
    in the order they first appear in the graph."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(Path(path).read_bytes()), 0)
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


def resolver_name(op: str) -> str:
    """A builtin operator's name as TFLM's MicroMutableOpResolver method: CONV_2D -> AddConv2D.

    The rule of TFLM's generate_micro_mutable_op_resolver_from_model.py (each part capitalised, parts
    that start with a digit upper-cased, LSTM and BatchMatMul kept as TFLM spells them).
    """
    parts = re.split("[_-]", op.replace("TFLite", ""))
    words = "".join(p[0].upper() + p[1:].lower() if len(p) > 1 and p[0].isalpha() else p.upper() for p in parts)
    return "Add" + words.replace("Lstm", "LSTM").replace("BatchMatmul", "BatchMatMul")


class TflmPredictor(TFLitePredictor):
    """A micro file run by TFLM's interpreter: the runtime's own input and output handling (the pixel
    encoding, dequantization, class names), with TFLM's kernels in place of LiteRT's."""

    kernels = "TFLM reference kernels"
    answers: np.ndarray | None = None  # the probabilities of the last predict call

    def __init__(self, path: str | Path, arena_bytes: int):
        from tflite_micro.python.tflite_micro import runtime as tflm

        path = Path(path)
        content = path.read_bytes()
        super().__init__(path, content, None, None)
        if self.fixed_batch != 1:
            raise ExportError(f"{path.name}: a microcontroller's file takes one image; its batch is "
                              f"{self.fixed_batch or 'open'}")
        self._micro = tflm.Interpreter.from_bytes(content, arena_size=arena_bytes)

    def predict(self, images, batch_size: int | None = None) -> np.ndarray:
        self.answers = super().predict(images, batch_size)
        return self.answers

    def _run(self, batch: np.ndarray) -> np.ndarray:
        self._micro.set_input(batch, 0)
        self._micro.invoke()
        out = self._micro.get_output(0)
        return out if self._decode is None else self._decode(out)

    def encode(self, pixels: np.ndarray) -> np.ndarray:
        """The engine's input for uint8 pictures (N, H, W, C): the preprocessing and the input's quantization,
        as the runtime computes them for every file."""
        return self._encode_pixels(self._as_batch(pixels))

    def raw(self, image: np.ndarray) -> np.ndarray:
        """TFLM's output tensor for one encoded image (int8 or int16 codes), as the device reads it."""
        self._micro.set_input(image[None], 0)
        self._micro.invoke()
        return self._micro.get_output(0)[0].copy()



class ReferencePredictor(TFLitePredictor):
    """A .tflite file on LiteRT's reference kernels (OpResolverType.BUILTIN_REF): the kernels TFLM's are
    written after, without XNNPACK's or the optimized kernels' shortcuts."""

    kernels = "LiteRT reference kernels"

    def __init__(self, path: str | Path):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        path = Path(path)
        content = path.read_bytes()
        super().__init__(path, content, None, None)
        self._interpreter = Interpreter(model_content=content,
                                        experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        self._interpreter.allocate_tensors()


def cross_check(record: MicroRecord, path: Path, micro_probabilities: np.ndarray, images: np.ndarray) -> MicroRecord:
    """The record with how LiteRT's reference kernels and its default kernels (the runtime's own predictor)
    answer on images against TFLM's probabilities."""
    figures = {}
    for key, predictor in (("reference", ReferencePredictor(path)), ("xnnpack", runtime.load(path, verify=False))):
        probabilities = predictor.predict(images)
        figures[f"{key}_agreement"] = round(float(np.mean(probabilities.argmax(1) == micro_probabilities.argmax(1))), 6)
        figures[f"{key}_identical"] = round(float(np.mean(np.all(probabilities == micro_probabilities, axis=1))), 6)
    return replace(record, **figures)
