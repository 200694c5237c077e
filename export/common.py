"""What the exporters share: quantization modes, errors, paths, captured converter output."""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
import threading
import warnings
from enum import Enum
from pathlib import Path

from edgeport.export.errors import ExportError, PlanError  # noqa: F401 (exporters raise ExportError from here)
from edgeport.runtime.tflite_file import builtin_code, builtin_names  # noqa: F401 (the exporters read them here)

# A failed rung's reason is kept to this many characters (a converter may quote a whole graph).
FAILURE_CHARS = 600


def failure_text(error: Exception) -> str:
    """A failure's reason in one line: the error's own text, its type when it has none, cut to FAILURE_CHARS."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= FAILURE_CHARS else text[:FAILURE_CHARS - 3] + "..."


# The ONNX opsets that tf2onnx 1.17 and onnxruntime 1.32 both take.
MIN_OPSET, MAX_OPSET = 13, 18


def check_opset(opset) -> None:
    if not isinstance(opset, int) or isinstance(opset, bool) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise PlanError(f"opset must be a whole number from {MIN_OPSET} to {MAX_OPSET}; got {opset!r}")


class Quantization(str, Enum):
    """How an exported file stores its numbers."""

    NONE = "none"  # float32 throughout
    FLOAT16 = "float16"  # float16 weights, float32 compute and I/O
    DYNAMIC = "dynamic"  # int8 weights, activations quantized on the fly
    INT8 = "int8"  # int8 weights and activations, calibrated on representative images
    INT16 = "int16"  # int8 weights, int16 activations ("16x8"), calibrated
    INT4 = "int4"  # 4-bit weights (the most sensitive layers may keep 8), float activations
    MIXED = "mixed"  # int8 weights and activations, the most sensitive layers kept in float

    @property
    def bits(self) -> int:
        """The narrowest weight width the mode stores: what the fidelity bar is chosen by."""
        return {"none": 32, "float16": 16, "int4": 4}.get(self.value, 8)

    @property
    def calibrated(self) -> bool:
        """Whether building the file needs representative images (activation ranges)."""
        return self in (Quantization.INT8, Quantization.INT16, Quantization.MIXED)

    @classmethod
    def parse(cls, value) -> "Quantization":
        if value is None:
            return cls.NONE
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(q.value for q in cls)
            raise ValueError(f"quantization must be one of {allowed} (or None); got {value!r}") from None


def frozen_function(model, batch: int | None = None):
    """The Keras model's inference call as a TensorFlow function with every weight and captured value a constant.

    Its input is 'images', float32 with an open batch dimension (or batch, fixed: a microcontroller's
    file takes one image, and its graph then has no ops that read the batch size at run time). Both converters start from it:
    tf2onnx would turn captured tensors (Normalization's mean and variance) into graph inputs,
    and TFLiteConverter.from_keras_model takes three times as long (it saves a SavedModel first:
    10.6 s against 3.5 s for EfficientNetB0, for a file with the same outputs).
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    spec = tf.TensorSpec((batch, *model.input_shape[1:]), tf.float32, name="images")
    function = tf.function(lambda images: model(images, training=False), input_signature=(spec,))
    from edgeport.export.keras_adapter import convolutions_inlined

    with convolutions_inlined():
        return convert_variables_to_constants_v2(function.get_concrete_function())


def check_suffix(path: str | os.PathLike, suffix: str) -> Path:
    path = Path(path)
    if path.suffix.lower() != suffix:
        raise ValueError(f"expected a path ending in '{suffix}'; got {str(path)!r}")
    return path


# Held while a capture swaps the process's output, and by a thread printing while another may be capturing
# (export.pipeline's progress lines from the validation worker's thread): a line goes wholly before or after.
OUTPUT_LOCK = threading.RLock()


def _elsewhere(stream, fd: int, copy: int):
    """Where another thread's writes to stream go while fd is captured: stream itself, unless it writes to fd
    (the real stdout or stderr), then a stream on copy, fd as it was."""
    try:
        if stream.fileno() != fd:
            return stream
    except (AttributeError, OSError, ValueError):  # io.StringIO and the like: not a file
        return stream
    return open(copy, "w", encoding=getattr(stream, "encoding", None), errors="replace", closefd=False)


class _ByThread(io.TextIOBase):
    """sys.stdout or sys.stderr during a capture: the capturing thread's writes are captured, other threads'
    go elsewhere (_elsewhere)."""

    def __init__(self, captured, elsewhere):
        self._captured, self._elsewhere, self._owner = captured, elsewhere, threading.get_ident()

    def write(self, text: str) -> int:
        return (self._captured if threading.get_ident() == self._owner else self._elsewhere).write(text)

    def flush(self) -> None:
        (self._captured if threading.get_ident() == self._owner else self._elsewhere).flush()


class CapturedOutput:
    """What a converter printed while it ran, kept to explain a failure instead of printed."""

    def __init__(self):
        self.text = ""

    @contextlib.contextmanager
    def capture(self):
        """Capture the process's stdout and stderr (Python's and the C++ converters', fd 1 and 2).

        TFLiteConverter prints 'fully_quantize: 0, inference_type: 6 ...' from C++ and Keras
        prints 'Saved artifact at ...': a library call must print nothing. The converters'
        Python warnings are dropped for the same reason. What another thread prints meanwhile (an
        export's progress line, as a file's verdict comes from the validation worker) is not the
        converter's: it goes where it went before, under OUTPUT_LOCK.
        """
        python_output = io.StringIO()
        with OUTPUT_LOCK:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            saved = [os.dup(1), os.dup(2)]
            others = [_elsewhere(stream, fd, copy) for stream, fd, copy in zip((sys.stdout, sys.stderr), (1, 2), saved)]
        with tempfile.TemporaryFile() as log:
            try:
                with OUTPUT_LOCK:
                    os.dup2(log.fileno(), 1)
                    os.dup2(log.fileno(), 2)
                with contextlib.redirect_stdout(_ByThread(python_output, others[0])), \
                        contextlib.redirect_stderr(_ByThread(python_output, others[1])), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    yield self
            finally:
                with OUTPUT_LOCK:
                    for stream in others:
                        stream.flush()
                    for fd, copy in zip((1, 2), saved):
                        os.dup2(copy, fd)
                        os.close(copy)
                log.seek(0)
                self.text = python_output.getvalue() + log.read().decode("utf-8", "replace")

    def tail(self, lines: int = 5) -> str:
        """The last lines of the captured text, to append to an error message ('' when empty)."""
        kept = [line for line in self.text.strip().splitlines() if line.strip()][-lines:]
        return f" (converter output: {' | '.join(kept)})" if kept else ""


# MLIR's diagnostics: "<file>:<line>:<column>: error: <message>", then the Python lines and call stack it
# points at.
_MLIR_ERROR = re.compile(r"\berror: (.+)")


def converter_error(error: BaseException) -> str:
    """A converter's error in one line: the messages of MLIR's diagnostics without the source locations and
    call stacks they quote, else the error's text with its whitespace folded."""
    text = str(error)
    messages = list(dict.fromkeys(m.strip() for m in _MLIR_ERROR.findall(text)))
    if messages:
        return "; ".join(messages)
    # The quantizer repeats one sentence per operator it refuses ("... not yet supported for op: 'HARD_SWISH'."):
    # each sentence once.
    sentences = dict.fromkeys(s.strip() for s in re.split(r"(?<=\.)\s+", " ".join(text.split())) if s.strip())
    return " ".join(sentences)


# TensorFlow op names that follow a Keras layer's scope in graph names and are not part of it.
_LOWERCASE_OPS = {"convolution", "depthwise", "add", "mul", "sub"}


def layer_name(graph_name: str) -> str:
    """The Keras layer scope of a TFLite tensor or ONNX node name: 'mlp_1/dense_1/MatMul;...' -> 'mlp_1/dense_1'.

    TensorFlow names ops after their type (MatMul, BiasAdd, Conv2D: capitalised, or Keras 3's
    'convolution') below the layer's snake_case scope; tf2onnx and the TFLite converter keep
    those names, so both formats name a layer alike.
    """
    parts = graph_name.split(";")[0].split(":")[0].split("/")
    for i, part in enumerate(parts[1:], start=1):
        if part[:1].isupper() or part in _LOWERCASE_OPS:
            return "/".join(parts[:i])
    return "/".join(parts[:-1]) or parts[0]


def runs_keeping_every_tensor(content: bytes, inputs, chunk: int, encode=None):
    """Run a .tflite file on inputs a chunk at a time, every intermediate tensor kept (LiteRT's
    experimental_preserve_all_tensors), yielding the interpreter after each chunk for its tensors to be read.

    A file with a fixed batch (a microcontroller's takes one image) runs that many at a time, and leftover
    inputs that do not fill a batch are dropped. encode(chunk) turns inputs into what the file's input takes
    (default: as they are).
    """
    from ai_edge_litert.interpreter import Interpreter

    with warnings.catch_warnings():  # "intended for debugging purposes only": each chunk's tensors are read once
        warnings.simplefilter("ignore", UserWarning)
        interpreter = Interpreter(model_content=content, experimental_preserve_all_tensors=True)
    source = interpreter.get_input_details()[0]
    fixed = int(source["shape_signature"][0])
    step = chunk if fixed < 1 else fixed
    if fixed >= 1:
        interpreter.allocate_tensors()
        inputs = inputs[:len(inputs) // fixed * fixed]
    for start in range(0, len(inputs), step):
        part = inputs[start:start + step]
        part = encode(part) if encode is not None else part
        if fixed < 1:
            interpreter.resize_tensor_input(source["index"], part.shape)
            interpreter.allocate_tensors()
        interpreter.set_tensor(source["index"], part)
        interpreter.invoke()
        yield interpreter
