"""Keras -> TFLite: float32, float16, dynamic-range int8 and full-integer int8."""

from __future__ import annotations

import os
from pathlib import Path

from edgeport.export.common import CapturedOutput, ExportError, Quantization, calibration_batch, check_suffix
from edgeport.runtime.files import write_bytes_atomic


def to_tflite(model, path: str | os.PathLike, quantization=None, representative_images=None) -> Path:
    """Convert a Keras model to a .tflite file with tf.lite.TFLiteConverter.

    Args:
        model: a Keras classifier (any input shape; the batch dimension stays dynamic).
        path: where to write; must end in '.tflite'. Written whole or not at all.
        quantization: None / "none", "float16", "dynamic" (int8 weights) or "int8"
            (full integer: int8 weights, activations, input and output tensors).
        representative_images: calibration images for "int8" (uint8 pixels or floats in
            [0, 1]); ignored by the other modes.

    Returns:
        The path written.

    Raises:
        ValueError: a bad path, quantization, or "int8" without representative_images.
        ExportError: the converter failed.
    """
    path = check_suffix(path, ".tflite")
    mode = Quantization.parse(quantization)
    if mode is Quantization.INT8 and representative_images is None:
        raise ValueError(
            "int8 quantization needs representative_images: a few hundred training images "
            "(e.g. export.default_calibration_images()) to calibrate activation ranges"
        )
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode is not Quantization.NONE:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode is Quantization.FLOAT16:
        converter.target_spec.supported_types = [tf.float16]
    elif mode is Quantization.INT8:
        samples = calibration_batch(representative_images, model.input_shape[1:])
        converter.representative_dataset = lambda: ([sample[None]] for sample in samples)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    output = CapturedOutput()
    try:
        with output.capture():
            flatbuffer = converter.convert()
    except Exception as e:  # the converter raises many unrelated types
        raise ExportError(f"TFLite conversion ({mode.value}) of model {model.name!r} failed: {e}{output.tail()}") from e
    write_bytes_atomic(path, flatbuffer)
    return path
