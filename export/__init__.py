"""edgeport.export: Keras -> TFLite / ONNX, quantization, validation, manifest and report.

TensorFlow, tf2onnx and onnx are imported inside the functions that need them.
"""

from edgeport.export.calibration import DEFAULT_CALIBRATION_SAMPLES, calibration_sample
from edgeport.export.common import Quantization
from edgeport.export.litert import TFLitePlan, quantize_tflite
from edgeport.export.loading import load_keras_model
from edgeport.export.modelfacts import model_info, preprocessing_for
from edgeport.export.onnx import to_onnx
from edgeport.export.onnx_quant import OnnxPlan, quantize_onnx
from edgeport.export.picturefit import choose_fit
from edgeport.export.pipeline import export_all, keras_model_path
from edgeport.export.plan import ALL_FORMATS, BARS, STANDARD_FORMATS, TARGETS, ExportPlan, Target, parse_formats
from edgeport.export.preprocessing import find_preprocessing
from edgeport.export.tflite import to_tflite
from edgeport.export.validate import validate_file
from edgeport.runtime.errors import ExportError, PlanError, ValidationError

__all__ = [
    "ALL_FORMATS",
    "BARS",
    "DEFAULT_CALIBRATION_SAMPLES",
    "STANDARD_FORMATS",
    "ExportError",
    "ExportPlan",
    "OnnxPlan",
    "PlanError",
    "Quantization",
    "TARGETS",
    "TFLitePlan",
    "Target",
    "ValidationError",
    "calibration_sample",
    "choose_fit",
    "export_all",
    "find_preprocessing",
    "keras_model_path",
    "load_keras_model",
    "model_info",
    "parse_formats",
    "preprocessing_for",
    "quantize_onnx",
    "quantize_tflite",
    "to_onnx",
    "to_tflite",
    "validate_file",
]
