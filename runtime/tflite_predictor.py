"""A .tflite file on an Engine (runtime/engines.py): LiteRT's kernels unless another engine is given."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from edgeport.runtime import tflite_file
from edgeport.runtime.engines import Engine, LiteRT, TensorSpec
from edgeport.runtime.errors import ModelFileError
from edgeport.runtime.manifest import FileEntry, PhoneEntry
from edgeport.runtime.modelinfo import METADATA_NAME
from edgeport.runtime.predictor import _METADATA_KEYS, Predictor, _one_line

ETHOS_U_OP = "ethos-u"  # the custom operator Vela compiles an NPU's part into


class TFLitePredictor(Predictor):
    """A .tflite file on an Engine (runtime/engines.py; LiteRT's default kernels unless another is given);
    integer models are (de)quantized here, whatever the engine.

    Attributes:
        engine: the Engine the file runs on.
    """

    format = "tflite"

    def __init__(self, path: Path, content: bytes, entry: FileEntry | PhoneEntry | None, threads: int | None,
                 engine: Engine | None = None):
        if engine is None:
            try:
                engine = LiteRT(content, threads)
            except (ValueError, RuntimeError) as e:
                if ETHOS_U_OP in tflite_file.custom_codes(content):  # Vela's output: one command stream for the NPU's driver
                    raise ModelFileError(f"{path.name} was compiled by Vela for an Arm Ethos-U NPU and runs only on "
                                         f"the board, with the Ethos-U driver: run {path.name.replace('.vela', '')}, "
                                         f"the file it was compiled from, here") from None
                raise ModelFileError(f"{path.name} is not a valid TFLite model: {_one_line(e)}") from e
        self.engine, self.kernels = engine, engine.kernels  # kernels: what a validation's figures come from
        if len(engine.inputs) != 1 or len(engine.outputs) != 1:
            raise ModelFileError(f"{path.name}: expected one input and one output; got {len(engine.inputs)} and "
                                 f"{len(engine.outputs)}")
        self._input, self._output = engine.inputs[0], engine.outputs[0]
        self._sample_shape = tuple(int(d) for d in self._input.shape[1:])
        self.num_classes = int(self._output.shape[-1])
        # A file made for one batch size (a microcontroller's takes one image) is run that many images a call.
        self.fixed_batch = self._input.shape[0] if self._input.shape[0] > 0 else None
        super().__init__(path, len(content), entry, _tflite_metadata(path, content))
        # Scale and zero point live on the integer path only; a scale of 0 means a float tensor.
        in_scale, in_zero = self._input.scale, self._input.zero_point
        out_scale, out_zero = self._output.scale, self._output.zero_point
        if in_scale:
            self._quantize_input = _affine_quantizer(in_scale, in_zero, self._input.dtype)
            self._encode_floats = lambda x: self._quantize_input(Predictor._encode_floats(self, x))
            self._pixel_table, self._pixels_flip = None, False
            if np.ndim(self._scale) == 0 and np.ndim(self._offset) == 0:  # one rule for every channel: a table
                pixels = self._quantize_input(self._preprocess(np.arange(256, dtype=np.uint8)))
                self._pixel_table = pixels
                # Our int8 exports map pixel p to p - 128 (scale 1/255, zero point -128): flipping the
                # top bit does that in one pass, five times faster than a table lookup.
                flipped = (np.arange(256, dtype=np.uint8) ^ 0x80).view(np.int8)
                self._pixels_flip = pixels.dtype == np.int8 and np.array_equal(pixels, flipped)
            top_bit = np.uint8(0x80)
            self._encode_pixels = (lambda p: (p ^ top_bit).view(np.int8)) if self._pixels_flip else \
                self._quantized_pixels
        if out_scale:
            scale, zero = np.float32(out_scale), np.float32(out_zero)
            if self._output.dtype.itemsize == 1:  # 8-bit codes: a 256-entry table
                codes = np.arange(256, dtype=np.uint8).view(self._output.dtype)
                self._output_table = ((codes.astype(np.float32) - zero) * scale).astype(np.float32)
                self._decode = self._dequantize_output
            else:  # 16-bit codes (16x8 files): arithmetic
                self._decode = lambda out: (out.astype(np.float32) - zero) * scale
        elif self._output.dtype != np.float32:
            self._decode = lambda out: out.astype(np.float32)

    def encode(self, pixels: np.ndarray) -> np.ndarray:
        """The engine's input for uint8 pictures (N, H, W[, C]): the preprocessing and the input's quantization,
        as predict computes them (a firmware's golden input vectors)."""
        return self._encode_pixels(self._as_batch(pixels))

    def _quantized_pixels(self, pixels: np.ndarray) -> np.ndarray:
        if self._pixel_table is None:  # per-channel preprocessing
            return self._quantize_input(self._preprocess(pixels))
        return np.take(self._pixel_table, pixels)

    def _dequantize_output(self, out: np.ndarray) -> np.ndarray:
        return self._output_table[out.view(np.uint8)]

    _decode = None  # float32 outputs are returned as the engine gives them

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        return self._in_steps(batch, self.fixed_batch)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        try:
            out = self.engine.run(batch)
        except RuntimeError as e:  # a malformed model can load and still fail to run
            raise ModelFileError(f"{self.path.name}: {self.engine.name} could not run this model: {_one_line(e)}") from e
        return out if self._decode is None else self._decode(out)

    def describe(self) -> dict:
        def tensor(spec: TensorSpec):
            batch = spec.shape[0]
            return {
                "name": spec.name,
                "shape": [None if batch < 0 else batch, *spec.shape[1:]],
                "dtype": spec.dtype.name,
                "quantization": {"scale": spec.scale, "zero_point": spec.zero_point} if spec.scale else None,
            }

        return {"input": tensor(self._input), "output": tensor(self._output)}

    def _detect_quantization(self) -> str:
        """What the tensors of a .tflite file without edgeport's metadata hold (edgeport's files say it)."""
        if self._input.scale:
            return "int16" if self._input.dtype.itemsize == 2 else "int8"
        dtypes = self.engine.tensor_dtypes()
        if np.float16 in dtypes:
            return "float16"
        if np.int8 in dtypes:
            return "dynamic"
        return "none"


def _tflite_metadata(path: Path, content: bytes) -> dict:
    """The facts export wrote into the flatbuffer's "edgeport" metadata buffer ({} when there is none)."""
    try:
        data = tflite_file.metadata(content, METADATA_NAME)
        if data is None:
            return {}
        values = json.loads(data.decode("utf-8"))
        return {k: v for k, v in values.items() if k in _METADATA_KEYS} if isinstance(values, dict) else {}
    except Exception as e:  # a damaged flatbuffer can fail anywhere in the generated reader
        raise ModelFileError(f"{path.name} has an unreadable '{METADATA_NAME}' metadata buffer: {_one_line(e)}") from e


def _affine_quantizer(scale: float, zero_point: int, dtype):
    """x -> round(x / scale + zero_point), clipped to dtype: TFLite's input quantization."""
    info, scale, zero_point = np.iinfo(dtype), np.float32(scale), np.float32(zero_point)

    def quantize(x: np.ndarray) -> np.ndarray:
        return np.clip(np.round(x / scale + zero_point), info.min, info.max).astype(dtype)

    return quantize
