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

import numpy as np

from edgeport.export.common import builtin_code, builtin_names, layer_name, runs_keeping_every_tensor
from edgeport.runtime import tflite_file

MARGIN = math.log(256)  # below this distance from the top logit, a class is under one 8-bit output step
INT8_LEVELS = 255
CHUNK = 50  # calibration images per engine call when the logits are read (activations of a deep net add up)


def floor(logits: np.ndarray) -> float:
    """The lowest logit worth resolving on these calibration logits (N, classes)."""
    return float(np.min(np.max(logits, axis=1)) - MARGIN)


def tighten_tflite(model, flatbuffer: bytes, samples: np.ndarray) -> tuple[float, float] | None:
    """Narrow the int8 range of the tensor feeding the final SOFTMAX of a full-int8 .tflite model, in place.

    Int8 kernels derive their multipliers from tensor scales when they are prepared, so
    changing the scale and zero point of the logits tensor is all it takes: the producing
    operator saturates at the new bottom. When shape-only operators (a Flatten's RESHAPE) sit
    between that operator and the softmax, every tensor from the producer's output on gets the
    new parameters, as TFLite's int8 rules ask of them; the range always holds 0.

    Args:
        model: the file as schema.ModelT (edited in place).
        flatbuffer: the same file's bytes, to run it on the samples.
        samples: calibration images, preprocessed float32 (N, *input shape).

    Returns:
        The new (rmin, rmax), or None when nothing was narrowed (no final softmax, per-axis
        or non-int8 logits, logits that do not come from a rescaling operator, or a range
        already tighter).
    """
    graph = model.subgraphs[0]
    softmax = _final_softmax(model, graph)
    if softmax is None:
        return None
    index = int(softmax.inputs[0])
    chain = _rescaled_chain(model, graph, index)
    if chain is None:
        return None
    params = graph.tensors[index].quantization
    scale, zero_point = float(params.scale[0]), int(params.zeroPoint[0])

    source = graph.tensors[int(graph.inputs[0])].quantization
    in_scale, in_zero = float(source.scale[0]), int(source.zeroPoint[0])

    def encode(chunk):
        return np.clip(np.round(chunk / in_scale + in_zero), -128, 127).astype(np.int8)

    parts = [interpreter.get_tensor(index).astype(np.float32)
             for interpreter in runs_keeping_every_tensor(flatbuffer, samples, CHUNK, encode)]
    logits = (np.concatenate(parts) - zero_point) * scale

    rmin, rmax = (-128 - zero_point) * scale, (127 - zero_point) * scale
    # An int8 range must hold 0 (its zero point is one of the 256 codes): logits that all sit far above 0
    # keep the range from 0, still narrower than the calibrated one when that reached below 0.
    low = min(floor(logits), 0.0)
    if low <= rmin or rmax <= 0:
        return None
    new_scale = (rmax - low) / INT8_LEVELS
    new_zero = int(np.clip(round(-128 - low / new_scale), -128, 127))
    for tensor in chain:  # the producer's output and every shape-only step after it keep equal parameters
        graph.tensors[tensor].quantization.scale = np.array([new_scale], dtype=np.float32)
        graph.tensors[tensor].quantization.zeroPoint = np.array([new_zero], dtype=np.int64)
    return low, rmax


# A 16-bit head: the logits' scale (symmetric, zero point 0), and the softmax's int16 output, as TFLite's and
# TFLM's int16 SOFTMAX kernels require it.
INT16_LEVELS = 32767
SOFTMAX_INT16_SCALE = 1 / 32768


