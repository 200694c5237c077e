"""edgeport.runtime: run an exported .tflite or .onnx classifier without TensorFlow.

Imports numpy, onnxruntime, ai_edge_litert and Pillow only (the engines and Pillow lazily). Every name
loads on first use, so the command line's --help imports none of them.
"""

from edgeport.lazy import lazy_names

# Each public name, and the module it lives in.
_WHERE = {
    "Dataset": "edgeport.runtime.datasets",
    "Split": "edgeport.runtime.datasets",
    "load_dataset": "edgeport.runtime.datasets",
    "DataError": "edgeport.runtime.errors",
    "EdgeportError": "edgeport.runtime.errors",
    "IntegrityError": "edgeport.runtime.errors",
    "MissingExtraError": "edgeport.runtime.errors",
    "ManifestError": "edgeport.runtime.errors",
    "ModelFileError": "edgeport.runtime.errors",
    "ScaleError": "edgeport.runtime.errors",
    "WebError": "edgeport.runtime.errors",
    "WorkerError": "edgeport.runtime.errors",
    "evaluate": "edgeport.runtime.evaluate",
    "CLASS_NAMES": "edgeport.runtime.fashion_mnist",
    "load_fashion_mnist": "edgeport.runtime.fashion_mnist",
    "Picture": "edgeport.runtime.images",
    "find_inputs": "edgeport.runtime.inputs",
    "fit_array": "edgeport.runtime.images",
    "fit_rule": "edgeport.runtime.images",
    "image_background": "edgeport.runtime.images",
    "read_array": "edgeport.runtime.images",
    "read_picture": "edgeport.runtime.images",
    "MANIFEST_NAME": "edgeport.runtime.manifest",
    "Manifest": "edgeport.runtime.manifest",
    "read_manifest": "edgeport.runtime.manifest",
    "validation_data": "edgeport.runtime.manifest",
    "ModelInfo": "edgeport.runtime.modelinfo",
    "Preprocessing": "edgeport.runtime.modelinfo",
    "output_kind": "edgeport.runtime.modelinfo",
    "preprocess": "edgeport.runtime.modelinfo",
    "softmax": "edgeport.runtime.modelinfo",
    "Prediction": "edgeport.runtime.predictor",
    "Predictor": "edgeport.runtime.predictor",
    "load": "edgeport.runtime.predictor",
    "score": "edgeport.runtime.score",
    "FASHION_MNIST": "edgeport.runtime.sources",
    "Source": "edgeport.runtime.sources",
    "Stream": "edgeport.runtime.sources",
    "open_source": "edgeport.runtime.sources",
}
__all__ = sorted(_WHERE)
lazy_names(__name__, _WHERE)
