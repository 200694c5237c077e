"""LiteRT's native calls under its Python Interpreter: the one place edgeport reads a private name of LiteRT.

ai_edge_litert's Interpreter wraps a native object (its `_interpreter` attribute) whose SetTensor,
Invoke and GetTensor are the engine's own calls. The wrapper's frames and its check for numpy views of
the engine's buffers (edgeport makes none) cost as much as a small model's whole invoke, so a batch of
one goes straight to the native calls. Checked against ai-edge-litert CHECKED_VERSION; on another
version whose wrapper lacks these names, the public calls are used instead (slower, same answers), and
tests/test_micro.py's adapter test fails so that the next version is checked on purpose.
"""

from __future__ import annotations

import numpy as np

CHECKED_VERSION = "2.3.0"
_CALLS = ("SetTensor", "Invoke", "GetTensor")


def calls(interpreter) -> bool:
    """Whether the interpreter's native object has the calls run() makes."""
    return all(hasattr(getattr(interpreter, "_interpreter", None), name) for name in _CALLS)


def run(interpreter, input_index: int, output_index: int, batch: np.ndarray) -> np.ndarray:
    """One invoke through the native calls; no reference to the native object is kept (the public calls count
    references)."""
    engine = interpreter._interpreter
    engine.SetTensor(input_index, batch)
    engine.Invoke()
    out = engine.GetTensor(output_index, 0)
    del engine
    return out
