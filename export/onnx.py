"""Keras -> ONNX with tf2onnx (quantization of the result: export/onnx_quant.py)."""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path

from edgeport.export.common import (
    CapturedOutput,
    ExportError,
    Quantization,
    check_opset,
    check_suffix,
    frozen_function,
)
from edgeport.export.modelfacts import model_info
from edgeport.runtime.modelinfo import ModelInfo
from edgeport.runtime.files import write_bytes_atomic

INPUT_NAME = "images"
OUTPUT_NAME = "probabilities"
_CALL_SCOPE = re.compile(r"^.*StatefulPartitionedCall(?:_\d+)?/")


def to_onnx(model, path: str | os.PathLike, opset: int = 17, info: ModelInfo | None = None, frozen=None) -> Path:
    """Convert a Keras model to a float32 .onnx file.

    tf2onnx.convert.from_keras fails on Keras 3 models, so this converts the GraphDef of the
    model's frozen inference function (export.common.frozen_function), batch dimension None.

    Args:
        model: a Keras classifier.
        path: where to write; must end in '.onnx'. Written whole or not at all.
        opset: ONNX opset, 13..18.
        info: class names, preprocessing, output kind and background, stored in
            metadata_props so that a lone copy of the file still predicts with the right labels
            (default: export.model_info(model)).
        frozen: the model's frozen_function, when the caller already has it.

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
    import tf2onnx

    _register_missing_ops()
    metadata = {**info.to_json(), "quantization": Quantization.NONE.value}
    output = CapturedOutput()
    try:
        with output.capture():
            frozen = frozen or frozen_function(model)
            inputs, outputs = [t.name for t in frozen.inputs], [t.name for t in frozen.outputs]
            proto, _ = tf2onnx.convert.from_graph_def(frozen.graph.as_graph_def(), input_names=inputs,
                                                      output_names=outputs, opset=opset,
                                                      tensors_to_rename={inputs[0]: INPUT_NAME,
                                                                         outputs[0]: OUTPUT_NAME})
        _check_single(proto.graph)
        _drop_call_scopes(proto.graph)
        set_metadata(proto, metadata)
        onnx.checker.check_model(proto)
    except Exception as e:  # tf2onnx and the checker raise many unrelated types
        raise ExportError(f"ONNX conversion (opset {opset}) of model {model.name!r} failed: {e}{output.tail()}") from e
    write_bytes_atomic(path, proto.SerializeToString())
    return path


def _check_single(graph) -> None:
    """Refuse a converted graph that does not take one input and give one output (they would not be the model's)."""
    if len(graph.input) != 1 or len(graph.output) != 1:
        raise ValueError(f"the graph has inputs {', '.join(i.name for i in graph.input)} and outputs "
                         f"{', '.join(o.name for o in graph.output)}; expected one input and one output")


def _drop_call_scopes(graph) -> None:
    """Name nodes and tensors by the model's own layers, without the function calls around them.

    A SavedModel's signature reaches its layers through StatefulPartitionedCall functions, and
    tf2onnx prefixes every name with them ('saved/tfsm_layer/StatefulPartitionedCall/
    StatefulPartitionedCall/mlp/dense/MatMul'): names as long as the weights of a small model,
    and no longer the layer names the TFLite file and the report use.
    """
    def short(name: str) -> str:
        return _CALL_SCOPE.sub("", name)

    for node in graph.node:
        node.name = short(node.name)
        node.input[:] = [short(name) for name in node.input]
        node.output[:] = [short(name) for name in node.output]
    for tensor in [*graph.initializer, *graph.value_info]:
        tensor.name = short(tensor.name)


@functools.cache
def _register_missing_ops() -> None:
    """Teach tf2onnx the TensorFlow operators Keras models use that it has no handler for (once per process).

    Erfc: Keras's exact GELU (approximate=False, ConvNeXt's and ViT's activation) computes
    x * erfc(-x / sqrt 2) / 2; ONNX has Erf, and 1 - erf(x) is erfc(x) to float32 rounding
    where GELU uses it (its tiny values for large x are multiplied by x and vanish).
    """
    import numpy as np
    from tf2onnx import utils
    from tf2onnx.handler import tf_op

    @tf_op("Erfc")
    class Erfc:
        @classmethod
        def version_9(cls, ctx, node, **kwargs):
            dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(node.input[0]))
            one = ctx.make_const(utils.make_name(f"{node.name}_one"), np.array(1, dtype=dtype))
            erf = ctx.make_node("Erf", [node.input[0]], op_name_scope=node.name)
            ctx.replace_inputs(node, [one.output[0], erf.output[0]])
            node.type = "Sub"


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


def set_metadata(proto, values: dict, encoded: bool = False) -> None:
    """Replace metadata_props with values (JSON-encoded unless already encoded)."""
    del proto.metadata_props[:]
    for key, value in values.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value if encoded else json.dumps(value)
