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
