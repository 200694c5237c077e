"""Keras -> TFLite: float32, float16, dynamic-range int8, full-integer int8 and full-integer 16x8."""

from __future__ import annotations

import json
import os
from pathlib import Path

from edgeport.export import logits
from edgeport.export.calibration import calibration_batch
from edgeport.export.common import (
    CapturedOutput,
    builtin_code,
    ExportError,
    Quantization,
    check_suffix,
    converter_error,
    frozen_function,
)
from edgeport.export.modelfacts import model_info
from edgeport.runtime import tflite_file
from edgeport.runtime.files import write_bytes_atomic
from edgeport.runtime.modelinfo import METADATA_NAME, ModelInfo


# The full-integer modes: calibrated activations, and integer input and output tensors.
_INTEGER = {Quantization.INT8: ("TFLITE_BUILTINS_INT8", "int8"),
            Quantization.INT16: ("EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8", "int16")}


def to_tflite(model, path: str | os.PathLike, quantization=None, representative_images=None,
              info: ModelInfo | None = None, logit_floor: bool = True, frozen=None,
              calibrated: "Calibrated | None" = None) -> Path:
    """Convert a Keras model to a .tflite file with tf.lite.TFLiteConverter.

    Args:
        model: a Keras classifier (any input shape). The file's batch dimension is open, unless frozen was traced
            with a fixed batch (a microcontroller's file takes one image).
        path: where to write; must end in '.tflite'. Written whole or not at all.
        quantization: None / "none", "float16", "dynamic" (int8 weights), "int8" (full integer:
            int8 weights, activations, input and output tensors) or "int16" (full integer 16x8:
            int8 weights, int16 activations, input and output; the ladder's own 16x8 rung comes
            from LiteRT Quantizer, which keeps float input and output).
        representative_images: calibration images for "int8" and "int16" (uint8 pixels or
            floats in [0, 1]); ignored by the other modes.
        info: class names, preprocessing, output kind and background, written into the file's
            "edgeport" metadata buffer (default: export.model_info(model)).
        logit_floor: for "int8", narrow the range of the logits feeding the final softmax to
            what can change the output (export/logits.py); False keeps the calibrated range.
        frozen: the model's export.common.frozen_function, when the caller already has it
            (an export converts it up to five times).
        calibrated: for "int8", where to keep the conversion's calibrated model, for requantized to
            make files with other activation ranges (export/ranges.py) without converting again.

    Returns:
        The path written.

    Raises:
        ValueError: a bad path, quantization, or "int8" without representative_images.
        ExportError: the converter failed.
    """
    path = check_suffix(path, ".tflite")
    mode = Quantization.parse(quantization)
    from edgeport.export.rungs import TFLITE_CONVERTER, check_mode  # the rung table imports this module

    check_mode(TFLITE_CONVERTER, mode, "TFLiteConverter quantization must be one of {modes}; got {got} (int4 and "
                                       "mixed files come from export.quantize_tflite)")
    if mode in _INTEGER and representative_images is None:
        raise ValueError(
            f"{mode.value} quantization needs representative_images: a few hundred training images "
            "(e.g. export.calibration_sample(data)[0]) to calibrate activation ranges"
        )
    info = info or model_info(model)
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen or frozen_function(model)])
    if mode is not Quantization.NONE:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode is Quantization.FLOAT16:
        converter.target_spec.supported_types = [tf.float16]
    elif mode in _INTEGER:
        ops, dtype = _INTEGER[mode]
        samples = calibration_batch(representative_images, model.input_shape[1:], info.preprocessing)
        converter.representative_dataset = lambda: ([sample[None]] for sample in samples)
        converter.target_spec.supported_ops = [getattr(tf.lite.OpsSet, ops)]
        converter.inference_input_type = converter.inference_output_type = getattr(tf, dtype)
    if mode is Quantization.INT8 and calibrated is not None:
        _calibrated_apart(converter, calibrated, samples, logit_floor)
    output = CapturedOutput()
    try:
        with output.capture():
            flatbuffer = converter.convert()
        if mode is Quantization.INT8 and logit_floor:
            flatbuffer = _narrow_logits(flatbuffer, samples)
    except Exception as e:  # the converter raises many unrelated types
        raise ExportError(f"TFLite conversion ({mode.value}) of model {model.name!r} failed: {converter_error(e)}"
                          f"{output.tail()}") from e
    write_bytes_atomic(path, with_metadata(flatbuffer, file_facts(info, mode)))
    return path


