"""Keras -> ONNX with tf2onnx, and ONNX float32 -> int8 with onnxruntime quantization."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from edgeport.export.calibration import calibration_batch
from edgeport.export.common import CapturedOutput, ExportError, Quantization, check_suffix
from edgeport.export.modelfacts import model_info
from edgeport.runtime.modelinfo import ModelInfo, Preprocessing
from edgeport.runtime.files import write_bytes_atomic

INPUT_NAME = "images"
OUTPUT_NAME = "probabilities"
MIN_OPSET, MAX_OPSET = 13, 18  # what tf2onnx 1.17 and onnxruntime 1.32 both take
CALIBRATION_BATCH = 50


def to_onnx(model, path: str | os.PathLike, opset: int = 17, info: ModelInfo | None = None) -> Path:
    """Convert a Keras model to a float32 .onnx file.

    tf2onnx.convert.from_keras fails on Keras 3 models, so this converts a tf.function of the
    model with an explicit input signature whose batch dimension is None.

    Args:
        model: a Keras classifier.
        path: where to write; must end in '.onnx'. Written whole or not at all.
        opset: ONNX opset, 13..18.
        info: class names, preprocessing, output kind and background, stored in
            metadata_props so that a lone copy of the file still predicts with the right labels
            (default: export.model_info(model)).

    Returns:
        The path written. The input is named 'images', the output 'probabilities'; class
        names, preprocessing and quantization are in the model's metadata_props.

    Raises:
        ValueError: a bad path or opset. ExportError: the converter failed.
    """
    path = check_suffix(path, ".onnx")
    check_opset(opset)
    info = info or model_info(model)
    import onnx
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name=INPUT_NAME),)
    function = tf.function(lambda images: model(images, training=False), input_signature=spec)
    metadata = {**info.to_json(), "quantization": Quantization.NONE.value}
    output = CapturedOutput()
    try:
        with output.capture():
            proto, _ = tf2onnx.convert.from_function(function, input_signature=spec, opset=opset)
        _rename_output(proto.graph, OUTPUT_NAME)
        _set_metadata(proto, metadata)
        onnx.checker.check_model(proto)
    except Exception as e:  # tf2onnx and the checker raise many unrelated types
        raise ExportError(f"ONNX conversion (opset {opset}) of model {model.name!r} failed: {e}{output.tail()}") from e
    write_bytes_atomic(path, proto.SerializeToString())
    return path


def check_opset(opset) -> None:
    if not isinstance(opset, int) or isinstance(opset, bool) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"opset must be a whole number from {MIN_OPSET} to {MAX_OPSET}; got {opset!r}")


def quantize_onnx(src: str | os.PathLike, dst: str | os.PathLike, calibration_images=None) -> Path:
    """Quantize a float32 .onnx file to int8 with onnxruntime.quantization.

    With calibration images: static QDQ quantization, per-channel int8 weights, uint8
    activations calibrated (MinMax) on the images, which go through the preprocessing recorded
    in src's metadata_props. Without: dynamic quantization (int8 weights, activations
    quantized at run time). The recommended pre-processing (shape inference and graph
    optimisation) runs first; metadata_props are carried over.

    Returns:
        dst, written whole or not at all.

    Raises:
        FileNotFoundError: src is missing. ValueError: bad paths or images.
        ExportError: quantization failed.
    """
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src, dst = check_suffix(src, ".onnx"), check_suffix(dst, ".onnx")
    if not src.is_file():
        raise FileNotFoundError(f"{src}: no such ONNX file to quantize")
    try:
        source = onnx.load(str(src))
    except Exception as e:
        raise ValueError(f"{src} is not a valid ONNX model: {e}") from e
    input_name = source.graph.input[0].name
    batch = None
    if calibration_images is not None:
        dims = [d.dim_value for d in source.graph.input[0].type.tensor_type.shape.dim[1:]]
        recorded = {p.key: p.value for p in source.metadata_props}.get("preprocessing")
        preprocessing = Preprocessing.from_json(json.loads(recorded)) if recorded else Preprocessing.unit()
        batch = calibration_batch(calibration_images, dims, preprocessing)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._chunks = iter(np.array_split(batch, max(1, len(batch) // CALIBRATION_BATCH)))

        def get_next(self):
            chunk = next(self._chunks, None)
            return None if chunk is None else {input_name: chunk}

    output = CapturedOutput()
    with tempfile.TemporaryDirectory(prefix="edgeport-quant-") as tmp:
        prepared, quantized = Path(tmp) / "prepared.onnx", Path(tmp) / "quantized.onnx"
        try:
            with output.capture():
                quant_pre_process(str(src), str(prepared))
                if batch is None:
                    quantize_dynamic(str(prepared), str(quantized), weight_type=QuantType.QInt8)
                else:
                    quantize_static(
                        str(prepared), str(quantized), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    )
            result = onnx.load(str(quantized))
            metadata = {p.key: p.value for p in source.metadata_props}
            metadata["quantization"] = json.dumps("int8" if batch is not None else Quantization.DYNAMIC.value)
            _set_metadata(result, metadata, encoded=True)
            onnx.checker.check_model(result)
        except Exception as e:
            raise ExportError(f"ONNX quantization of {src.name} failed: {e}{output.tail()}") from e
    write_bytes_atomic(dst, result.SerializeToString())
    return dst


def input_quantization(path: str | os.PathLike) -> dict | None:
    """Scale and zero point of the QuantizeLinear that takes the model's input, if any."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "QuantizeLinear" and node.input[0] == graph.input[0].name:
            scale, zero = constants.get(node.input[1]), constants.get(node.input[2])
            if scale is not None and zero is not None:
                return {"scale": float(scale), "zero_point": int(zero), "dtype": str(zero.dtype)}
    return None


def quantized_op_types(path: str | os.PathLike) -> set[str]:
    """The operator types of a model, to show that a quantized file holds quantized operators."""
    import onnx

    return {node.op_type for node in onnx.load(str(path)).graph.node}


def _rename_output(graph, name: str) -> None:
    old = graph.output[0].name
    for node in graph.node:
        node.output[:] = [name if out == old else out for out in node.output]
        node.input[:] = [name if inp == old else inp for inp in node.input]
    graph.output[0].name = name


def _set_metadata(proto, values: dict, encoded: bool = False) -> None:
    """Replace metadata_props with values (JSON-encoded unless already encoded)."""
    del proto.metadata_props[:]
    for key, value in values.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value if encoded else json.dumps(value)
