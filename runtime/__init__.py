"""edgeport.runtime: run an exported .tflite or .onnx classifier without TensorFlow.

Imports numpy, onnxruntime, ai_edge_litert and Pillow only (the engines and Pillow lazily).
"""

from edgeport.runtime.datasets import Dataset, Split, load_dataset
from edgeport.runtime.errors import (
    DataError,
    EdgeportError,
    ExportError,
    IntegrityError,
    ManifestError,
    ModelFileError,
    PlanError,
    ScaleError,
    ValidationError,
    WebError,
    WorkerError,
)
from edgeport.runtime.evaluate import evaluate
from edgeport.runtime.fashion_mnist import CLASS_NAMES, load_fashion_mnist
from edgeport.runtime.images import Picture, find_inputs, fit_rule, image_background, read_array, read_picture
from edgeport.runtime.manifest import MANIFEST_NAME, Manifest, read_manifest, validation_data
from edgeport.runtime.modelinfo import ModelInfo, Preprocessing, output_kind, preprocess, softmax
from edgeport.runtime.predictor import Prediction, Predictor, load
from edgeport.runtime.score import score
from edgeport.runtime.sources import FASHION_MNIST, Source, Stream, open_source

__all__ = [
    "CLASS_NAMES",
    "FASHION_MNIST",
    "MANIFEST_NAME",
    "Manifest",
    "DataError",
    "Dataset",
    "EdgeportError",
    "ExportError",
    "IntegrityError",
    "ManifestError",
    "ModelFileError",
    "PlanError",
    "ScaleError",
    "Stream",
    "ValidationError",
    "WebError",
    "WorkerError",
    "ModelInfo",
    "Picture",
    "Prediction",
    "Predictor",
    "Preprocessing",
    "Source",
    "Split",
    "evaluate",
    "find_inputs",
    "fit_rule",
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