class Calibrated:
    """An int8 conversion's calibrated model (the float graph with each tensor's observed range), the converter's
    quantizer for it, and the calibration images: what requantized needs to quantize it again."""

    def __init__(self):
        self.model: bytes | None = None
        self.quantize = None
        self.samples = None
        self.logit_floor = True

    def release(self) -> None:
        """Drop the calibrated model and the images (the float model's size), once no step will requantize."""
        self.model = self.quantize = self.samples = None


def requantized(calibrated: Calibrated, ranged: dict[str, Path], info: ModelInfo) -> None:
    """For each method of export.ranges, write the calibrated model quantized with the activation ranges it chose,
    as to_tflite writes an int8 file ({method: path}).

    Raises:
        ExportError: the quantizer failed.
    """
    from tensorflow.lite.python import convert

    from edgeport.export import ranges

    output = CapturedOutput()
    try:
        with output.capture():
            chosen = ranges.chosen(calibrated.model, calibrated.samples, tuple(ranged))
            for method, target in ranged.items():
                content = convert.deduplicate_readonly_buffers(
                    calibrated.quantize(ranges.with_ranges(calibrated.model, chosen[method])))
                if calibrated.logit_floor:
                    content = _narrow_logits(content, calibrated.samples)
                write_bytes_atomic(target, with_metadata(content, file_facts(info, Quantization.INT8)))
    except Exception as e:  # the quantizer raises many unrelated types
        raise ExportError(f"TFLite int8 quantization with other activation ranges failed: {converter_error(e)}"
                          f"{output.tail()}") from e


def _calibrated_apart(converter, calibrated: Calibrated, samples, logit_floor: bool) -> None:
    """Have the converter's quantization step (a private method of TFLiteConverter, pinned with TensorFlow) keep its
    calibrated model and quantizer in calibrated.

    The step calibrates and quantizes; here it calibrates only, and its calibrated model is quantized as the
    step would have quantized it: the file is byte for byte what convert() makes without this.
    """
    from tensorflow.lite.python import convert

    calibrate_and_quantize = converter._quantize

    def apart(result, input_type, output_type, activations_type, bias_type, allow_float, variables, debug):
        converter._experimental_calibrate_only = True
        try:
            model = bytes(calibrate_and_quantize(result, input_type, output_type, activations_type, bias_type,
                                                 allow_float, variables, debug))
        finally:
            converter._experimental_calibrate_only = False

        def quantize(content: bytes) -> bytes:
            return convert.mlir_quantize(
                content, converter._experimental_disable_per_channel, input_data_type=input_type,
                output_data_type=output_type, enable_variable_quantization=variables,
                disable_per_channel_for_dense_layers=(
                    converter._experimental_disable_per_channel_quantization_for_dense_layers),
                debug_options_str=debug.SerializeToString())

        calibrated.model, calibrated.quantize, calibrated.samples, calibrated.logit_floor = (
            model, quantize, samples, logit_floor)
        return quantize(model)

    converter._quantize = apart


def file_facts(info: ModelInfo, quantization: Quantization) -> bytes:
    """What a .tflite file's "edgeport" metadata buffer holds: the model's facts and the file's quantization."""
    return json.dumps({**info.to_json(), "quantization": quantization.value}, separators=(",", ":")).encode("utf-8")


def with_metadata(flatbuffer: bytes, data: bytes, name: str = METADATA_NAME) -> bytes:
    """The .tflite flatbuffer with a named metadata buffer holding data (replacing one of that name), a
    serving signature if it has none, and no float copy of an integer input made only for SHAPE to read
    (_shapes_read_integers).

    Uses the schema that ai-edge-litert ships, so the runtime reads it back without TensorFlow.
    """
    import numpy as np

    schema, model = tflite_file.schema(), tflite_file.objects(flatbuffer)
    for stored in model.buffers or []:
        # LiteRT Quantizer may keep buffers after the flatbuffer (offset and size): inline them,
        # since repacking moves the flatbuffer's end.
        if (stored.offset or 0) > 1:
            stored.data = np.frombuffer(flatbuffer[stored.offset : stored.offset + stored.size], dtype=np.uint8)
            stored.offset = stored.size = 0
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(data, dtype=np.uint8)
    model.buffers = list(model.buffers or []) + [buffer]
    entry = schema.MetadataT()
    entry.name, entry.buffer = name, len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if m.name not in (name, name.encode())] + [entry]
    if not model.signatureDefs:  # converted from a function: LiteRT Quantizer and signature runners need one
        model.signatureDefs = [_serving_signature(schema, model.subgraphs[0])]
    _shapes_read_integers(model, schema)
    return pack(model, len(flatbuffer) + len(data))


