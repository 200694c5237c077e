"""Shared fixtures: the seed model is trained and exported once per run, through the real CLI, by whichever
pytest-xdist worker asks first (the others wait for it and read the same folder, which no test changes).

Training and export run through `edgeport`'s own entry point (cli.run) in this process; tests of
the process itself (signals, imports, a base install) start the installed command instead. Set EDGEPORT_TEST_ARTIFACTS to a folder that `make run` filled to reuse it instead
(local iteration only; CI always trains).
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import signal
import subprocess
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
# TFLM's objects for the Cortex-M4 builds (export's measurement, the kit tests): one folder per checkout, so a
# run compiles them once and the next reuses them.
os.environ.setdefault("EDGEPORT_FIRMWARE_OBJECTS", str(ROOT / "build" / "tflm-objects"))
EDGEPORT = str(Path(sys.executable).with_name("edgeport"))  # the console script installed beside python
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"} | {"TF_CPP_MIN_LOG_LEVEL": "2"}


def default_sigint() -> None:
    """preexec_fn for a child that a test interrupts: Ctrl-C's default action, whatever the parent had.

    A job started in the background (`make test &`, nohup, some CI runners) inherits SIGINT as
    ignored, and so would every child: Python then installs no KeyboardInterrupt handler at all.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop(process: subprocess.Popen) -> None:
    """End a child a test started, whatever happened in the test (no orphan survives it)."""
    if process.poll() is None:
        process.kill()
        process.communicate(timeout=30)