def widen_head(model) -> list[str] | None:
    """Compute a full-int8 .tflite model's classifier head in 16 bits, in place: QUANTIZE to int16 before the
    final FULLY_CONNECTED (or 1x1 CONV_2D, MobileNetV3's), its logits and the SOFTMAX in int16, and a QUANTIZE
    back to the int8 output.

    Two classes whose int8 logits are equal come out equal, and argmax then picks the lower index. On
    briefly fitted networks, whose leading classes are often close, these ties were most disagreements with
    Keras that an int8 file had (EfficientNetV2B0 64x64: 247 of 459 on 10,000 pictures; no tie had different
    int8 logits). In int16 the logits have 256 times the steps. The input, the output and every other tensor
    stay int8; TFLite and TFLM run the 16x8 FULLY_CONNECTED (int64 bias), the int16 SOFTMAX and the
    int8/int16 QUANTIZE with their own kernels.

    Returns:
        The layers now computed in int16 (the dense layer and the softmax), or None when the model does
        not end in a FULLY_CONNECTED or CONV_2D (then shape-only steps) read only by one final SOFTMAX, with
        per-tensor int8 input and logits.
    """
    schema = tflite_file.schema()
    ops, types = schema.BuiltinOperator, schema.TensorType
    graph = model.subgraphs[0]
    softmax = _final_softmax(model, graph)
    if softmax is None or _readers(graph, int(softmax.inputs[0])) != [softmax] or softmax.inputs[0] in graph.outputs:
        return None  # the logits read by something else too: that reader takes int8
    chain = _rescaled_chain(model, graph, int(softmax.inputs[0]))  # the logits, back through a Flatten's RESHAPE
    dense = next((op for op in graph.operators if chain and chain[-1] in [int(t) for t in op.outputs]), None)
    if dense is None or builtin_code(model, dense) not in (ops.FULLY_CONNECTED, ops.CONV_2D):
        return None
    logits = chain[-1]
    features, weights, *bias = [int(t) for t in dense.inputs]
    if not _per_tensor_int8(graph.tensors[features], types):
        return None

    def scale_of(index):
        params = graph.tensors[index].quantization
        return float(params.scale[0]), int(params.zeroPoint[0])

    def tensor(like, kind, scale, name: str, data: bytes | None = None) -> int:
        made = schema.TensorT()
        made.shape, made.shapeSignature, made.type, made.name = like.shape, like.shapeSignature, kind, name
        made.quantization = schema.QuantizationParametersT()
        made.quantization.scale = np.asarray(scale, dtype=np.float32).ravel()
        made.quantization.zeroPoint = np.zeros(made.quantization.scale.shape, dtype=np.int64)
        buffer = schema.BufferT()
        if data is not None:
            buffer.data = np.frombuffer(data, dtype=np.uint8)
        model.buffers.append(buffer)
        made.buffer = len(model.buffers) - 1
        graph.tensors.append(made)
        return len(graph.tensors) - 1

    # The int8 features, exactly, on an int16 grid; the bias (int32 at the features' scale times the weights')
    # at the new scale, in the 64 bits TFLite's 16x8 kernels take.
    scale, zero = scale_of(features)
    wide_scale = _int16_scale(scale, zero)
    wide_features = tensor(graph.tensors[features], types.INT16, [wide_scale], f"{_name(graph, features)}/int16")
    inputs = [wide_features, weights]
    if bias and bias[0] >= 0:
        stored = graph.tensors[bias[0]]
        old = np.frombuffer(bytes(model.buffers[stored.buffer].data), dtype=np.int32).astype(np.float64)
        wide_bias = np.round(old * scale / wide_scale).astype(np.int64)
        inputs.append(tensor(stored, types.INT64, wide_scale * graph.tensors[weights].quantization.scale.astype(
            np.float64), f"{_name(graph, bias[0])}/int64", wide_bias.tobytes()))
    dense.inputs = np.array(inputs, dtype=np.int32)
    # The logits keep their int8 range (narrowed by tighten_tflite), symmetric on 65,535 steps, through every
    # shape-only step to the softmax.
    scale, zero = scale_of(logits)
    for index in chain:
        wide = graph.tensors[index]
        wide.type = types.INT16
        wide.quantization.scale = np.array([_int16_scale(scale, zero)], dtype=np.float32)
        wide.quantization.zeroPoint = np.array([0], dtype=np.int64)
    output = int(softmax.outputs[0])
    probabilities = tensor(graph.tensors[output], types.INT16, [SOFTMAX_INT16_SCALE], f"{_name(graph, output)}/int16")
    softmax.outputs = np.array([probabilities], dtype=np.int32)
    operators = list(graph.operators)
    operators.insert(operators.index(dense), _quantize(model, schema, features, wide_features))
    operators.insert(operators.index(softmax) + 1, _quantize(model, schema, probabilities, output))
    graph.operators = operators
    return [layer_name(_name(graph, logits)), "softmax"]


def _int16_scale(scale: float, zero_point: int) -> float:
    """The symmetric int16 scale (zero point 0) whose range holds an int8 tensor's whole range."""
    return max(128 + zero_point, 127 - zero_point) * scale / INT16_LEVELS


def _readers(graph, index: int) -> list:
    return [op for op in graph.operators if index in [int(t) for t in op.inputs]]


def _per_tensor_int8(tensor, types) -> bool:
    params = tensor.quantization
    return tensor.type == types.INT8 and params is not None and params.scale is not None and len(params.scale) == 1


def _name(graph, index: int) -> str:
    name = graph.tensors[index].name
    return name.decode() if isinstance(name, bytes) else str(name)


def _quantize(model, schema, source: int, target: int):
    """A QUANTIZE operator from source to target (requantizing between int8 and int16), its code added once."""
    code = schema.BuiltinOperator.QUANTIZE
    index = next((i for i, c in enumerate(model.operatorCodes) if max(c.builtinCode, c.deprecatedBuiltinCode) == code),
                 None)
    if index is None:
        entry = schema.OperatorCodeT()
        entry.builtinCode = entry.deprecatedBuiltinCode = code
        entry.version = 3  # TFLite's version for a QUANTIZE that reads int16
        model.operatorCodes.append(entry)
        index = len(model.operatorCodes) - 1
    operator = schema.OperatorT()
    operator.opcodeIndex = index
    operator.inputs, operator.outputs = np.array([source], dtype=np.int32), np.array([target], dtype=np.int32)
    return operator


