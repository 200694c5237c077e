"""A .onnx or .ort file on an onnxruntime CPU session; external data only from the file's own folder."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import numpy as np

from edgeport.runtime.errors import ModelFileError
from edgeport.runtime.manifest import FileEntry, PhoneEntry
from edgeport.runtime.predictor import _METADATA_KEYS, Predictor, _one_line

_EXTERNAL_DATA_FOLDER = "session.model_external_initializers_file_folder_path"  # onnxruntime's session option
_NO_FOLDER = "/nonexistent/edgeport-refuses-external-data"


class OnnxPredictor(Predictor):
    """A .onnx or .ort file on an onnxruntime CPU session (sessions are safe to share between threads).

    A file whose batch dimension is fixed (the phone copies export writes are batch 1) runs in
    slices of that size; a short last slice is padded and the padding's rows dropped.
    """

    format = "onnx"
    kernels = "onnxruntime CPU"

    def __init__(self, path: Path, content: bytes, entry: FileEntry | PhoneEntry | None, threads: int | None,
                 data_dir: Path | None = None):
        import onnxruntime as ort

        self.format = "ort" if path.suffix.lower() == ".ort" else "onnx"
        kind = "ORT-format" if self.format == "ort" else "ONNX"

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        # A model given as bytes would find its external data in the working folder: look beside the file
        # instead, or (data_dir None) in a folder that does not exist, which refuses any.
        options.add_session_config_entry(_EXTERNAL_DATA_FOLDER, str(data_dir or _NO_FOLDER))
        if self.format == "onnx":
            _check_external_data(path, content, data_dir)
        try:
            # On some malformed files onnxruntime prints an "EP Error" banner to stdout before
            # retrying and raising; the caller gets our one-line error instead.
            with contextlib.redirect_stdout(io.StringIO()):
                self._session = ort.InferenceSession(content, options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own untyped exception classes
            raise ModelFileError(f"{path.name} is not a valid {kind} model: {_one_line(e)}") from e
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelFileError(f"{path.name}: expected one input and one output; got {len(inputs)} and {len(outputs)}")
        if inputs[0].type != "tensor(float)":
            raise ModelFileError(f"{path.name}: expected a float32 input; got {inputs[0].type}")
        self._input_name, self._outputs = inputs[0].name, [outputs[0].name]
        dims = inputs[0].shape[1:]
        if not all(isinstance(d, int) for d in dims):
            raise ModelFileError(f"{path.name}: the input's image dimensions must be fixed; got {inputs[0].shape}")
        self._sample_shape = tuple(dims)
        batch = inputs[0].shape[0]
        self.fixed_batch = batch if isinstance(batch, int) and batch > 0 else None
        self.num_classes = int(outputs[0].shape[-1])
        super().__init__(path, len(content), entry, self._metadata(path))
        # Dynamic quantization scales activations by the whole batch's range (DynamicQuantizeLinear is per tensor).
        self.batch_dependent = self.quantization == "dynamic"

    def _metadata(self, path: Path) -> dict:
        """Class names, preprocessing and quantization from the file's metadata_props (JSON values)."""
        try:
            props = self._session.get_modelmeta().custom_metadata_map
            return {k: json.loads(v) for k, v in props.items() if k in _METADATA_KEYS}
        except ValueError as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise ModelFileError(f"{path.name} has unreadable metadata_props: {_one_line(e)}") from e

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        return self._in_steps(batch, 1 if self.batch_dependent else self.fixed_batch)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        try:
            return self._session.run(self._outputs, {self._input_name: batch})[0]
        except Exception as e:  # onnxruntime's own exception classes, for a model that loads but cannot run
            raise ModelFileError(f"{self.path.name}: onnxruntime could not run this model: {_one_line(e)}") from e

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


# How an ONNX tensor names its external data file: a StringStringEntryProto whose key (field 1) is "location",
# followed by its value (field 2, length-delimited).
_LOCATION_KEY = b"\x0a\x08location\x12"


def _external_locations(content: bytes) -> list[str]:
    """The external data files an ONNX file's tensors name, read from its protobuf bytes (no onnx package)."""
    locations, at = [], content.find(_LOCATION_KEY)
    while at >= 0:
        start, size, shift = at + len(_LOCATION_KEY), 0, 0
        while start < len(content) and shift < 35:  # the value's length, a varint
            size |= (content[start] & 0x7F) << shift
            start, shift = start + 1, shift + 7
            if not content[start - 1] & 0x80:
                break
        locations.append(content[start : start + size].decode("utf-8", "backslashreplace"))
        at = content.find(_LOCATION_KEY, start)
    return locations


def _check_external_data(path: Path, content: bytes, data_dir: Path | None) -> None:
    """Refuse external data outside the file's own folder (or any, when data_dir is None), before onnxruntime
    reads it; onnxruntime's own folder option stays as a second guard."""
    for location in _external_locations(content):
        if data_dir is None:
            where = "(only the file's own checked bytes run here)"
        elif os.path.commonpath([os.path.realpath(data_dir), os.path.realpath(os.path.join(data_dir, location))]) \
                != os.path.realpath(data_dir):
            where = "outside its own folder"
        else:
            continue
        raise ModelFileError(f"{path.name} refers to external data {where}, which is refused: {location}")
