"""edgeport.runtime: run an exported .tflite or .onnx classifier without TensorFlow.

Imports numpy, onnxruntime, ai_edge_litert and Pillow only (the engines and Pillow lazily).
"""

from edgeport.runtime.data import CLASS_NAMES, DatasetError, load_fashion_mnist, preprocess
from edgeport.runtime.datasets import FASHION_MNIST, DataError, Dataset, Split, load_dataset
from edgeport.runtime.evaluate import evaluate
from edgeport.runtime.images import Picture, find_inputs, image_background, read_array, read_picture
from edgeport.runtime.manifest import MANIFEST_NAME, IntegrityError, read_manifest, validation_data
from edgeport.runtime.modelinfo import ModelInfo, Preprocessing, output_kind, softmax
from edgeport.runtime.predictor import Prediction, Predictor, load
from edgeport.runtime.score import score
from edgeport.runtime.sources import Source, open_source

__all__ = [
    "CLASS_NAMES",
    "FASHION_MNIST",
    "MANIFEST_NAME",
    "DataError",
    "Dataset",
    "DatasetError",
    "IntegrityError",
    "ModelInfo",
    "Picture",
    "Prediction",
    "Predictor",
    "Preprocessing",
    "Source",
    "Split",
    "evaluate",
    "find_inputs",
    "image_background",
    "load",
    "load_dataset",
    "load_fashion_mnist",
    "output_kind",
    "preprocess",
    "read_array",
    "read_manifest",
    "open_source",
    "read_picture",
    "score",
    "softmax",
    "validation_data",
]