def _final_softmax(model, graph):
    """The graph's one SOFTMAX, when its output is a graph output; else None."""
    softmax = [op for op in graph.operators if builtin_code(model, op) == tflite_file.schema().BuiltinOperator.SOFTMAX]
    return softmax[0] if len(softmax) == 1 and softmax[0].outputs[0] in graph.outputs else None


# Operators whose int8 output parameters are their own: the kernel requantizes into whatever scale the
# output tensor has. Others (RESHAPE, pooling, CONCATENATION...) must keep their input's parameters.
_RESCALING = ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "BATCH_MATMUL", "ADD", "SUB",
              "MUL", "MEAN", "SUM")
# Operators that only move values: TFLite's int8 rules give their output the input's scale and zero point.
_SHAPE_ONLY = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")


def _rescaled_chain(model, graph, index: int) -> list[int] | None:
    """The tensors from the softmax's input back through shape-only operators to the output of the operator that
    rescales into them, or None when their parameters cannot be moved together.

    They cannot when a tensor on the way is not per-tensor int8, is read by another operator or is a graph
    output (its readers would see the narrowed range), or when the chain does not start at a rescaling
    operator (its output must keep its input's parameters).
    """
    schema = tflite_file.schema()

    names = builtin_names()
    producers = {int(t): op for op in graph.operators for t in op.outputs}
    readers: dict[int, int] = {}
    for op in graph.operators:
        if builtin_code(model, op) == schema.BuiltinOperator.SHAPE:  # reads dimensions, not values
            continue
        for t in op.inputs:
            readers[int(t)] = readers.get(int(t), 0) + 1
    chain = [index]
    while True:
        tensor = graph.tensors[chain[-1]]
        params = tensor.quantization
        if (tensor.type != schema.TensorType.INT8 or params is None or params.scale is None
                or len(params.scale) != 1):
            return None
        if len(chain) > 1 and (readers.get(chain[-1], 0) != 1 or chain[-1] in graph.outputs):
            return None
        producer = producers.get(chain[-1])
        name = names.get(builtin_code(model, producer)) if producer is not None else None
        if name in _RESCALING:
            return chain
        if name not in _SHAPE_ONLY:
            return None
        chain.append(int(producer.inputs[0]))


def onnx_head(path) -> list[str] | None:
    """The layers an ONNX file's 16-bit head would compute (onnx_overrides(wide=True)): the one producing the
    final Softmax's logits, and the softmax; None when the model does not end in one Softmax."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    softmax = _final_onnx_softmax(graph)
    if softmax is None:
        return None
    producer = next((n for n in graph.node if softmax.input[0] in n.output), None)
    return [layer_name(producer.name if producer is not None else softmax.input[0]), "softmax"]


def _final_onnx_softmax(graph):
    """The graph's one Softmax node, when its output is a graph output; else None."""
    outputs = {o.name for o in graph.output}
    softmax = [n for n in graph.node if n.op_type == "Softmax"]
    return softmax[0] if len(softmax) == 1 and softmax[0].output[0] in outputs else None


def onnx_overrides(prepared, batch: np.ndarray, wide: bool = False) -> dict:
    """onnxruntime TensorQuantOverrides that narrow the range of the final Softmax's input.

    Args:
        prepared: the pre-processed float ModelProto that is about to be quantized.
        batch: calibration images, preprocessed float32, as the model takes them.

    Returns:
        {logits tensor: [{"rmin", "rmax"}]}, or {} when the model does not end in one Softmax. wide: the
        logits and the probabilities in 16 bits as well (com.microsoft's Q/DQ; the head onnx_head names).
    """
    import onnx
    import onnxruntime as ort

    softmax = _final_onnx_softmax(prepared.graph)
    if softmax is None:
        return {}
    name = softmax.input[0]
    probe = onnx.ModelProto()
    probe.CopyFrom(prepared)
    probe.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0].name
    logits = np.concatenate([session.run([name], {feed: batch[start:start + CHUNK]})[0]
                             for start in range(0, len(batch), CHUNK)])
    low, high = max(floor(logits), float(logits.min())), float(logits.max())
    narrowed = {"rmin": np.array(low, dtype=np.float32), "rmax": np.array(high, dtype=np.float32)}
    if not wide:
        return {name: [narrowed]}
    from onnxruntime.quantization import QuantType

    return {name: [narrowed | {"quant_type": QuantType.QInt16}],
            softmax.output[0]: [{"quant_type": QuantType.QUInt16}]}
