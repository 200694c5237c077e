"""float32 .tflite -> 16x8, int4-weight and mixed int8 files with LiteRT Quantizer.

LiteRT's documentation calls post-training quantization inside TFLiteConverter deprecated in
favour of LiteRT Quantizer, whose recipes and per-layer regex configs build the rungs that
TFLiteConverter cannot: int16 activations, 4-bit weights, and layers kept in float.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeport.export.calibration import calibration_batch
from edgeport.export.common import (
    CapturedOutput,
    ExportError,
    Quantization,
    builtin_code,
    check_suffix,
    layer_name,
)
from edgeport.export.tflite import file_facts, with_metadata
from edgeport.runtime import tflite_file
from edgeport.runtime.files import write_bytes_atomic
from edgeport.runtime.modelinfo import ModelInfo

# The ops that hold weights: what a "layer" is when ranking and keeping layers in float.
WEIGHTED_OPS = ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "BATCH_MATMUL")
_MIN_MAX = "min_max_uniform_quantize"


@dataclass(frozen=True)
class TFLitePlan:
    """One LiteRT Quantizer build: a quantization mode and its per-layer exceptions.

    Attributes:
        quantization: INT8 (int8 activations), INT16 (int16 activations), INT4 (4-bit weights,
            float activations) or MIXED (int8, with float_layers kept in float).
        float_layers: layers (names from layers()) that stay in float.
        wide_layers: for INT4, layers whose weights stay 8-bit.
        only_layers: quantize these layers alone and nothing else (a sensitivity probe).
        integer_activations: for INT4, int8 activations and integer input and output, with one scale per weight
            tensor: what TFLM's packed 4-bit kernels run (it refuses per-channel 4-bit weights).
        int16_layers: for INT8, layers whose activations are int16 (16x8: int8 weights, int64 biases); the
            quantizer puts a QUANTIZE between them and their int8 neighbours, and TFLM runs both.
    """

    quantization: Quantization
    float_layers: tuple[str, ...] = ()
    wide_layers: tuple[str, ...] = ()
    only_layers: tuple[str, ...] | None = None
    integer_activations: bool = False
    int16_layers: tuple[str, ...] = ()


def _weighted(path: str | os.PathLike):
    """The weighted operators of a .tflite file, in graph order: (layer name, output tensor name, weights or None).

    A layer's name is its output tensor's TensorFlow scope ("mlp_1/dense_1"), which tf2onnx gives the
    matching ONNX nodes too, so both formats name a layer the same way. Its weights are the float32
    constant of its second input, output channels first (None when it has none: a quantized file).
    """
    schema = tflite_file.schema()
    model = tflite_file.objects(path)
    ops = schema.BuiltinOperator
    codes = {getattr(ops, name) for name in WEIGHTED_OPS if hasattr(ops, name)}
    graph = model.subgraphs[0]
    for op in graph.operators:
        code = builtin_code(model, op)
        if code not in codes:
            continue
        output = graph.tensors[op.outputs[0]].name.decode()
        weights = None
        if len(op.inputs) >= 2:
            tensor = graph.tensors[op.inputs[1]]
            data = model.buffers[tensor.buffer].data
            if tensor.type == schema.TensorType.FLOAT32 and data is not None and len(data):
                weights = np.frombuffer(bytes(data), np.float32).reshape(tensor.shape)
                # DEPTHWISE_CONV_2D keeps its channels last ([1, h, w, channels]); the others first.
                weights = np.moveaxis(weights, -1, 0) if code == ops.DEPTHWISE_CONV_2D else weights
        yield layer_name(output), output, weights


def layers(path: str | os.PathLike) -> dict[str, str]:
    """The weighted layers of a .tflite file, in graph order: {layer name: its output tensor name}."""
    return {name: output for name, output, _ in _weighted(path)}


def layer_weights(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Each weighted layer's float weights, output channels first: {layer name (as layers()): array}."""
    return {name: weights for name, _, weights in _weighted(path) if weights is not None}


