"""A tighter 8-bit range for the logits that feed a model's final Softmax.

Calibration gives the logits tensor its observed range, which for a classifier spans the very
negative logits of unlikely classes too (-37 to 22 for the seed model: one int8 step is 0.23).
Two classes whose logits differ by less than a step become equal, and argmax then picks the
lower index: on the seed model 72 of the 75 images where plain int8 disagreed with Keras were
such exact ties.

Only the logits near the top matter. A logit more than ln(256) below the image's top logit
gives a probability below 1/256 of the top one, under one step of an 8-bit output. So the range
may start at the lowest top logit seen on the calibration images minus ln(256): logits below it
saturate at the bottom, which changes no argmax and no visible probability, and the step shrinks
(0.11 for the seed model).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

MARGIN = math.log(256)  # below this distance from the top logit, a class is under one 8-bit output step
INT8_LEVELS = 255


def floor(logits: np.ndarray) -> float:
    """The lowest logit worth resolving on these calibration logits (N, classes)."""
    return float(np.min(np.max(logits, axis=1)) - MARGIN)


def tighten_tflite(model, flatbuffer: bytes, samples: np.ndarray) -> tuple[float, float] | None:
    """Narrow the int8 range of the tensor feeding the final SOFTMAX of a full-int8 .tflite model, in place.

    Int8 kernels derive their multipliers from tensor scales when they are prepared, so
    changing the scale and zero point of the logits tensor is all it takes: the producing
    operator saturates at the new bottom.

    Args:
        model: the file as schema.ModelT (edited in place).
        flatbuffer: the same file's bytes, to run it on the samples.
        samples: calibration images, preprocessed float32 (N, *input shape).

    Returns:
        The new (rmin, rmax), or None when nothing was narrowed (no final softmax, per-axis
        or non-int8 logits, or a range already tighter).
    """
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter

    graph = model.subgraphs[0]
    softmax = [op for op in graph.operators
               if model.operatorCodes[op.opcodeIndex].builtinCode == schema.BuiltinOperator.SOFTMAX]
    if len(softmax) != 1 or softmax[0].outputs[0] not in graph.outputs:
        return None
    index = int(softmax[0].inputs[0])
    tensor = graph.tensors[index]
    params = tensor.quantization
    if tensor.type != schema.TensorType.INT8 or params is None or params.scale is None or len(params.scale) != 1:
        return None
    scale, zero_point = float(params.scale[0]), int(params.zeroPoint[0])

    with warnings.catch_warnings():  # "intended for debugging purposes only": we read one tensor, once
        warnings.simplefilter("ignore", UserWarning)
        interpreter = Interpreter(model_content=flatbuffer, experimental_preserve_all_tensors=True)
    source = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(source["index"], samples.shape)
    interpreter.allocate_tensors()
    in_scale, in_zero = source["quantization"]
    quantized = np.clip(np.round(samples / in_scale + in_zero), -128, 127).astype(np.int8)
    interpreter.set_tensor(source["index"], quantized)
    interpreter.invoke()
    logits = (interpreter.get_tensor(index).astype(np.float32) - zero_point) * scale

    rmin, rmax = (-128 - zero_point) * scale, (127 - zero_point) * scale
    low = floor(logits)
    if low <= rmin:
        return None
    new_scale = (rmax - low) / INT8_LEVELS
    params.scale = np.array([new_scale], dtype=np.float32)
    params.zeroPoint = np.array([int(round(-128 - low / new_scale))], dtype=np.int64)
    return low, rmax


def onnx_overrides(prepared, batch: np.ndarray) -> dict:
    """onnxruntime TensorQuantOverrides that narrow the range of the final Softmax's input.

    Args:
        prepared: the pre-processed float ModelProto that is about to be quantized.
        batch: calibration images, preprocessed float32, as the model takes them.

    Returns:
        {logits tensor: [{"rmin", "rmax"}]}, or {} when the model does not end in one Softmax.
    """
    import onnx
    import onnxruntime as ort

    outputs = {o.name for o in prepared.graph.output}
    softmax = [n for n in prepared.graph.node if n.op_type == "Softmax"]
    if len(softmax) != 1 or softmax[0].output[0] not in outputs:
        return {}
    name = softmax[0].input[0]
    probe = onnx.ModelProto()
    probe.CopyFrom(prepared)
    probe.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    logits = session.run([name], {session.get_inputs()[0].name: batch})[0]
    low, high = max(floor(logits), float(logits.min())), float(logits.max())
    return {name: [{"rmin": np.array(low, dtype=np.float32), "rmax": np.array(high, dtype=np.float32)}]}
