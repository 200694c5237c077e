"""edgeport.export: Keras -> TFLite / ONNX, quantization, validation, manifest and report.

Every name loads on first use (PEP 562), so importing one module of the package (the command line
reads the plan's choices) does not import the rest; TensorFlow, tf2onnx and onnx are imported inside
the functions that need them.
"""

from edgeport.lazy import lazy_names

# Each public name, and the module it lives in.
_WHERE = {
    "DEFAULT_CALIBRATION_SAMPLES": "edgeport.export.calibration",
    "calibration_sample": "edgeport.export.calibration",
    "Quantization": "edgeport.export.common",
    "TFLitePlan": "edgeport.export.litert",
    "quantize_tflite": "edgeport.export.litert",
    "load_keras_model": "edgeport.export.loading",
    "model_info": "edgeport.export.modelfacts",
    "preprocessing_for": "edgeport.export.modelfacts",
    "to_onnx": "edgeport.export.onnx",
    "OnnxPlan": "edgeport.export.onnx_quant",
    "quantize_onnx": "edgeport.export.onnx_quant",
    "choose_fit": "edgeport.export.picturefit",
    "export_all": "edgeport.export.pipeline",
    "keras_model_path": "edgeport.export.pipeline",
    "ALL_FORMATS": "edgeport.export.plan",
    "BARS": "edgeport.export.plan",
    "STANDARD_FORMATS": "edgeport.export.plan",
    "TARGETS": "edgeport.export.plan",
    "ExportPlan": "edgeport.export.plan",
    "Target": "edgeport.export.plan",
    "parse_formats": "edgeport.export.plan",
    "find_preprocessing": "edgeport.export.preprocessing",
    "to_tflite": "edgeport.export.tflite",
    "validate_file": "edgeport.export.validate",
    "ExportError": "edgeport.export.errors",
    "PlanError": "edgeport.export.errors",
    "ValidationError": "edgeport.export.errors",
}
__all__ = sorted(_WHERE)
lazy_names(__name__, _WHERE)