def run_cli(*args: str, check: bool = True, cwd=None, env=None, command=(EDGEPORT,)) -> subprocess.CompletedProcess:
    """Run `edgeport ARGS...` the way a user would (from a scratch folder); output captured as text."""
    result = subprocess.run([*command, *map(str, args)], capture_output=True, text=True, env=env or ENV,
                            cwd=cwd or Path(tempfile.gettempdir()), stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {result.returncode}:\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def built_once(tmp_path_factory, name: str, build) -> Path:
    """A folder that build(folder) fills once per run, shared by the run's xdist workers: the first to ask builds
    it while holding a lock, the others wait and reuse it. It is read-only to tests (copy it to change it)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the run's own folder
    folder, done = shared / name, shared / f"{name}.done"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or when a worker dies
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a worker that failed half-way
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def seed_dir(tmp_path_factory) -> Path:
    """A folder holding the seed model trained by `edgeport train` (5 epochs, seed 0)."""
    reuse = os.environ.get("EDGEPORT_TEST_ARTIFACTS")
    if reuse:
        return Path(reuse)
    return built_once(tmp_path_factory, "seed", lambda out: edgeport("train", "--out", out, "--epochs", "5",
                                                                    "--seed", "0"))


@pytest.fixture(scope="session")
def exported(seed_dir, tmp_path_factory) -> Path:
    """seed_dir's model after `edgeport export --mobile --micro`, as `make run` does: the ladder, its phone copies
    (.ort), the microcontroller's file and its firmware kit (micro/), reference_probs.npy, manifest.json, beside
    the training's files. With --no-emulator: the other workers wait for this export, and the Cortex-M4 build
    would put TFLM's compilation in their way; tests/test_firmware.py exports a model of the seed's operators
    with the emulator instead."""
    if os.environ.get("EDGEPORT_TEST_ARTIFACTS"):
        if not (seed_dir / "manifest.json").exists():
            edgeport("export", seed_dir / "model.keras", "--out", seed_dir, "--mobile", "--micro", "--no-emulator")
        return seed_dir

    def export(out: Path) -> None:
        shutil.copytree(seed_dir, out, dirs_exist_ok=True)
        edgeport("export", out / "model.keras", "--out", out, "--mobile", "--micro", "--no-emulator")

    return built_once(tmp_path_factory, "exported", export)


@pytest.fixture(scope="session")
def cnn(tmp_path_factory):
    """The small CNN (--arch cnn), trained once for one epoch on 6,000 images: (folder, history)."""
    from edgeport.train import train

    out = tmp_path_factory.mktemp("cnn")
    _, history = train(epochs=1, arch="cnn", out_dir=out, train_limit=6000, plots=False)
    return out, history


@pytest.fixture(scope="session")
def fashion():
    """Fashion-MNIST as every stage takes it: both splits, (N, 28, 28, 1) uint8."""
    from edgeport import runtime

    return runtime.load_dataset("fashion-mnist", (28, 28, 1))


@pytest.fixture(scope="session")
def test_set():
    from edgeport import runtime

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
    min_agreement, max_change, two_sided, max_diff = FILES[name]
    agreement = np.mean(probs.argmax(1) == reference.argmax(1))
    change = np.mean(probs.argmax(1) == labels) - np.mean(reference.argmax(1) == labels)
    assert agreement >= min_agreement, f"{name}: agreement {agreement:.4f}"
    assert (abs(change) if two_sided else -change) <= max_change + 1e-12, f"{name}: accuracy change {change:+.4f}"
    if max_diff is not None:
        assert np.abs(probs - reference).max() <= max_diff, f"{name}: max diff {np.abs(probs - reference).max():.2e}"
    return agreement, change


def seen(validation, count: int) -> np.ndarray:
    """The validation images a file's figures are on: the first validation.images of the one seeded order in
    which every file meets the count images (all of them for a file validated on every image)."""
    return np.random.default_rng(0).permutation(count)[:validation.images or count]


def edgeport(*args, check: bool = True) -> subprocess.CompletedProcess:
    """Run `edgeport ARGS...` inside this process (edgeport.cli.run): the command's whole code path,
    its output and exit status, without starting an interpreter and importing TensorFlow again.

    Use run_cli where the process itself is under test (signals, imports, environment, cwd).
    """
    from edgeport.cli import run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = run([str(a) for a in args])
        except SystemExit as e:  # argparse's usage errors and --help
            code = e.code or 0
    result = subprocess.CompletedProcess(["edgeport", *map(str, args)], code, out.getvalue(), err.getvalue())
    if check and code != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {code}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def run_python(*args, check: bool = True, cwd=None, env=None) -> subprocess.CompletedProcess:
    """Run this venv's python with args (a script, or -c CODE) in a fresh process."""
    return run_cli(*args, check=check, cwd=cwd, env=env, command=(sys.executable,))


def dress_model(path):
    """An ONNX classifier for 28x28x1 pictures that answers 'Dress' (class 3) to everything: the attacker's."""
    return constant_model(path, 10, 3)


def constant_model(path, classes: int, answer: int, class_names=None):
    """An ONNX classifier for 28x28x1 pictures with classes outputs that answers class answer to everything
    (class_names, when given, in its metadata_props as an exported file holds them)."""
    import json

    import numpy
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    bias = numpy.zeros(classes, numpy.float32)
    bias[answer] = 20.0
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["images"], ["flat"]), helper.make_node("MatMul", ["flat", "w"], ["logits"]),
         helper.make_node("Add", ["logits", "b"], ["shifted"]), helper.make_node("Softmax", ["shifted"], ["probs"])],
        "constant", [helper.make_tensor_value_info("images", TensorProto.FLOAT, [None, 28, 28, 1])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [None, classes])],
        [numpy_helper.from_array(numpy.zeros((784, classes), numpy.float32), "w"), numpy_helper.from_array(bias, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    if class_names is not None:
        helper.set_model_props(model, {"class_names": json.dumps(list(class_names))})
    onnx.save(model, path)
    return path


def plant_dress_model(folder, name):
    """The ONNX file name and its manifest entry replaced together, as anyone who can write the folder can."""
    import json

    from edgeport.runtime.manifest import sha256_file

    dress_model(folder / name)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name]["sha256"] = sha256_file(folder / name)
    (folder / "manifest.json").write_text(json.dumps(manifest))


PEAK = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True, stdin=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"  # KiB, of the one child
    "sys.stdout.write(done.stdout); sys.stderr.write(done.stderr); sys.exit(done.returncode)\n"
)


