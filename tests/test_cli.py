"""One name, one command: the `edgeport` package and command line, as a new user meets them."""

import json
import re
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeport import runtime
from tests.conftest import EDGEPORT, ENV, ROOT, default_sigint, run_cli, run_python, stop

SUBCOMMANDS = ("train", "export", "report", "predict", "evaluate", "bench", "verify", "score", "web")


def _one_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_the_wheel_holds_one_top_level_name(tmp_path):
    run_python("-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", tmp_path, ROOT)
    (wheel,) = tmp_path.glob("edgeport-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"edgeport"}
    for stage in ("runtime", "export", "train"):
        assert f"edgeport/{stage}/__init__.py" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "edgeport = edgeport.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_help_lists_the_subcommands_and_each_shows_defaults_and_an_example():
    result = run_cli("--help")
    listed = [line.split()[0] for line in result.stdout.splitlines() if re.match(r"    \w", line)]
    assert tuple(listed) == SUBCOMMANDS
    for command in SUBCOMMANDS:
        text = run_cli(command, "--help").stdout
        assert "(default: " in text and f"example:\n  edgeport {command} " in text, command


HELP_IMPORTS = (
    "import sys\n"
    "from edgeport.cli import main\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "except SystemExit:\n"
    "    pass\n"
    "HEAVY = ('numpy', 'tensorflow', 'keras', 'onnx', 'onnxruntime', 'matplotlib', 'edgeport.export', 'edgeport.train')\n"
    "print('imported:', sorted(m for m in sys.modules if any(m == n or m.startswith(n + '.') for n in HEAVY)),\n"
    "      file=sys.stderr)\n"
)


@pytest.mark.parametrize("args", [["--help"], ["predict", "--help"], ["score", "--help"], ["--version"]])
def test_help_imports_no_library_in_a_fresh_process(args):
    result = run_python("-c", HELP_IMPORTS, *args)
    assert "usage: edgeport" in result.stdout or result.stdout.startswith("edgeport ")
    assert result.stderr.strip().splitlines()[-1] == "imported: []", result.stderr[-500:]
    # export's own help does read the plan (its formats, boards, objectives), and nothing heavier.
    result = run_python("-c", HELP_IMPORTS, "export", "--help")
    assert "--formats" in result.stdout and "--objective" in result.stdout
    imported = result.stderr.strip().splitlines()[-1]
    assert "edgeport.export.plan" in imported and not re.search(r"'(tensorflow|onnx|matplotlib)'", imported)


@pytest.mark.parametrize("args, message", [
    (["export", "m.keras", "--class", "a,b"], "unrecognized arguments: --class a,b"),  # not --class-names
    (["bench", "m.onnx", "--run", "5"], "unrecognized arguments: --run 5"),
    ([], "the following arguments are required: COMMAND"),
])
def test_flags_are_never_abbreviated_and_bad_usage_is_one_line(args, message):
    result = run_cli(*args, check=False)
    assert result.returncode == 2
    assert message in _one_line(result)


def test_decoy_modules_in_the_working_folder_change_nothing(exported, test_set, tmp_path):
    for name in ("train.py", "export.py", "runtime.py", "edgeport_decoy.py"):
        (tmp_path / name).write_text("raise SystemExit('the decoy module was imported')\n")
    (tmp_path / "runtime").mkdir()
    (tmp_path / "runtime" / "__init__.py").write_text("raise SystemExit('the decoy package was imported')\n")
    images, _ = test_set
    np.save(tmp_path / "five.npy", images[:5])
    expected = np.load(exported / "reference_probs.npy")[:5].argmax(1).tolist()
    for command in ((EDGEPORT,), (sys.executable, "-m", "edgeport")):
        result = run_cli("predict", exported / "model.onnx", "five.npy", "--json", cwd=tmp_path, command=command)
        assert [row["label"] for row in json.loads(result.stdout)] == expected
    probe = run_python("-c", "from edgeport import runtime, export, train; print(runtime.load.__module__, "
                             "export.to_onnx.__module__, train.train.__module__)", cwd=tmp_path)
    assert probe.stdout.split() == ["edgeport.runtime.predictor", "edgeport.export.onnx", "edgeport.train.training"]


def test_predict_reports_a_bad_picture_and_still_answers_the_rest(exported, test_set, tmp_path):
    images, _ = test_set
    folder = tmp_path / "shelf"
    (folder / "nested").mkdir(parents=True)
    for path, index in ((folder / "b.png", 1), (folder / "a.png", 2), (folder / "nested" / "c.png", 3)):
        Image.fromarray(images[index]).save(path)
    (folder / "readme.txt").write_text("not a picture: skipped inside folders")
    Image.fromarray(images[0]).save(tmp_path / "boot.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    result = run_cli("predict", exported / "model_int8.tflite", tmp_path / "boot.png", tmp_path / "broken.png",
                     folder, "--json", check=False)
    assert result.returncode == 1
    rows = json.loads(result.stdout)
    assert [Path(row["image"]).name for row in rows] == ["boot.png", "broken.png", "a.png", "b.png", "c.png"]
    errors = [row for row in rows if "error" in row]
    assert len(errors) == 1 and "broken.png is not a readable picture" in errors[0]["error"]
    reference = np.load(exported / "reference_probs.npy").argmax(1)
    assert [row["label"] for row in rows if "error" not in row] == reference[[0, 2, 1, 3]].tolist()
    assert all(0 <= row["confidence"] <= 1 and row["inverted"] is False for row in rows if "error" not in row)
    assert "broken.png is not a readable picture" in _one_line(result)


def test_predict_says_when_a_picture_was_inverted(exported, test_set, tmp_path):
    images, _ = test_set
    Image.fromarray(255 - images[0]).resize((280, 280)).save(tmp_path / "boot-on-white.png")
    text = run_cli("predict", exported / "model.onnx", tmp_path / "boot-on-white.png").stdout
    assert text.startswith(f"{tmp_path / 'boot-on-white.png'}: Ankle boot (") and "inverted" in text


def test_a_closed_pipe_ends_quietly_and_ctrl_c_exits_130(exported, test_set, tmp_path):
    images, _ = test_set
    Image.fromarray(images[0]).save(tmp_path / "boot.png")
    many = [str(tmp_path / "boot.png")] * 20_000
    # `edgeport predict ... | head -1`: the reader leaves after one line.
    reader = subprocess.Popen([EDGEPORT, "predict", str(exported / "model.onnx"), *many], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=ENV, cwd=tmp_path)
    try:
        assert reader.stdout.readline().startswith(str(tmp_path / "boot.png").encode())
        reader.stdout.close()
        _, stderr = reader.communicate(timeout=120)
    finally:
        stop(reader)
    assert reader.returncode == 141 and stderr == b""
    # Ctrl-C in the middle of a run (the child gets Ctrl-C's default action even when this suite runs
    # in the background, where SIGINT is inherited as ignored).
    interrupted = subprocess.Popen([EDGEPORT, "predict", str(exported / "model.onnx"), *many],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, cwd=tmp_path,
                                   preexec_fn=default_sigint)
    try:
        interrupted.stdout.readline()
        interrupted.send_signal(signal.SIGINT)
        _, stderr = interrupted.communicate(timeout=120)
    finally:
        stop(interrupted)
    assert interrupted.returncode == 130 and stderr.decode().strip() == "edgeport predict: interrupted"


def test_an_unwritable_output_folder_is_one_line_and_writes_nothing(exported, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where a folder should be")
    result = run_cli("export", exported / "model.keras", "--out", blocker / "out", "--formats", "fp32", check=False)
    assert result.returncode == 1
    assert _one_line(result) == f"edgeport export: error: {blocker / 'out'}: Not a directory"
    read_only = run_cli("export", exported / "model.keras", "--out", "/sys/edgeport-out", "--formats", "fp32",
                        check=False)
    assert read_only.returncode == 1
    assert _one_line(read_only).startswith("edgeport export: error: /sys/edgeport-out: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_verification_is_named_for_the_command_line(exported, tmp_path):
    folder = tmp_path / "copy"
    folder.mkdir()
    for name in ("model.onnx", "manifest.json"):
        (folder / name).write_bytes((exported / name).read_bytes())
    data = bytearray((folder / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0x01
    (folder / "model.onnx").write_bytes(bytes(data))
    np.save(tmp_path / "one.npy", np.zeros((28, 28), np.uint8))
    tampered = run_cli("predict", folder / "model.onnx", tmp_path / "one.npy", check=False)
    assert tampered.returncode == 1
    line = _one_line(tampered)
    assert "model.onnx does not match manifest.json" in line and line.endswith("or pass --no-verify to run it anyway")
    assert "verify=False" not in line
    assert run_cli("predict", folder / "model.onnx", tmp_path / "one.npy", "--no-verify").returncode == 0
    # A malformed manifest: refused with verification, a one-line warning without.
    (folder / "manifest.json").write_text("{ truncated")
    assert "manifest.json is not valid JSON" in _one_line(run_cli("predict", folder / "model.onnx", tmp_path / "one.npy",
                                                                  check=False))
    ignored = run_cli("predict", folder / "model.onnx", tmp_path / "one.npy", "--no-verify")
    assert _one_line(ignored).startswith("edgeport predict: warning: ") and "ignored because verification is off" in ignored.stderr
    assert ignored.stdout.startswith(f"{tmp_path / 'one.npy'}: ")


def test_library_calls_print_nothing_on_stdout(tmp_path):
    script = (
        "import dataclasses, sys\n"
        "from edgeport import export, runtime, train\n"
        "out = sys.argv[1]\n"
        "train.train(epochs=1, out_dir=out, train_limit=2000, plots=False)\n"
        "data = runtime.load_dataset('fashion-mnist', (28, 28, 1))\n"
        "test = data.splits['test']\n"  # a tenth of the validation images: printing is what is tested
        "data = dataclasses.replace(data, splits={**data.splits, 'test': type(test)(test.images[:1000], "
        "test.labels[:1000])})\n"
        "try:\n"
        "    plan = export.ExportPlan.from_formats('int8,onnx', calibration_samples=50, tuning_images=100)\n"
        "    export.export_all(out + '/model.keras', out, data, plan)\n"
        "except export.ValidationError:\n"
        "    pass  # a one-epoch model may miss a bar; printing is what this test is about\n"
    )
    result = run_python("-c", script, tmp_path)
    assert result.stdout == ""
    assert "fully_quantize" not in result.stderr  # the converter's chatter is captured, not printed
    manifest = runtime.read_manifest(tmp_path)
    assert sorted(manifest.files) == ["model.onnx", "model_int8.tflite"]  # both converters ran, quietly


def test_a_line_another_thread_says_while_a_converter_is_captured_reaches_stdout():
    """Files are validated in a worker whose reading thread says each file's line while the next converter runs
    with its output captured (Python's and fd 1): the line must reach stdout, the converter's output must not."""
    script = (
        "import os, threading\n"
        "from edgeport.export.common import OUTPUT_LOCK, CapturedOutput\n"
        "captured, started, said = CapturedOutput(), threading.Event(), threading.Event()\n"
        "def other():\n"
        "    started.wait()\n"
        "    with OUTPUT_LOCK:\n"
        "        print('said meanwhile', flush=True)\n"
        "    said.set()\n"
        "thread = threading.Thread(target=other)\n"
        "thread.start()\n"
        "with captured.capture():\n"
        "    print('from Python', flush=True)\n"
        "    os.write(1, b'from C++\\n')\n"
        "    started.set()\n"
        "    said.wait()\n"
        "thread.join()\n"
        "print(repr(captured.text))\n"
    )
    result = run_python("-c", script)
    assert result.stdout.splitlines() == ["said meanwhile", repr("from Python\nfrom C++\n")], result.stdout


@pytest.fixture(scope="module")
def device_env(tmp_path_factory) -> dict:
    """The environment of a base (device) install: the [export] and [train] packages cannot be imported."""
    blocked = tmp_path_factory.mktemp("device-install")
    for name in ("tensorflow", "keras", "tf2onnx", "onnx", "matplotlib"):
        (blocked / name).mkdir()
        (blocked / name / "__init__.py").write_text(
            f"raise ModuleNotFoundError(\"No module named '{name}'\", name={name!r})\n")
    return ENV | {"PYTHONPATH": str(blocked)}


@pytest.mark.parametrize("command", ["train", "export", "report"])
def test_tensorflow_commands_on_a_base_install_say_what_to_install(device_env, command, tmp_path):
    # What each command checks before TensorFlow loads is there: a model file (export), a manifest (report).
    (tmp_path / "artifacts").mkdir()
    with zipfile.ZipFile(tmp_path / "artifacts" / "model.keras", "w") as archive:  # a small, sane archive
        archive.writestr("config.json", "{}")
    (tmp_path / "artifacts" / "manifest.json").write_text(runtime.Manifest().to_text())
    result = run_cli(command, env=device_env, check=False, cwd=tmp_path)
    assert result.returncode == 2
    assert _one_line(result) == f"edgeport {command}: error: needs TensorFlow: pip install 'edgeport[export]'"


def test_the_runtime_never_imports_tensorflow(exported, test_set, device_env, tmp_path):
    images, _ = test_set
    Image.fromarray(255 - images[0]).save(tmp_path / "boot.png")
    script = (
        "import sys, numpy as np\n"
        "from edgeport import runtime\n"
        "def loaded(*names):\n"
        "    return sorted(m for m in sys.modules if any(m == n or m.startswith(n + '.') for n in names))\n"
        "HEAVY = ('tensorflow', 'keras', 'tf2onnx', 'onnx', 'ray', 'matplotlib')\n"
        "images, _ = runtime.load_fashion_mnist('test')\n"
        f"for name in {sorted(p.name for p in exported.glob('model*.*') if p.suffix != '.keras')!r}:\n"
        f"    p = runtime.load({str(exported)!r} + '/' + name)\n"
        "    p.predict(images[:100]); p.predict_one(images[0])\n"
        "runtime.read_picture(sys.argv[1], p.image_shape, p.background)\n"
        "print('runtime:', loaded(*HEAVY, 'edgeport.export', 'edgeport.train'))\n"
        "from edgeport.cli import run\n"
        f"assert run(['evaluate', {str(exported / 'model_int8.tflite')!r}, '--json']) == 0\n"
        "print('command line:', loaded(*HEAVY))\n"
    )
    result = run_python("-c", script, tmp_path / "boot.png")  # with everything installed
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "runtime: []" and lines[-1] == "command line: []", result.stdout[-500:]
    device = run_cli("predict", exported / "model_int8.tflite", tmp_path / "boot.png", env=device_env)
    assert ": Ankle boot (" in device.stdout
    # The web page is written on a base install too: it only copies files.
    run_cli("web", exported / "model_int8.onnx", "--out", tmp_path / "web", env=device_env)
    assert (tmp_path / "web" / "index.html").is_file() and (tmp_path / "web" / "model_int8.onnx").is_file()
