"""edgeport: take a Keras image classifier to the edge, prove every exported file right, run it anywhere.

    from edgeport import runtime, export, train

`edgeport.runtime` needs only numpy, onnxruntime, ai-edge-litert and Pillow (the base install);
`edgeport.export` and `edgeport.train` need TensorFlow (`pip install 'edgeport[export]'`).
Importing `edgeport` itself imports none of them: the three stages load on first use.
"""

from __future__ import annotations

import importlib

__version__ = "0.2.0"
__all__ = ["__version__", "export", "runtime", "train"]
_STAGES = ("runtime", "export", "train")


def __getattr__(name: str):
    if name in _STAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
