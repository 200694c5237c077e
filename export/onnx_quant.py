"""float32 .onnx -> dynamic, static int8 / int16 QDQ, 4-bit MatMulNBits and mixed files (onnxruntime)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeport.export import logits
from edgeport.export.calibration import calibration_batch
from edgeport.export.common import CapturedOutput, ExportError, Quantization, check_suffix, layer_name
from edgeport.export.onnx import set_metadata
from edgeport.runtime.files import write_bytes_atomic
from edgeport.runtime.modelinfo import Preprocessing

CALIBRATION_BATCH = 50
# The activations one calibration pass may hold. onnxruntime's calibrators keep every activation of every image
# of a pass: a model whose images' activations fit pass once; a larger one (EfficientNetB0 64x64 held 8.9 GB
# for 500 images) passes in strides of chunks, each folded into the ranges or histograms, then dropped.
CALIBRATION_MEMORY = 1 << 30
# A 4-bit weight-only file, whose activation ranges are dropped, calibrates on this many images only (more
# would only take longer).
WEIGHT_ONLY_CALIBRATION = 8
WEIGHTED_OPS = ("Gemm", "MatMul", "Conv", "ConvTranspose")
CALIBRATION_METHODS = ("minmax", "entropy", "percentile")
# How an int8 or mixed file stores its weights, beside uint8 activations, each exact on every CPU (int8 weights in
# all 8 bits are not: x86 CPUs without VNNI multiply uint8 by int8 with VPMADDUBSW, whose int16 sums saturate; the
# CNN's file fell to 98.3 % agreement there). 7-bit int8 (onnxruntime's reduce_range) runs at the int8 kernels'
# speed; uint8, symmetric about 128, keeps all 8 bits but is widened to 16 bits first: on an AVX-512 VNNI Xeon the
# one-epoch CNN's file ran at 161 against 79 us per image in a batch, and on an AVX2 EPYC 4 to 27 % slower, where it
# agreed 0.03 to 0.57 pt better on three models. The calibration search tries them in this order.
WEIGHT_TYPES = ("7-bit int8", "uint8")


@dataclass(frozen=True)
class OnnxPlan:
    """One onnxruntime quantization build.

    Attributes:
        quantization: DYNAMIC, INT8 (static QDQ, uint8 activations), INT16 (static QDQ, int16
            activations, com.microsoft Q/DQ ops), INT4 (4-bit weights, float activations) or MIXED
            (INT8 with float_layers left in float).
        per_channel_4bit: for INT4, per-channel 4-bit weights on Conv, Gemm and MatMul (QDQ); False:
            MatMulNBits blocks, which take MatMul alone (a conv net's Conv would stay float).
        method: how static activation ranges are calibrated: minmax, entropy or percentile.
        block_size, symmetric: INT4 weight blocks.
        float_layers: layers (names from layers()) left in float.
        only_layers: quantize these layers alone and nothing else (a sensitivity probe).
        logit_floor: for INT8, narrow the range of the logits feeding the final Softmax to what
            can change the output (export/logits.py); False keeps the calibrated range.
        wide_head: for INT8 with logit_floor, those logits and the Softmax's output in 16 bits
            (logits.onnx_overrides).
        weights: for INT8 and MIXED, how the weights are stored (WEIGHT_TYPES).
    """

    quantization: Quantization
    method: str = "minmax"
    block_size: int = 32
    symmetric: bool = False
    per_channel_4bit: bool = False
    float_layers: tuple[str, ...] = ()
    only_layers: tuple[str, ...] | None = None
    logit_floor: bool = True
    wide_head: bool = False
    weights: str = WEIGHT_TYPES[0]

    def __post_init__(self):
        from edgeport.export.rungs import ORT_QUANTIZATION, check_mode  # the rung table imports this module

        check_mode(ORT_QUANTIZATION, self.quantization, "onnxruntime builds {modes_in_words} files; got {got}")
        if self.method not in CALIBRATION_METHODS:
            raise ValueError(f"calibration method must be one of {', '.join(CALIBRATION_METHODS)}; got {self.method!r}")
        if self.weights not in WEIGHT_TYPES:
            raise ValueError(f"weights must be one of {', '.join(WEIGHT_TYPES)}; got {self.weights!r}")


def layers(path: str | os.PathLike) -> dict[str, list[str]]:
    """The weighted layers of an .onnx file in graph order: {layer name: names of all its nodes}."""
    import onnx

    return layers_of(onnx.load(str(path), load_external_data=False))


def quantize_onnx(src: str | os.PathLike, dst: str | os.PathLike, calibration_images=None,
                  plan: OnnxPlan | None = None) -> Path:
    """Quantize a float32 .onnx file with onnxruntime.quantization.

    Static plans (INT8, INT16, MIXED) calibrate per-tensor activation ranges on the images,
    which go through the preprocessing recorded in src's metadata_props, and quantize weights
    per channel; the recommended pre-processing (shape inference, graph optimisation) runs
    first. INT4 replaces MatMul weights by 4-bit blocks (MatMulNBits, round to nearest), or with
    per_channel_4bit stores Conv, Gemm and MatMul weights as per-channel int4 QDQ and leaves the
    activations float. metadata_props are carried over, with the file's quantization.

    Args:
        src, dst: .onnx paths; dst is written whole or not at all.
        calibration_images: uint8 pixels or floats in [0, 1], for static plans.
        plan: what to build (default: INT8 with calibration images, DYNAMIC without).

    Raises:
        FileNotFoundError: src is missing. ValueError: bad paths, plan or images.
        ExportError: quantization failed.
    """
    import onnx

    src, dst = check_suffix(src, ".onnx"), check_suffix(dst, ".onnx")
    if not src.is_file():
        raise FileNotFoundError(f"{src}: no such ONNX file to quantize")
    plan = plan or OnnxPlan(Quantization.INT8 if calibration_images is not None else Quantization.DYNAMIC)
    if (plan.quantization.calibrated or plan.per_channel_4bit) and calibration_images is None:
        raise ValueError(f"{plan.quantization.value} quantization needs calibration images to measure activation ranges")
    try:
        source = onnx.load(str(src))
    except Exception as e:
        raise ValueError(f"{src} is not a valid ONNX model: {e}") from e
    names = layers_of(source)  # from the model already loaded, not the file again
    unknown = [n for n in (*plan.float_layers, *(plan.only_layers or ())) if n not in names]
    if unknown:
        raise ValueError(f"{src.name} has no layer {', '.join(unknown)}; its layers are {', '.join(names)}")
    output = CapturedOutput()
    with tempfile.TemporaryDirectory(prefix="edgeport-quant-") as tmp:
        quantized = Path(tmp) / "quantized.onnx"
        try:
            with output.capture():
                if plan.quantization is Quantization.INT4 and not plan.per_channel_4bit:
                    _weights_4bit(source, quantized, plan)
                else:
                    prepared = Path(tmp) / "prepared.onnx"
                    from onnxruntime.quantization.shape_inference import quant_pre_process

                    quant_pre_process(str(src), str(prepared))
                    _quantize_static(prepared, quantized, source, calibration_images, plan)
            result = onnx.load(str(quantized))
            drop_unused_initializers(result.graph)
            metadata = {p.key: p.value for p in source.metadata_props}
            metadata["quantization"] = json.dumps(plan.quantization.value)
            set_metadata(result, metadata, encoded=True)
            onnx.checker.check_model(result)
        except Exception as e:
            raise ExportError(f"ONNX quantization ({plan.quantization.value}) of {src.name} failed: "
                              f"{e}{output.tail()}") from e
    write_bytes_atomic(dst, result.SerializeToString())
    return dst


def drop_unused_initializers(graph) -> None:
    """Remove the initializers no node reads (the quantizer leaves the scales and zero points of tensors it
    did not quantize): onnxruntime would warn about each one every time the file is opened."""
    used = {name for node in graph.node for name in node.input}
    used |= {name for node in graph.node for attribute in node.attribute if attribute.g.node
             for inner in attribute.g.node for name in inner.input}  # read inside a subgraph (If, Loop)
    used |= {output.name for output in graph.output}
    kept = [tensor for tensor in graph.initializer if tensor.name in used]
    if len(kept) == len(graph.initializer):
        return
    dropped = {tensor.name for tensor in graph.initializer} - {tensor.name for tensor in kept}
    del graph.initializer[:]
    graph.initializer.extend(kept)
    inputs = [value for value in graph.input if value.name not in dropped]  # an old IR lists them as inputs too
    del graph.input[:]
    graph.input.extend(inputs)


def _quantize_static(prepared: Path, quantized: Path, source, images, plan: OnnxPlan) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    # Node names survive pre-processing, but fused nodes are renamed: select by layer scope.
    names = layers(prepared)
    excluded = [node for layer in plan.float_layers for node in names.get(layer, [])]
    only = None if plan.only_layers is None else [node for layer in plan.only_layers for node in names.get(layer, [])]
    if plan.quantization is Quantization.DYNAMIC:
        quantize_dynamic(str(prepared), str(quantized), weight_type=QuantType.QInt8, nodes_to_exclude=excluded,
                         nodes_to_quantize=only)
        return
    dims = [d.dim_value for d in source.graph.input[0].type.tensor_type.shape.dim[1:]]
    recorded = {p.key: p.value for p in source.metadata_props}.get("preprocessing")
    preprocessing = Preprocessing.from_json(json.loads(recorded)) if recorded else Preprocessing.unit()
    batch = calibration_batch(images, dims, preprocessing)
    four = plan.quantization is Quantization.INT4
    if four:  # the activations' ranges are dropped (_float_activations): a few images serve, at a fraction of the memory
        batch = batch[:WEIGHT_ONLY_CALIBRATION]
    input_name = source.graph.input[0].name

    chunks = np.array_split(batch, max(1, len(batch) // CALIBRATION_BATCH))

    class Reader(CalibrationDataReader):
        """The images in chunks of CALIBRATION_BATCH, read one stride (of chunks) at a time."""

        def __init__(self):
            self.set_range(0, len(chunks))

        def __len__(self) -> int:
            return len(chunks)

        def set_range(self, start_index: int, end_index: int) -> None:
            self._next = iter(chunks[start_index:end_index])

        def get_next(self):
            chunk = next(self._next, None)
            return None if chunk is None else {input_name: chunk}

    wide = plan.quantization is Quantization.INT16
    # With CalibStridedMinMax, onnxruntime's calibrators (minmax and the histogram ones alike, despite the name)
    # collect a stride of chunks, fold its ranges or histograms into what they hold, and drop its activations.
    # Minmax ranges come out as in one pass; histograms are re-binned when a later stride widens them, so a
    # model that fits passes once. (CalibMaxIntermediateOutputs would not do: onnxruntime 1.32 drops the
    # outputs without computing them.)
    extra = {"UseQDQContribOps": True} if wide or four else {}
    extra["CalibStridedMinMax"] = calibration_stride(prepared, [len(c) for c in chunks])
    if plan.quantization is Quantization.INT8 and plan.logit_floor and plan.only_layers is None:
        import onnx

        extra["TensorQuantOverrides"] = logits.onnx_overrides(onnx.load(str(prepared)), batch, plan.wide_head)
        extra["UseQDQContribOps"] = extra.get("UseQDQContribOps") or plan.wide_head
    method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
              "percentile": CalibrationMethod.Percentile}[plan.method]
    eight = plan.quantization in (Quantization.INT8, Quantization.MIXED)  # WEIGHT_TYPES: each exact on every CPU
    unsigned = eight and plan.weights == "uint8"
    quantize_static(
        str(prepared), str(quantized), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
        activation_type=QuantType.QInt16 if wide else QuantType.QUInt8,
        weight_type=QuantType.QInt4 if four else QuantType.QUInt8 if unsigned else QuantType.QInt8,
        reduce_range=eight and not unsigned,
        op_types_to_quantize=list(WEIGHTED_OPS) if four else None,
        calibrate_method=method, nodes_to_exclude=excluded, nodes_to_quantize=only,
        # opsets below 21 have no 16-bit or 4-bit QuantizeLinear: onnxruntime's own com.microsoft ops carry them
        extra_options=extra,
    )
    if four:
        _float_activations(quantized)


def calibration_stride(path: Path, chunks: list[int]) -> int:
    """How many chunks (of these sizes) a calibration pass takes: all of them when their activations fit in
    CALIBRATION_MEMORY, else the most that fit (at least one) and divide their number, as onnxruntime asks."""
    per_image = activation_bytes(path)
    fit = max(1, int(CALIBRATION_MEMORY // max(1, per_image * max(chunks))))
    return max(d for d in range(1, min(fit, len(chunks)) + 1) if len(chunks) % d == 0)


def activation_bytes(path: Path) -> int:
    """The bytes of every node output for one image, from the graph's inferred shapes (an unknown dimension
    counts as 1): what a calibrator holds per image."""
    import onnx

    graph = onnx.shape_inference.infer_shapes(onnx.load(str(path))).graph
    sizes = {onnx.TensorProto.FLOAT: 4, onnx.TensorProto.FLOAT16: 2, onnx.TensorProto.DOUBLE: 8}
    total = 0
    for info in [*graph.value_info, *graph.output]:
        tensor = info.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1 for d in tensor.shape.dim[1:]]
        total += sizes.get(tensor.elem_type, 4) * int(np.prod(dims))
    return total


def _float_activations(path: Path) -> None:
    """Drop the activations' QuantizeLinear -> DequantizeLinear pairs: weights stay 4-bit, activations float.

    quantize_static quantizes activations as well as weights; a 4-bit weight file is weight-only,
    like LiteRT's, so its consumers read the float tensor that each activation QuantizeLinear took.
    """
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    constants = {t.name for t in graph.initializer}
    quantized = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "QuantizeLinear"
                 and n.input[0] not in constants}
    restored = {n.output[0]: quantized[n.input[0]] for n in graph.node
                if n.op_type == "DequantizeLinear" and n.input[0] in quantized}
    kept = [n for n in graph.node if not (n.op_type == "QuantizeLinear" and n.output[0] in quantized)
            and not (n.op_type == "DequantizeLinear" and n.output[0] in restored)]
    outputs = {o.name for o in graph.output}
    for node in kept:
        node.input[:] = [restored.get(name, name) for name in node.input]
    for name, source in restored.items():  # a graph output that was a DequantizeLinear's: keep its name
        if name in outputs:
            kept.append(onnx.helper.make_node("Identity", [source], [name]))
    del graph.node[:]
    graph.node.extend(kept)
    onnx.save(model, str(path))


def _weights_4bit(source, quantized: Path, plan: OnnxPlan) -> None:
    """MatMul weights in 4-bit blocks; runs on the float graph, before any MatMul+Add fusion into Gemm."""
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    names = layers_of(source)
    excluded = [node for layer in plan.float_layers for node in names.get(layer, [])]
    config = DefaultWeightOnlyQuantConfig(block_size=plan.block_size, is_symmetric=plan.symmetric)
    quantizer = MatMulNBitsQuantizer(source, nodes_to_exclude=excluded, algo_config=config)
    quantizer.process()
    quantizer.model.save_model_to_file(str(quantized))


def has_conv(path: str | os.PathLike) -> bool:
    """Whether an .onnx file convolves (Conv or ConvTranspose): then its 4-bit rung is per-channel QDQ."""
    import onnx

    return any(n.op_type in ("Conv", "ConvTranspose") for n in onnx.load(str(path), load_external_data=False).graph.node)


def layer_weights(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Each weighted layer's float weights, output channels first: {layer name (as layers()): array}."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    constants = {t.name: t for t in model.graph.initializer}
    found = {}
    for node in model.graph.node:
        if node.op_type not in WEIGHTED_OPS or len(node.input) < 2 or node.input[1] not in constants:
            continue
        weights = numpy_helper.to_array(constants[node.input[1]])
        transposed = any(a.name == "transB" and a.i for a in node.attribute)
        # MatMul (and Gemm without transB) keeps output channels last; Conv and ConvTranspose's first axis.
        last = node.op_type == "MatMul" or (node.op_type == "Gemm" and not transposed)
        found[layer_name(node.name)] = np.moveaxis(weights, -1, 0) if last else weights
    return found


def matmul_weights(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The weights of MatMul nodes alone (what MatMulNBits quantizes), by layer."""
    import onnx

    matmuls = {layer_name(n.name) for n in onnx.load(str(path), load_external_data=False).graph.node
               if n.op_type == "MatMul"}
    return {name: w for name, w in layer_weights(path).items() if name in matmuls}


def layers_of(model) -> dict[str, list[str]]:
    """layers() for a loaded ModelProto."""
    weighted = [layer_name(n.name) for n in model.graph.node if n.op_type in WEIGHTED_OPS]
    return {name: [n.name for n in model.graph.node if layer_name(n.name) == name] for name in dict.fromkeys(weighted)}
