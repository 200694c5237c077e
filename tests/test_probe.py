"""The SavedModel probe: a TF1 SavedModel refused unless trusted, and every SavedModel loaded and called once
in a child that Landlock denies every write outside its scratch folder, within time and memory limits.

Each model is built here with real TensorFlow; the evidence is the file it would have written, how long it
ran, or the one line it ended with.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import EDGEPORT, ENV, default_sigint, edgeport, run_python, stop


def tf1_savedmodel(path: Path, writes: Path | None = None) -> Path:
    """A TF1 SavedModel (tf.compat.v1's Builder: no object graph), whose init operation writes a file if asked."""
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, (None, 8, 8, 1), name="x")
        w = v1.get_variable("w", initializer=tf.ones((64, 2)), use_resource=True)
        scores = tf.nn.softmax(tf.reshape(x, (-1, 64)) @ w)
        init = tf.io.write_file(str(writes), "written at load") if writes else tf.no_op()
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(str(path))
            builder.add_meta_graph_and_variables(session, ["serve"], main_op=init, signature_def_map={
                "serving_default": v1.saved_model.predict_signature_def({"x": x}, {"scores": scores})})
            builder.save()
    return path


def test_a_tf1_savedmodel_is_refused_unless_its_code_is_trusted_and_then_cannot_write(tmp_path):
    from edgeport import export
    from edgeport.runtime.errors import ModelFileError

    leak = tmp_path / "leak"
    plain, hostile = tf1_savedmodel(tmp_path / "plain"), tf1_savedmodel(tmp_path / "hostile", writes=leak)
    for model in (plain, hostile):
        with pytest.raises(ModelFileError, match="a TF1 SavedModel .no object graph.*refused; re-save it with "
                                                 "tf.saved_model.save, or pass --trust-model-code"):
            export.load_keras_model(model)
    assert not leak.exists()
    # Trusted, the plain one loads; the hostile one runs its init in the probe, whose writes Landlock denies.
    assert export.load_keras_model(plain, trust_code=True).output_shape == (None, 2)
    with pytest.raises(ModelFileError, match=f"loading it and calling it once failed: .*{leak}.*Permission denied"):
        export.load_keras_model(hostile, trust_code=True)
    assert not leak.exists()


def test_the_sandbox_denies_writes_outside_its_folder_to_the_process_and_its_children(tmp_path):
    from edgeport.export import sandbox

    assert sandbox.abi_version() >= 1, "this kernel has no Landlock: the probe's sandbox is not enforced here"
    inside, outside = tmp_path / "scratch", tmp_path / "victim"
    inside.mkdir()
    outside.mkdir()
    (outside / "keep").write_text("mine")
    code = (
        "import os, subprocess, sys\n"
        "from edgeport.export.sandbox import restrict_writes\n"
        "print(restrict_writes(sys.argv[1]))\n"
        "open(os.path.join(sys.argv[1], 'ok'), 'w').write('x')\n"
        "open(os.devnull, 'w').write('x')\n"
        "for act in (lambda: open(os.path.join(sys.argv[2], 'new'), 'w'), lambda: os.remove(os.path.join(sys.argv[2], 'keep')),\n"
        "            lambda: open(os.path.join(sys.argv[2], 'keep'), 'w'), lambda: os.mkdir(os.path.join(sys.argv[2], 'd'))):\n"
        "    try:\n"
        "        act(); print('allowed')\n"
        "    except PermissionError:\n"
        "        print('denied')\n"
        "print(subprocess.run(['touch', os.path.join(sys.argv[2], 'child')], stderr=subprocess.DEVNULL).returncode)\n"
    )
    result = run_python("-c", code, inside, outside)
    assert result.stdout.split()[1:] == ["denied"] * 4 + ["1"]
    assert (inside / "ok").exists() and sorted(p.name for p in outside.iterdir()) == ["keep"]
    assert (outside / "keep").read_text() == "mine"


