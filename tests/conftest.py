"""Shared fixtures: the seed model is trained once per session, through the real CLI.

Training and export run in subprocesses, so the runtime tests of this process use the files
exactly as a device would, without TensorFlow loaded. Set EDGEPORT_TEST_ARTIFACTS to a folder
that `make run` filled to reuse it instead (local iteration only; CI always trains).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}


def run_cli(*args: str, check: bool = True, cwd=None) -> subprocess.CompletedProcess:
    """Run `python -m ...` (or a script) the way a user would; output captured as text."""
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=ENV, cwd=cwd or ROOT)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def pytest_collection_modifyitems(items):
    # Runtime tests first: they assert that nothing in this process has imported TensorFlow yet.
    items.sort(key=lambda item: 0 if item.path.name == "test_runtime.py" else 1)


@pytest.fixture(scope="session")
def seed_dir(tmp_path_factory) -> Path:
    """A folder holding the seed model trained by `python -m train` (5 epochs, seed 0)."""
    reuse = os.environ.get("EDGEPORT_TEST_ARTIFACTS")
    if reuse:
        return Path(reuse)
    out = tmp_path_factory.mktemp("seed")
    run_cli("-m", "train", "--out", str(out), "--epochs", "5", "--seed", "0")
    return out


@pytest.fixture(scope="session")
def exported(seed_dir) -> Path:
    """seed_dir after `python -m export`: the six files, reference_probs.npy and manifest.json."""
    if not (seed_dir / "manifest.json").exists() or not os.environ.get("EDGEPORT_TEST_ARTIFACTS"):
        run_cli("-m", "export", str(seed_dir / "model.keras"), "--out", str(seed_dir))
    return seed_dir


@pytest.fixture(scope="session")
def test_set():
    import runtime

    return runtime.load_fashion_mnist("test")


# The bars of ../shared/DESIGN.md, written here independently of export.validate.
FILES = {
    # name: (min agreement, max |accuracy change| or max drop, two-sided, max abs diff)
    "model_fp32.tflite": (0.9995, 0.0005, True, 1e-4),
    "model.onnx": (0.9995, 0.0005, True, 1e-4),
    "model_fp16.tflite": (0.999, 0.001, True, 5e-3),
    "model_dynamic.tflite": (0.985, 0.005, False, None),
    "model_int8.tflite": (0.985, 0.005, False, None),
    "model_int8.onnx": (0.985, 0.005, False, None),
}


def assert_within_bars(name, probs, reference, labels):
    """Check probs against the Keras reference with the DESIGN.md bar for file `name`."""
    import numpy as np

    min_agreement, max_change, two_sided, max_diff = FILES[name]
    agreement = np.mean(probs.argmax(1) == reference.argmax(1))
    change = np.mean(probs.argmax(1) == labels) - np.mean(reference.argmax(1) == labels)
    assert agreement >= min_agreement, f"{name}: agreement {agreement:.4f}"
    assert (abs(change) if two_sided else -change) <= max_change + 1e-12, f"{name}: accuracy change {change:+.4f}"
    if max_diff is not None:
        assert np.abs(probs - reference).max() <= max_diff, f"{name}: max diff {np.abs(probs - reference).max():.2e}"
    return agreement, change