def _shapes_read_integers(model, schema) -> None:
    """Let SHAPE read an integer tensor itself where a DEQUANTIZE made a float copy of it for SHAPE alone.

    LiteRT Quantizer's 16x8 and mixed files dequantize their int16 input only to read the batch size from
    it: a float tensor in a file that computes in integers, which an integer-only engine (TFLM, an NPU)
    must still support. SHAPE reads dimensions, which the integer tensor has too.
    """
    ops = schema.BuiltinOperator
    for index, graph in enumerate(model.subgraphs):
        readers = {}
        for op in graph.operators:
            for tensor in op.inputs:
                readers.setdefault(int(tensor), []).append(op)
        dropped = []
        for op in graph.operators:
            if builtin_code(model, op) != ops.DEQUANTIZE:
                continue
            copy = int(op.outputs[0])
            shapes = readers.get(copy, [])
            if not shapes or copy in list(graph.outputs) or any(builtin_code(model, r) != ops.SHAPE for r in shapes):
                continue
            for reader in shapes:
                reader.inputs = [int(op.inputs[0]) if int(t) == copy else int(t) for t in reader.inputs]
            dropped.append(id(op))
        if dropped:
            graph.operators = [op for op in graph.operators if id(op) not in dropped]
            _renumber_tensors(model, index, graph)


def _renumber_tensors(model, index: int, graph) -> None:
    """Remove the tensors of graph that nothing refers to, renumbering the references (operators, the graph's
    inputs and outputs, the signatures of graph index)."""
    used = {int(t) for op in graph.operators for t in (*op.inputs, *op.outputs, *(op.intermediates or ())) if t >= 0}
    used |= {int(t) for t in (*graph.inputs, *graph.outputs)}
    number = {old: new for new, old in enumerate(sorted(used))}

    def renumbered(tensors):
        return [number[int(t)] if t >= 0 else -1 for t in tensors]

    graph.tensors = [graph.tensors[old] for old in sorted(used)]
    for op in graph.operators:
        op.inputs, op.outputs = renumbered(op.inputs), renumbered(op.outputs)
        if op.intermediates is not None and len(op.intermediates):
            op.intermediates = renumbered(op.intermediates)
    graph.inputs, graph.outputs = renumbered(graph.inputs), renumbered(graph.outputs)
    for signature in model.signatureDefs or []:
        if signature.subgraphIndex == index:
            for mapping in (*signature.inputs, *signature.outputs):
                mapping.tensorIndex = number[mapping.tensorIndex]


def _serving_signature(schema, graph):
    """The 'serving_default' signature TFLiteConverter.from_keras_model would have written: images in, output_0 out."""
    def tensor(name: str, index: int):
        mapping = schema.TensorMapT()
        mapping.name, mapping.tensorIndex = name, index
        return mapping

    signature = schema.SignatureDefT()
    signature.signatureKey, signature.subgraphIndex = "serving_default", 0
    signature.inputs, signature.outputs = [tensor("images", graph.inputs[0])], [tensor("output_0", graph.outputs[0])]
    return signature


def _narrow_logits(flatbuffer: bytes, samples) -> bytes:
    """The full-int8 flatbuffer with its softmax logits' range narrowed (unchanged when it cannot be)."""
    model = tflite_file.objects(flatbuffer)
    if logits.tighten_tflite(model, flatbuffer, samples) is None:
        return flatbuffer
    return pack(model, len(flatbuffer))


def pack(model, size_hint: int) -> bytes:
    """The flatbuffer of a schema.ModelT (tflite_file.objects' form)."""
    import flatbuffers

    builder = flatbuffers.Builder(size_hint + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
