"""edgeport.runtime: run an exported .tflite or .onnx classifier without TensorFlow.

Imports numpy, onnxruntime, ai_edge_litert and Pillow only (the engines and Pillow lazily).
"""

from edgeport.runtime.data import CLASS_NAMES, PREPROCESSING, DatasetError, load_fashion_mnist, preprocess
from edgeport.runtime.evaluate import evaluate
from edgeport.runtime.images import Picture, find_inputs, image_background, read_array, read_picture
from edgeport.runtime.manifest import MANIFEST_NAME, IntegrityError, read_manifest
from edgeport.runtime.predictor import Prediction, Predictor, load

__all__ = [
    "CLASS_NAMES",
    "PREPROCESSING",
    "MANIFEST_NAME",
    "DatasetError",
    "IntegrityError",
    "Picture",
    "Prediction",
    "Predictor",
    "evaluate",
    "find_inputs",
    "image_background",
    "load",
    "load_fashion_mnist",
    "preprocess",
    "read_array",
    "read_manifest",
    "read_picture",
]