def hostile_savedmodel(path: Path, body) -> Path:
    """A SavedModel of allowed operations whose serving function runs body(x) first."""
    import tensorflow as tf

    class Hostile(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec((None, 8, 8, 1), tf.float32)])
        def serve(self, x):
            extra = tf.cast(tf.reduce_sum(body(x)), tf.float32)
            return {"scores": tf.nn.softmax(tf.reshape(x, (-1, 64))[:, :2]) + 0.0 * extra}

    module = Hostile()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


def _endless(x):
    import tensorflow as tf

    return tf.while_loop(lambda i: tf.reduce_sum(x) > -1.0, lambda i: i + 1, [tf.constant(0)])[0]


def _huge_fill(x):
    import tensorflow as tf

    side = tf.cast(tf.reduce_sum(x), tf.int32) + 2**18
    return tf.fill([side, side], 1.0)


def test_a_savedmodel_that_allocates_without_end_is_one_line(tmp_path):
    from edgeport import export
    from edgeport.runtime.errors import ModelFileError

    model = hostile_savedmodel(tmp_path / "fill", _huge_fill)
    with pytest.raises(ModelFileError, match="loading it and calling it once (failed|crashed or ran out of memory)") \
            as refused:
        export.load_keras_model(model)
    assert "\n" not in str(refused.value) and "Traceback" not in str(refused.value)


def test_a_savedmodel_of_too_many_noops_is_refused_before_tensorflow_loads_it(tmp_path):
    """10^6 NoOps (a 19 MB file) took 4.8 GB and a std::bad_alloc; in the probe, 3.5 minutes and 6.8 GB, then the
    same again in the exporting process. The count is read from the file, before anything loads (300,000 here)."""
    from tensorflow.core.framework.node_def_pb2 import NodeDef
    from tensorflow.core.protobuf import saved_model_pb2

    model = hostile_savedmodel(tmp_path / "noops", lambda x: x)
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((model / "saved_model.pb").read_bytes())
    serve = max(saved.meta_graphs[0].graph_def.library.function, key=lambda f: len(f.node_def))
    serve.node_def.extend(NodeDef(name=f"noop{i}", op="NoOp") for i in range(300_000))
    (model / "saved_model.pb").write_bytes(saved.SerializeToString())
    graph = saved.meta_graphs[0].graph_def
    operations = len(graph.node) + sum(len(f.node_def) for f in graph.library.function)
    assert operations > 300_000
    result = edgeport("export", model, "--out", tmp_path / "out", "--formats", "fp32", check=False)
    assert result.returncode == 1 and result.stderr.strip().splitlines() == [
        f"edgeport export: error: {model}: its graphs hold {operations:,} operations, "
        f"over the 200,000 edgeport loads (EfficientNetB7 holds about 32,000; TensorFlow needs about 6 KB each): "
        f"refused"]
    assert not (tmp_path / "out").exists()


def test_an_endless_savedmodel_is_stopped_by_its_time_limit_and_by_a_signal(quadrants, tmp_path, monkeypatch):
    from edgeport import export
    from edgeport.runtime.errors import ModelFileError

    model = hostile_savedmodel(tmp_path / "loop", _endless)
    monkeypatch.setenv("EDGEPORT_MODEL_TIMEOUT", "4")
    started = time.monotonic()
    with pytest.raises(ModelFileError) as refused:
        export.load_keras_model(model)
    assert time.monotonic() - started < 30
    assert str(refused.value) == (f"{model}: loading it and calling it once took more than 4 s (an endless loop?): "
                                  f"refused (set EDGEPORT_MODEL_TIMEOUT to allow longer)")
    # SIGTERM while the probe loops: the command stops as it does anywhere else, and takes the probe with it.
    process = subprocess.Popen([EDGEPORT, "export", str(model), "--data", str(quadrants["npz"]), "--out",
                                str(tmp_path / "out")], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=default_sigint, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not _children(process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        probes = _children(process.pid)
        assert probes, "the probe never started"
        time.sleep(1)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        assert process.returncode == 143 and "Traceback" not in err
        time.sleep(0.5)
        assert [pid for pid in probes if Path(f"/proc/{pid}").exists()] == []
    finally:
        stop(process)


def _children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(status.parent.name))
    return found
