"""edgeport.export: Keras -> TFLite / ONNX, quantization, validation, manifest and report.

TensorFlow, tf2onnx and onnx are imported inside the functions that need them.
"""

from edgeport.export.calibration import DEFAULT_CALIBRATION_SAMPLES, calibration_sample
from edgeport.export.common import ExportError, Quantization
from edgeport.export.modelfacts import load_keras_model, model_info, preprocessing_for
from edgeport.export.onnx import quantize_onnx, to_onnx
from edgeport.export.pipeline import ALL_FORMATS, TARGETS, export_all
from edgeport.export.tflite import to_tflite
from edgeport.export.validate import BARS, ValidationError, validate_file

__all__ = [
    "ALL_FORMATS",
    "BARS",
    "DEFAULT_CALIBRATION_SAMPLES",
    "ExportError",
    "Quantization",
    "TARGETS",
    "ValidationError",
    "calibration_sample",
    "export_all",
    "load_keras_model",
    "model_info",
    "preprocessing_for",
    "quantize_onnx",
    "to_onnx",
    "to_tflite",
    "validate_file",
]