def quantize_tflite(src: str | os.PathLike, dst: str | os.PathLike, plan: TFLitePlan, info: ModelInfo,
                    calibration_images=None) -> Path:
    """Quantize a float32 .tflite file with LiteRT Quantizer according to plan.

    Args:
        src: a float32 .tflite file (export.to_tflite).
        dst: where to write; must end in '.tflite'. Written whole or not at all.
        plan: what to build.
        info: the facts the file carries in its metadata (export.model_info); its preprocessing
            turns calibration pixels into model input.
        calibration_images: uint8 pixels or floats in [0, 1]; needed by INT8, INT16 and MIXED.

    Raises:
        ValueError: a bad path, plan or missing calibration images. ExportError: the quantizer failed.
    """
    from litert_quantizer import Quantizer, qtyping

    src, dst = check_suffix(src, ".tflite"), check_suffix(dst, ".tflite")
    mode = plan.quantization
    from edgeport.export.rungs import LITERT_QUANTIZER, check_mode  # the rung table imports this module

    check_mode(LITERT_QUANTIZER, mode, "LiteRT Quantizer builds {modes_in_words} files; got {got}")
    if (mode.calibrated or plan.integer_activations) and calibration_images is None:
        raise ValueError(f"{mode.value} quantization needs calibration images to measure activation ranges")
    names = layers(src)
    if plan.int16_layers and mode is not Quantization.INT8:
        raise ValueError(f"int16 activations on some layers are an int8 file's option; got {mode.value}")
    unknown = [name for name in (*plan.float_layers, *plan.wide_layers, *(plan.only_layers or ()), *plan.int16_layers)
               if name not in names]
    if unknown:
        raise ValueError(f"{src.name} has no layer {', '.join(unknown)}; its layers are {', '.join(names)}")
    everything = qtyping.TFLOperationName.ALL_SUPPORTED
    output = CapturedOutput()
    try:
        with output.capture():
            quantizer = Quantizer(str(src))
            scopes = [_scope(names[n]) for n in plan.only_layers] if plan.only_layers is not None else [".*"]
            for scope in scopes:
                if mode is Quantization.INT4 and plan.integer_activations:
                    quantizer.add_static_config(scope, everything, 8, 4, qtyping.QuantGranularity.TENSORWISE)
                elif mode is Quantization.INT4:
                    quantizer.add_weight_only_config(scope, everything, 4, algorithm_key=_MIN_MAX)
                else:
                    quantizer.add_static_config(scope, everything, 16 if mode is Quantization.INT16 else 8, 8)
            for name in plan.int16_layers:  # the layer's operators: its weighted one and its activation's
                quantizer.add_static_config(f"^{re.escape(name)}/", everything, 16, 8)
            for name in plan.wide_layers:
                quantizer.add_weight_only_config(_scope(names[name]), everything, 8, algorithm_key=_MIN_MAX)
            for name in plan.float_layers:
                quantizer.update_quantization_recipe(_scope(names[name]), everything, None, "no_quantize")
            calibration = None
            if quantizer.need_calibration:
                calibration = quantizer.calibrate(_signature_data(src, calibration_images, info.preprocessing), num_threads=1)
            flatbuffer = bytes(quantizer.quantize(calibration, enable_progress_report=False).quantized_model)
    except Exception as e:  # the quantizer raises many unrelated types
        raise ExportError(f"LiteRT Quantizer ({mode.value}) of {src.name} failed: {e}{output.tail()}") from e
    write_bytes_atomic(dst, with_metadata(flatbuffer, file_facts(info, mode)))
    return dst


def _scope(tensor: str) -> str:
    """The regex of one op's scope: LiteRT Quantizer matches its output tensor names, each followed by ';'."""
    return f"^{re.escape(tensor)};"


def _signature_data(src: Path, images, preprocessing) -> dict:
    """Calibration images as LiteRT Quantizer takes them: {signature: [{input name: one image}]}."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(src))
    (signature, details), = interpreter.get_signature_list().items()
    (input_name,) = details["inputs"]
    batch = calibration_batch(images, interpreter.get_input_details()[0]["shape"][1:], preprocessing)
    return {signature: [{input_name: sample[None].astype(np.float32)} for sample in batch]}
