"""edgeport runtime: run an exported .tflite or .onnx classifier without TensorFlow.

Imports numpy, onnxruntime and ai_edge_litert only (the engines lazily, on first load).
"""

from runtime.data import CLASS_NAMES, PREPROCESSING, DatasetError, load_fashion_mnist, preprocess
from runtime.evaluate import evaluate
from runtime.manifest import MANIFEST_NAME, read_manifest
from runtime.predictor import Prediction, Predictor, load

__all__ = [
    "CLASS_NAMES",
    "PREPROCESSING",
    "MANIFEST_NAME",
    "DatasetError",
    "Prediction",
    "Predictor",
    "evaluate",
    "load",
    "load_fashion_mnist",
    "preprocess",
    "read_manifest",
]
