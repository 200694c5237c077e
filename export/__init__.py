"""edgeport.export: Keras -> TFLite / ONNX, quantization, validation, manifest and report.

TensorFlow, tf2onnx and onnx are imported inside the functions that need them.
"""

from edgeport.export.calibration import DEFAULT_CALIBRATION_SAMPLES, calibration_sample
from edgeport.export.common import ExportError, Quantization
from edgeport.export.modelfacts import load_keras_model, model_info, preprocessing_for
from edgeport.export.onnx import to_onnx
from edgeport.export.onnx_quant import OnnxPlan, quantize_onnx
from edgeport.export.litert import TFLitePlan, quantize_tflite
from edgeport.export.ladder import ALL_FORMATS, TARGETS
from edgeport.export.pipeline import export_all
from edgeport.export.tflite import to_tflite
from edgeport.export.validate import BARS, ValidationError, validate_file

__all__ = [
    "ALL_FORMATS",
    "BARS",
    "DEFAULT_CALIBRATION_SAMPLES",
    "ExportError",
    "Quantization",
    "OnnxPlan",
    "TARGETS",
    "TFLitePlan",
    "ValidationError",
    "calibration_sample",
    "export_all",
    "load_keras_model",
    "model_info",
    "preprocessing_for",
    "quantize_onnx",
    "quantize_tflite",
    "to_onnx",
    "to_tflite",
    "validate_file",
]
