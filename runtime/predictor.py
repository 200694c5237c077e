"""Load an exported .tflite or .onnx file and predict class probabilities.

Only numpy, onnxruntime and ai_edge_litert: this module is what runs on a device.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.data import PREPROCESSING
from runtime.manifest import MANIFEST_NAME, manifest_entry, sha256_bytes

DEFAULT_BATCH_SIZE = 1000
SUFFIXES = (".tflite", ".onnx")
_TFLITE_IDENTIFIER = b"TFL3"  # flatbuffer file identifier, bytes 4..8 of every .tflite file
_MIN_MODEL_BYTES = 8


@dataclass(frozen=True)
class Prediction:
    """One image's result: the winning class and every class's probability."""

    label: int
    class_name: str
    confidence: float
    probabilities: np.ndarray


class Predictor:
    """Shared input handling for every engine; subclasses implement _run on a float32 batch.

    Attributes:
        path, format ("tflite" | "onnx"), quantization ("none" | "float16" | "dynamic" | "int8"
        | "unknown"), size_bytes, input_shape (batch dimension None, as Keras writes it),
        num_classes, class_names, preprocessing.
    """

    format = ""

    def __init__(self, path: Path, size_bytes: int, entry: dict | None, metadata: dict[str, str]):
        self.path = path
        self.size_bytes = size_bytes
        sample = self._sample_shape
        self.input_shape = (None, *sample)
        # Height, width, channels: a model without a channel axis takes one channel.
        self._hwc = (sample[0], sample[1], sample[2] if len(sample) == 3 else 1)
        self.class_names = tuple(_first(entry, metadata, "class_names") or (str(i) for i in range(self.num_classes)))
        if len(self.class_names) != self.num_classes:
            raise ValueError(
                f"{path.name}: {len(self.class_names)} class names for a model with {self.num_classes} outputs; "
                f"fix or remove {MANIFEST_NAME}"
            )
        self.preprocessing = dict(_first(entry, metadata, "preprocessing") or PREPROCESSING)
        self._scale = np.float32(self.preprocessing["scale"])
        self._offset = np.float32(self.preprocessing["offset"])
        self.quantization = _first(entry, metadata, "quantization") or self._detect_quantization()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path.name} {self.quantization} input={self.input_shape}>"

    def predict(self, images, batch_size: int | None = None) -> np.ndarray:
        """Class probabilities for one image or a batch.

        Args:
            images: uint8 pixels (0..255) or floats in [0, 1]; one image (H, W[, C]) or a
                batch (N, H, W[, C]); a missing channel axis of size 1 is added.
            batch_size: images per engine call (default 1000), so memory stays bounded.

        Returns:
            float32 array (N, num_classes); (0, num_classes) for an empty batch.

        Raises:
            TypeError: images are not numeric.
            ValueError: wrong rank, size or channel count; NaN or inf; values out of range.
        """
        batch = self._prepare(images)
        step = batch_size or DEFAULT_BATCH_SIZE
        if not isinstance(step, (int, np.integer)) or step < 1:
            raise ValueError(f"batch_size must be a positive whole number; got {batch_size!r}")
        if len(batch) <= step:
            return self._run(batch)
        out = np.empty((len(batch), self.num_classes), dtype=np.float32)
        for start in range(0, len(batch), step):
            out[start : start + step] = self._run(batch[start : start + step])
        return out

    def predict_one(self, image) -> Prediction:
        """The prediction for a single image (a batch of one is accepted too)."""
        batch = self._prepare(image)
        if len(batch) != 1:
            raise ValueError(f"predict_one takes one image; got a batch of {len(batch)}: use predict() for batches")
        probabilities = self._run(batch)[0]
        label = int(probabilities.argmax())
        return Prediction(label, self.class_names[label], float(probabilities[label]), probabilities)

    def _prepare(self, images) -> np.ndarray:
        """Check images against the model's input and return a float32 batch in the model's layout."""
        x = images if isinstance(images, np.ndarray) else np.asarray(images)
        kind = x.dtype.kind
        if kind not in "uif":
            raise TypeError(
                f"{self.path.name}: images must be numeric (uint8 pixels or floats in [0, 1]); got dtype {x.dtype}"
            )
        x = self._as_batch(x)
        if x.size == 0:
            return x.astype(np.float32)
        lo, hi = x.min(), x.max()
        if kind == "f":
            # NaN fails both comparisons, so one test covers NaN, inf and the range.
            if not (lo >= 0.0 and hi <= 1.0):
                if not np.isfinite(x).all():
                    raise ValueError(f"{self.path.name}: images contain NaN or inf")
                raise ValueError(
                    f"{self.path.name}: float images must be in [0, 1]; got values in [{lo:g}, {hi:g}] "
                    f"(pass uint8 pixels, or divide by 255)"
                )
            return x if x.dtype == np.float32 else x.astype(np.float32)
        if lo < 0 or hi > 255:
            raise ValueError(f"{self.path.name}: integer images must be pixels in 0..255; got values in [{lo}, {hi}]")
        return x.astype(np.float32) * self._scale + self._offset

    def _as_batch(self, x: np.ndarray) -> np.ndarray:
        h, w, c = self._hwc
        shape = x.shape
        if x.ndim == 2 and c == 1 and shape == (h, w):
            batch = x[None]
        elif x.ndim == 3 and shape == (h, w, c):
            batch = x[None]
        elif x.ndim == 3 and c == 1 and shape[1:] == (h, w):
            batch = x
        elif x.ndim == 4 and shape[1:] == (h, w, c):
            batch = x
        else:
            raise ValueError(f"{self.path.name}: {self._shape_problem(shape)}")
        return batch.reshape((len(batch), *self._sample_shape))

    def _shape_problem(self, shape: tuple) -> str:
        h, w, c = self._hwc
        wanted = f"one image ({h}, {w}{f', {c}' if c > 1 else ''}) or a batch (N, {h}, {w}, {c})"
        if len(shape) not in (2, 3, 4):
            return f"expected {wanted}; got an array of shape {shape} (rank {len(shape)})"
        if len(shape) == 2:
            spatial, channels = shape, 1
        elif len(shape) == 4:
            spatial, channels = shape[1:3], shape[3]
        elif shape[1:] == (h, w):
            spatial, channels = shape[1:], 1
        else:
            spatial, channels = shape[:2], shape[2]
        if tuple(spatial) != (h, w):
            return f"expected images of {h}x{w} pixels; got {spatial[0]}x{spatial[1]} (array shape {shape})"
        return f"expected {c} channel{'s' if c > 1 else ''}; got {channels} (array shape {shape}): {wanted}"

    def describe(self) -> dict:
        """The file's input and output tensors: name, shape (batch None), dtype, quantization."""
        raise NotImplementedError

    # Engine-specific parts.
    _sample_shape: tuple[int, ...] = ()
    num_classes = 0

    def _run(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _detect_quantization(self) -> str:
        raise NotImplementedError


class TFLitePredictor(Predictor):
    """A .tflite file on the LiteRT interpreter; integer models are (de)quantized here."""

    format = "tflite"

    def __init__(self, path: Path, content: bytes, entry: dict | None, threads: int | None):
        from ai_edge_litert.interpreter import Interpreter

        try:
            self._interpreter = Interpreter(model_content=content, num_threads=threads)
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            raise ValueError(f"{path.name} is not a valid TFLite model: {_one_line(e)}") from e
        inputs, outputs = self._interpreter.get_input_details(), self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(f"{path.name}: expected one input and one output; got {len(inputs)} and {len(outputs)}")
        self._input, self._output = inputs[0], outputs[0]
        self._sample_shape = tuple(int(d) for d in self._input["shape"][1:])
        self.num_classes = int(self._output["shape"][-1])
        self._batch = int(self._input["shape"][0])
        # Scale and zero point matter only on the integer path; (0.0, 0) means a float tensor.
        self._in_scale, self._in_zero = self._input["quantization"]
        self._out_scale, self._out_zero = self._output["quantization"]
        self._in_dtype = self._input["dtype"]
        self._lock = threading.Lock()  # one interpreter is not safe to call from two threads
        super().__init__(path, len(content), entry, {})

    def _run(self, batch: np.ndarray) -> np.ndarray:
        if self._in_scale:
            info = np.iinfo(self._in_dtype)
            batch = np.clip(np.round(batch / self._in_scale + self._in_zero), info.min, info.max).astype(self._in_dtype)
        with self._lock:
            if len(batch) != self._batch:
                self._interpreter.resize_tensor_input(self._input["index"], [len(batch), *self._sample_shape])
                self._interpreter.allocate_tensors()
                self._batch = len(batch)
            self._interpreter.set_tensor(self._input["index"], batch)
            self._interpreter.invoke()
            out = self._interpreter.get_tensor(self._output["index"])
        if self._out_scale:
            return (out.astype(np.float32) - self._out_zero) * np.float32(self._out_scale)
        return out.astype(np.float32, copy=False)

    def describe(self) -> dict:
        def tensor(details):
            scale, zero_point = details["quantization"]
            return {
                "name": details["name"],
                "shape": [None, *(int(d) for d in details["shape_signature"][1:])],
                "dtype": np.dtype(details["dtype"]).name,
                "quantization": {"scale": float(scale), "zero_point": int(zero_point)} if scale else None,
            }

        return {"input": tensor(self._input), "output": tensor(self._output)}

    def _detect_quantization(self) -> str:
        if self._in_scale:
            return "int8"
        dtypes = {d["dtype"] for d in self._interpreter.get_tensor_details()}
        if np.float16 in dtypes:
            return "float16"
        if np.int8 in dtypes:
            return "dynamic"
        return "none"


class OnnxPredictor(Predictor):
    """A .onnx file on an onnxruntime CPU session (sessions are safe to share between threads)."""

    format = "onnx"

    def __init__(self, path: Path, size_bytes: int, entry: dict | None, threads: int | None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        try:
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own untyped exception classes
            raise ValueError(f"{path.name} is not a valid ONNX model: {_one_line(e)}") from e
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(f"{path.name}: expected one input and one output; got {len(inputs)} and {len(outputs)}")
        if inputs[0].type != "tensor(float)":
            raise ValueError(f"{path.name}: expected a float32 input; got {inputs[0].type}")
        self._input_name, self._output_name = inputs[0].name, outputs[0].name
        dims = inputs[0].shape[1:]
        if not all(isinstance(d, int) for d in dims):
            raise ValueError(f"{path.name}: the input's image dimensions must be fixed; got {inputs[0].shape}")
        self._sample_shape = tuple(dims)
        self.num_classes = int(outputs[0].shape[-1])
        metadata = {k: json.loads(v) for k, v in self._session.get_modelmeta().custom_metadata_map.items()
                    if k in ("class_names", "preprocessing", "quantization")}
        super().__init__(path, size_bytes, entry, metadata)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run([self._output_name], {self._input_name: batch})[0]

    def describe(self) -> dict:
        def tensor(arg):
            return {
                "name": arg.name,
                "shape": [d if isinstance(d, int) else None for d in arg.shape],
                "dtype": "float32" if arg.type == "tensor(float)" else arg.type,
                "quantization": None,
            }

        return {"input": tensor(self._session.get_inputs()[0]), "output": tensor(self._session.get_outputs()[0])}

    def _detect_quantization(self) -> str:
        return "unknown"


def load(path: str | os.PathLike, threads: int | None = None, verify: bool = True) -> Predictor:
    """Load an exported model for inference.

    Args:
        path: a .tflite or .onnx file.
        threads: the engine's intra-op threads (default: the engine's choice).
        verify: when manifest.json sits beside the file, refuse the file unless its sha256
            matches the manifest. False skips the check on purpose.

    Returns:
        A Predictor; class names and preprocessing come from the manifest, else from ONNX
        metadata, else labels are numbers.

    Raises:
        FileNotFoundError: no such file.
        ValueError: unsupported suffix, empty or malformed file, sha256 mismatch.
    """
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"expected a path ending in '.tflite' or '.onnx'; got {str(path)!r}")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive whole number or None; got {threads!r}")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file")
    if not path.is_file():
        raise ValueError(f"{path} is not a file")
    content = path.read_bytes()
    if len(content) < _MIN_MODEL_BYTES:
        raise ValueError(f"{path.name} is {'empty' if not content else f'only {len(content)} bytes'}: not a model file")
    entry = manifest_entry(path)
    if verify and entry is not None:
        actual = sha256_bytes(content)
        if actual != entry.get("sha256"):
            raise ValueError(
                f"{path.name} does not match {MANIFEST_NAME}: sha256 {actual} expected {entry.get('sha256')}; "
                f"re-export it, or load with verify=False to run it anyway"
            )
    if path.suffix.lower() == ".tflite":
        if content[4:8] != _TFLITE_IDENTIFIER:
            raise ValueError(f"{path.name} is not a TFLite model: no 'TFL3' flatbuffer identifier")
        return TFLitePredictor(path, content, entry, threads)
    return OnnxPredictor(path, len(content), entry, threads)


def _first(entry: dict | None, metadata: dict, key: str):
    """A model fact from the manifest entry, else the file's own metadata, else None."""
    if entry and entry.get(key) is not None:
        return entry[key]
    return metadata.get(key)


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 300 else text[:297] + "..."
