"""The engines a Predictor runs a .tflite file on, behind one small public interface.

An Engine holds one file loaded in an inference engine and offers its input and output tensors and
one call on an encoded batch. TFLitePredictor does everything else (preprocessing, the input's
quantization, the output's dequantization, class names) whatever the engine: LiteRT's default
kernels, LiteRT's reference kernels, or TFLM's interpreter (edgeport.export.micro). A new engine
is a subclass with __init__, run and tensor_dtypes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from edgeport.runtime import litert_native


@dataclass(frozen=True)
class TensorSpec:
    """An engine's input or output tensor.

    Attributes:
        name: the tensor's name in the file.
        shape: its shape as the file declares it, the batch dimension -1 when it is open.
        dtype: its numpy dtype.
        scale, zero_point: its affine quantization (real = scale * (code - zero_point)); scale 0: a float tensor.
    """

    name: str
    shape: tuple
    dtype: np.dtype
    scale: float = 0.0
    zero_point: int = 0


class Engine:
    """One file loaded in an engine: its input and output tensors, and one call on an encoded batch.

    Attributes:
        name: the engine, for a message ("LiteRT could not run this model").
        kernels: what the figures of a validation on this engine come from ("LiteRT (XNNPACK)"...).
        inputs, outputs: every input and output tensor of the file (a Predictor takes files with one of each).
    """

    name = ""
    kernels = ""
    inputs: tuple[TensorSpec, ...] = ()
    outputs: tuple[TensorSpec, ...] = ()

    def run(self, batch: np.ndarray) -> np.ndarray:
        """The output tensor's values (codes, for an integer output) for an encoded batch of the input's dtype.

        Raises:
            RuntimeError: the engine could not run the file.
        """
        raise NotImplementedError

    def tensor_dtypes(self) -> set:
        """The dtypes of every tensor of the file (what a file without edgeport's metadata is described by)."""
        return {t.dtype for t in (*self.inputs, *self.outputs)}


class LiteRT(Engine):
    """A .tflite file on LiteRT's interpreter: its default kernels (XNNPACK), or its reference kernels
    (OpResolverType.BUILTIN_REF: the kernels TFLM's are written after, without the optimized shortcuts).

    One interpreter is not safe to call from two threads: run holds a lock. The input is resized only
    when the batch size changes.
    """

    def __init__(self, content: bytes, threads: int | None = None, reference: bool = False):
        """Raises ValueError or RuntimeError, as LiteRT does, for a file it cannot load."""
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        self.name = "LiteRT"
        options = {"experimental_op_resolver_type": OpResolverType.BUILTIN_REF} if reference else {}
        self.kernels = "LiteRT reference kernels" if reference else "LiteRT default kernels (XNNPACK)"
        self._interpreter = Interpreter(model_content=content, num_threads=threads, **options)
        self._interpreter.allocate_tensors()
        self._details = self._interpreter.get_input_details(), self._interpreter.get_output_details()
        self.inputs, self.outputs = (tuple(_spec(d) for d in details) for details in self._details)
        self._lock = threading.Lock()
        self._batch = int(self._details[0][0]["shape"][0]) if self._details[0] else 0
        # The first input's and output's indices, read once: run is on predict_one's path.
        self._index = (self._details[0][0]["index"], self._details[1][0]["index"]) if all(self._details) else None
        self._native = litert_native.calls(self._interpreter)

    def run(self, batch: np.ndarray) -> np.ndarray:
        index, out_index = self._index
        with self._lock:
            if len(batch) != self._batch:  # resize only when the batch size changes
                self._interpreter.resize_tensor_input(index, list(batch.shape))
                self._interpreter.allocate_tensors()
                self._batch = len(batch)
            if self._native:
                return litert_native.run(self._interpreter, index, out_index, batch)
            self._interpreter.set_tensor(index, batch)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(out_index)

    def tensor_dtypes(self) -> set:
        return {np.dtype(d["dtype"]) for d in self._interpreter.get_tensor_details()}


def _spec(details: dict) -> TensorSpec:
    """A LiteRT tensor's details: its batch as the file declares it (-1: open), its other dimensions as allocated."""
    scale, zero_point = details["quantization"]
    shape = (int(details["shape_signature"][0]), *(int(d) for d in details["shape"][1:]))
    return TensorSpec(details["name"], shape, np.dtype(details["dtype"]), float(scale), int(zero_point))