def with_peak(*args, env=None):
    """Run a command in a fresh parent that reports its one child's peak RSS: (MiB, CompletedProcess)."""
    done = subprocess.run([sys.executable, "-c", PEAK, *map(str, args)], capture_output=True, text=True,
                          env=env or ENV, stdin=subprocess.DEVNULL)
    peak, _, rest = done.stdout.partition("\n")
    return int(peak) / 1024, subprocess.CompletedProcess(args, done.returncode, rest, done.stderr)


def quadrant_pictures(count: int, seed: int, size: int = 8, channels: int = 1):
    """Pictures of four classes: the class's quadrant is bright on a dim noisy ground."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, count)
    images = (rng.integers(0, 256, (count, size, size, channels)) // 3).astype(np.uint8)
    half = size // 2
    for k in range(4):
        row, column = divmod(k, 2)
        images[labels == k, half * row:half * (row + 1), half * column:half * (column + 1)] += 150
    return images, labels


@pytest.fixture(scope="session")
def quadrants(tmp_path_factory):
    """An .npz of 8x8 grey quadrant pictures (train and test) and its arrays."""
    root = tmp_path_factory.mktemp("quadrants")
    (x_train, y_train), (x_test, y_test) = quadrant_pictures(300, 1), quadrant_pictures(200, 2)
    np.savez(root / "data.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
             class_names=np.array(["top left", "top right", "bottom left", "bottom right"]))
    return {"root": root, "npz": root / "data.npz", "x_train": x_train, "y_train": y_train, "x_test": x_test,
            "y_test": y_test}


def fit(model, x, y, epochs: int, batch_size: int = 32):
    """model.fit on arrays, fed as a seeded, shuffled tf.data pipeline: Keras's own array adapter rebuilds its
    pipeline every epoch, which doubled the fit of a small model on a few hundred pictures (2.0 s against 1.0 s
    for 30 epochs)."""
    import tensorflow as tf

    x = np.asarray(x, np.float32)
    y = tf.nest.map_structure(np.asarray, y)
    batches = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0).batch(batch_size)
    model.fit(batches, epochs=epochs, shuffle=False, verbose=0)  # the pipeline reshuffles every epoch itself
    return model


def fit_quadrants(model, data, epochs=30, scale=1 / 255):
    """A few seconds of training on the quadrant pictures (inputs x * scale)."""
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return fit(model, data["x_train"] * scale, data["y_train"], epochs)


# Seconds each file took on a clean clone's `make test` (two workers; TFLM compiled by the firmware files). The
# files run longest first (`make test` keeps this order: --no-loadscope-reorder), so the run ends on short files
# instead of one worker compiling TFLM while the other has nothing left; pytest-xdist's own order, by number of
# tests, put the two firmware files last. A file not listed counts as FILE_SECONDS_UNKNOWN.
FILE_SECONDS = {
    "test_export.py": 58, "test_runtime.py": 47, "test_firmware_m4.py": 40, "test_firmware.py": 35,
    "test_as_built.py": 39, "test_score.py": 37, "test_web.py": 34, "test_models.py": 31, "test_stops.py": 29,
    "test_probe.py": 27, "test_trust.py": 22, "test_cli.py": 19, "test_ladder.py": 18, "test_micro.py": 17,
    "test_your_data.py": 13, "test_ranges.py": 17, "test_equalize.py": 10, "test_report.py": 8,
    "test_signing.py": 7, "test_bounds.py": 6, "test_savedmodel.py": 6, "test_train.py": 6, "test_pictures.py": 5,
    "test_sources.py": 5, "test_mobile.py": 4, "test_statistics.py": 4, "test_recommend.py": 4,
    "test_manifest.py": 3, "test_data.py": 1,
}
FILE_SECONDS_UNKNOWN = 10


def pytest_collection_modifyitems(items) -> None:
    """The files longest first (FILE_SECONDS); within each file, the tests that need the shared seed model run
    after the others: a worker that comes to it while another worker trains and exports it has the file's other
    tests to run instead of waiting."""
    files: dict[str, int] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], len(files))

    def key(item):
        file = item.nodeid.split("::")[0]
        return -FILE_SECONDS.get(Path(file).name, FILE_SECONDS_UNKNOWN), files[file], "seed_dir" in item.fixturenames

    items.sort(key=key)
