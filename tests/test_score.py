"""edgeport score: one row per image, streamed in one process or run on a real local Ray cluster.

Every expectation comes from runtime.load(...).predict on the same images, read independently
(np.load, Pillow), never from the scorer itself.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from edgeport import runtime
from tests.conftest import ENV, edgeport, plant_dress_model, run_cli

MODEL = "model_int8.tflite"


@pytest.fixture(scope="module")
def predictor(exported):
    return runtime.load(exported / MODEL)


@pytest.fixture(scope="module")
def npz(test_set, tmp_path_factory):
    images, labels = test_set
    path = tmp_path_factory.mktemp("score") / "test.npz"
    np.savez(path, x=images[:3000], y=labels[:3000])
    return path


def _rows(path):
    return pq.read_table(path).to_pydict()


def _check_rows(rows, probabilities, top=3):
    """Rows against predict(): label, confidence and top-k of each image, in order."""
    assert rows["class_index"] == probabilities.argmax(1).tolist()
    np.testing.assert_array_equal(np.array(rows["confidence"], np.float32), probabilities.max(1))
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :top]
    assert rows["top_class_indices"] == order.tolist()
    assert rows["class_name"] == [runtime.CLASS_NAMES[k] for k in rows["class_index"]]


def test_npz_scores_one_row_per_image_with_the_runtimes_predictions(exported, predictor, npz, test_set, tmp_path):
    images, labels = test_set
    result = run_cli("score", exported / MODEL, npz, "--out", tmp_path / "a.parquet", "--json", "--batch-size", "700")
    summary = json.loads(result.stdout)
    rows = _rows(tmp_path / "a.parquet")
    assert rows["index"] == list(range(3000))
    _check_rows(rows, predictor.predict(images[:3000]))
    assert rows["true_class_index"] == labels[:3000].tolist() and set(rows["error"]) == {None}
    assert "path" not in rows
    expected = np.mean(predictor.predict(images[:3000]).argmax(1) == labels[:3000])
    assert summary["images"] == 3000 and summary["errors"] == 0 and summary["chunks"] == 5
    assert summary["accuracy"] == pytest.approx(expected, abs=1e-6) and summary["images_per_second"] > 0


def test_ray_local_gives_the_same_rows_as_predict(exported, predictor, npz, test_set, tmp_path):
    from tests.test_trust import marks, plant

    images, _ = test_set
    out = tmp_path / "ray.parquet"
    # Run from a folder holding a json.py and an edgeport/ package: Ray puts the driver's working folder first on
    # its workers' import path unless the job has a working_dir, and the actors import edgeport.
    work = plant(tmp_path / "work")
    result = run_cli("score", exported / MODEL, npz, "--out", out, "--ray", "local", "--batch-size", "500", "--json",
                     cwd=work)
    assert marks(work) == []
    summary = json.loads(result.stdout)
    # Ray really ran: a cluster with a GCS, the whole machine's CPUs, an actor per CPU, a piece per chunk.
    assert summary["ray"]["address"] == "local" and summary["ray"]["gcs_address"]
    assert summary["ray"]["nodes"] == 1 and summary["ray"]["cpus"] >= 2 and summary["ray"]["pieces"] == 6
    assert summary["ray"]["actors"] == summary["ray"]["cpus"]
    assert result.stderr == ""  # Ray's start-up chatter stays out without --verbose
    rows = _rows(out)
    order = np.argsort(rows["index"])
    assert np.array(rows["index"])[order].tolist() == list(range(3000))
    probabilities = predictor.predict(images[:3000])
    by_index = {key: [rows[key][i] for i in order] for key in rows}
    _check_rows(by_index, probabilities)
    single = tmp_path / "one.parquet"
    run_cli("score", exported / MODEL, npz, "--out", single, "--batch-size", "500")
    assert pq.read_table(single).equals(pq.read_table(out))  # the same file, byte for byte in content


def _pictures(images, folder):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        path = folder / f"item{i:03d}.png"
        Image.fromarray(image).save(path)
        paths.append(path)
    return paths


def test_an_unlabelled_flat_folder_gets_one_row_per_picture(exported, predictor, test_set, tmp_path):
    images, _ = test_set
    paths = _pictures(images[:40], tmp_path / "flat")
    run_cli("score", exported / MODEL, tmp_path / "flat", "--out", tmp_path / "flat.parquet", "--top", "2")
    rows = _rows(tmp_path / "flat.parquet")
    assert rows["path"] == [str(p) for p in paths] and "true_label" not in rows
    expected = predictor.predict(np.stack([np.asarray(Image.open(p)) for p in paths]))
    _check_rows(rows, expected, top=2)


def test_a_corrupt_picture_is_a_row_with_an_error(exported, predictor, test_set, tmp_path):
    images, labels = test_set
    root = tmp_path / "classes"
    kept = []
    chosen = [int(i) for label in range(10) for i in np.flatnonzero(labels == label)[:3]]
    for i in chosen:  # class folders 00..09, by sorted position as in training; nested folders inside
        kept += _pictures(images[i : i + 1], root / f"{labels[i]:02d}" / f"{i}")
    broken = root / "00" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not a picture")
    result = run_cli("score", exported / MODEL, root, "--out", tmp_path / "c.parquet", "--json")
    summary = json.loads(result.stdout)
    rows = _rows(tmp_path / "c.parquet")
    assert len(rows["index"]) == 31 and summary["errors"] == 1 and summary["labelled"] == 30
    bad = rows["path"].index(str(broken))
    assert "broken.png is not a readable picture" in rows["error"][bad]
    assert rows["class_index"][bad] is None and rows["confidence"][bad] is None and rows["true_class_index"][bad] == 0
    good = [i for i in range(31) if i != bad]
    by_path = {str(p): labels[int(p.parent.name)] for p in kept}
    assert [rows["true_class_index"][i] for i in good] == [by_path[rows["path"][i]] for i in good]
    expected = predictor.predict(np.stack([np.asarray(Image.open(rows["path"][i])) for i in good]))
    assert [rows["class_index"][i] for i in good] == expected.argmax(1).tolist()
    assert summary["accuracy"] == pytest.approx(np.mean(expected.argmax(1) == [rows["true_class_index"][i] for i in good]))


def test_a_parquet_store_of_image_bytes_scores(exported, predictor, test_set, tmp_path):
    images, labels = test_set
    encoded = []
    for image in images[:250]:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        encoded.append(buffer.getvalue())
    table = pa.table({"image": encoded, "label": labels[:250].astype(np.int64)})
    pq.write_table(table, tmp_path / "store.parquet", row_group_size=100)
    run_cli("score", exported / MODEL, tmp_path / "store.parquet", "--out", tmp_path / "s.parquet")
    rows = _rows(tmp_path / "s.parquet")
    assert rows["index"] == list(range(250)) and rows["true_class_index"] == labels[:250].tolist()
    _check_rows(rows, predictor.predict(images[:250]))


@pytest.mark.parametrize("kind", ["npz", "compressed npz", "parquet"])
def test_the_one_process_path_reads_in_chunks(predictor, test_set, tmp_path, kind):
    images, labels = (np.concatenate([a] * 4) for a in test_set)  # 40,000 images, 31 MB of pixels
    if kind == "parquet":  # 12,000 PNG rows (9.4 MB of pixels once decoded): 100 test images, repeated
        images, labels = images[:12_000], labels[:12_000]
        encoded = [_png(image) for image in images[:100]] * 120
        path = tmp_path / "big.parquet"
        pq.write_table(pa.table({"image": encoded}), path, row_group_size=4000)
    else:
        path = tmp_path / "big.npz"
        (np.savez_compressed if kind == "compressed npz" else np.savez)(path, x=images, y=labels)
    stream = runtime.open_source(path, runtime.CLASS_NAMES).stream()
    assert stream.count == len(images)
    tracemalloc.start()
    try:
        sizes = [len(chunk) for chunk in stream.chunks(1000, predictor.image_shape, predictor.background)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sizes == [1000] * (len(images) // 1000)
    # Never the whole data set at once: a few chunks' worth (784 KB of pixels each) at most.
    assert peak < 8 * 1000 * 28 * 28, f"peak {peak / 1e6:.1f} MB for {images.nbytes / 1e6:.0f} MB of pixels"


def test_bad_input_is_one_line_and_leaves_no_file(exported, test_set, tmp_path):
    images, _ = test_set
    model = exported / MODEL
    missing = run_cli("score", model, tmp_path / "nothing", "--out", tmp_path / "x.parquet", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (f"edgeport score: error: {tmp_path / 'nothing'}: no such data: expected "
                                      f"'fashion-mnist', a folder of pictures (class folders give labels), an .npz or "
                                      f".npy file, or a .parquet file or folder")
    wrong = run_cli("score", model, tmp_path, "--out", tmp_path / "x.csv", check=False)
    assert wrong.returncode == 1 and "the output must be a .parquet file" in wrong.stderr
    # Pixels that go bad half-way: an error naming the rows, and no half-written Parquet file.
    floats = images[:2000].astype(np.float32) / 255
    floats[1500] = 7.0
    np.savez(tmp_path / "bad.npz", x=floats)
    (tmp_path / "keep.parquet").write_bytes(b"previous")
    bad = run_cli("score", model, tmp_path / "bad.npz", "--out", tmp_path / "keep.parquet", check=False)
    assert bad.returncode == 1 and "bad.npz[1000:2000]: expected uint8 pixels or floats in [0, 1]; got float32 values in [0.0, 7.0]" \
        in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert (tmp_path / "keep.parquet").read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npz", "keep.parquet"]
    flags = run_cli("score", model, tmp_path / "bad.npz", "--out", tmp_path / "y.parquet", "--actors", "2",
                    check=False)
    assert flags.returncode == 2 and "--actors needs --ray" in flags.stderr


@pytest.mark.parametrize("blocked, flags, message", [
    (("pyarrow", "ray"), (), "needs pyarrow: pip install 'edgeport[score]'"),
    (("ray",), ("--ray",), "--ray needs Ray Data: pip install 'edgeport[scale]'"),
])
def test_without_the_extras_score_says_what_to_install(exported, npz, tmp_path, blocked, flags, message):
    stubs = tmp_path / "blocked"
    for name in blocked:
        (stubs / name).mkdir(parents=True)
        (stubs / name / "__init__.py").write_text(
            f"raise ModuleNotFoundError(\"No module named '{name}'\", name={name!r})\n")
    result = run_cli("score", exported / MODEL, npz, "--out", tmp_path / "x.parquet", *flags,
                     env=ENV | {"PYTHONPATH": str(stubs)}, check=False)
    assert result.returncode == 2 and result.stderr.strip() == f"edgeport score: error: {message}"
    assert not (tmp_path / "x.parquet").exists()


def test_the_output_may_not_be_an_input(exported, test_set, tmp_path):
    images, labels = test_set
    store = tmp_path / "store"
    store.mkdir()
    pq.write_table(pa.table({"image": [_png(image) for image in images[:20]]}), store / "part-0.parquet")
    before = (store / "part-0.parquet").read_bytes()
    for data, out in ((store / "part-0.parquet", store / "part-0.parquet"), (store, store / "scores.parquet")):
        result = run_cli("score", exported / MODEL, data, "--out", out, check=False)
        assert result.returncode == 1
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"edgeport score: error: {out} is ") and f"an input of this job ({data})" in line
    assert (store / "part-0.parquet").read_bytes() == before and sorted(p.name for p in store.iterdir()) == ["part-0.parquet"]
    np.savez(tmp_path / "x.npz", x=images[:5])
    assert run_cli("score", exported / MODEL, tmp_path / "x.npz", "--out", tmp_path / "fine.parquet").returncode == 0


def _png(image) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _assorted_pictures(images, labels, root, count):
    """count pictures in class folders as people keep them: the model's size, larger, light-backed, RGB,
    JPEG; and one file that is not a picture."""
    paths = []
    for i in range(count):
        picture = Image.fromarray(images[i])
        kind = i % 4
        if kind == 1:
            picture = picture.resize((56, 48))
        elif kind == 2:
            picture = Image.fromarray(255 - images[i]).convert("RGB").resize((40, 40))
        path = root / runtime.CLASS_NAMES[labels[i]].replace("/", "-") / f"{i:03d}{'.jpg' if kind == 3 else '.png'}"
        path.parent.mkdir(parents=True, exist_ok=True)
        picture.save(path)
        paths.append(path)
    (root / "Bag" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not a picture")
    return paths


def test_workers_give_the_rows_of_one_process_in_order(exported, predictor, test_set, tmp_path):
    images, labels = test_set
    root = tmp_path / "pictures"
    _assorted_pictures(images, labels, root, 120)
    seen = []  # worker processes alive while the job runs: the pool is real
    one = runtime.score(predictor, root, tmp_path / "one.parquet", batch_size=25, workers=1)
    three = runtime.score(predictor, root, tmp_path / "three.parquet", batch_size=25, workers=3,
                          progress=lambda _: seen.append(len(multiprocessing.active_children())))
    assert one["workers"] == 1 and three["workers"] == 3 and max(seen) == 3
    assert pq.read_table(tmp_path / "three.parquet").equals(pq.read_table(tmp_path / "one.parquet"))
    rows = _rows(tmp_path / "three.parquet")
    assert len(rows["path"]) == 121 and rows["error"].count(None) == 120
    # Each row is the model's answer on that picture fitted by itself, whatever chunk it was in.
    good = [i for i, error in enumerate(rows["error"]) if error is None]
    fitted = np.stack([runtime.read_picture(rows["path"][i], predictor.image_shape, predictor.background).pixels
                       for i in good])
    assert [rows["class_index"][i] for i in good] == predictor.predict(fitted).argmax(1).tolist()
    # By default, every CPU this process may use, and no more workers than pieces.
    default = runtime.score(predictor, root, tmp_path / "default.parquet", batch_size=25)
    assert default["workers"] == min(len(os.sched_getaffinity(0)), 5)
    few = runtime.score(predictor, root, tmp_path / "few.parquet", batch_size=100, workers=8)
    assert few["workers"] == 2
    assert pq.read_table(tmp_path / "few.parquet").equals(pq.read_table(tmp_path / "one.parquet"))


def test_workers_score_a_parquet_store_by_row_groups(exported, predictor, test_set, tmp_path):
    images, labels = test_set
    encoded = [_png(image) for image in images[:300]]
    encoded[7] = b"junk"
    pq.write_table(pa.table({"image": encoded, "label": labels[:300].astype(np.int64)}), tmp_path / "store.parquet",
                   row_group_size=60)
    summary = runtime.score(predictor, tmp_path / "store.parquet", tmp_path / "two.parquet", batch_size=25, workers=2)
    runtime.score(predictor, tmp_path / "store.parquet", tmp_path / "one.parquet", batch_size=25, workers=1)
    assert summary["workers"] == 2 and summary["chunks"] == 15 and summary["errors"] == 1
    assert pq.read_table(tmp_path / "two.parquet").equals(pq.read_table(tmp_path / "one.parquet"))
    rows = _rows(tmp_path / "two.parquet")
    keep = [i for i in range(300) if i != 7]
    assert [rows["class_index"][i] for i in keep] == predictor.predict(images[keep]).argmax(1).tolist()


def test_workers_run_the_bytes_the_parent_checked_even_when_the_file_is_replaced(exported, test_set, tmp_path):
    """Workers start their engines on the parent's bytes: a file swapped with its manifest entry after load(),
    as anyone who can write the folder can, never runs (they used to load the path again)."""
    images, _ = test_set
    folder = tmp_path / "export"
    folder.mkdir()
    model = folder / "model_int8.onnx"
    for name in (model.name, "manifest.json"):
        (folder / name).write_bytes((exported / name).read_bytes())
    checked = runtime.load(model)
    plant_dress_model(folder, model.name)
    assert runtime.load(model).predict_one(images[0]).class_name == "Dress"  # the swap is live on disk
    _pictures(images[:60], tmp_path / "pictures")
    runtime.score(checked, tmp_path / "pictures", tmp_path / "scores.parquet", batch_size=20, workers=2)
    scored = pq.read_table(tmp_path / "scores.parquet").to_pydict()
    order = [int(Path(path).stem.removeprefix("item")) for path in scored["path"]]
    assert scored["class_index"] == list(checked.predict(images[:60][order]).argmax(1))
    assert edgeport("score", model, tmp_path / "pictures", "--out", tmp_path / "s.parquet", "--workers", "0",
                    check=False).returncode == 2


def test_a_worker_that_dies_ends_the_job_with_an_error_not_a_hang(predictor, test_set, tmp_path):
    images, _ = test_set
    _pictures(images[:60], tmp_path / "pictures")

    def kill_the_workers(_):  # as the OOM killer would, while pieces are still out
        for child in multiprocessing.active_children():
            os.kill(child.pid, signal.SIGKILL)

    with pytest.raises(runtime.WorkerError, match=r"a scoring worker process died \(signal 9\); nothing was written"):
        runtime.score(predictor, tmp_path / "pictures", tmp_path / "s.parquet", batch_size=5, workers=2,
                      progress=kill_the_workers)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pictures"] and not multiprocessing.active_children()


@pytest.fixture
def ray_cluster(tmp_path):
    """A real two-node Ray cluster started with `ray start`, as its docs show: a head, then a second node
    joining it, one CPU each. Its user's HOME holds a token, so `ray start --head` turns token authentication on
    by itself (Ray 2.59 and later)."""
    home = tmp_path / "home"
    (home / ".ray").mkdir(parents=True)
    (home / ".ray" / "auth_token").write_text(secrets.token_hex(32))
    env = {k: v for k, v in ENV.items() if not k.startswith("RAY_AUTH")} | {"HOME": str(home)}
    ray = str(Path(sys.executable).with_name("ray"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    temp = tempfile.mkdtemp(prefix="ep-ray-", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    common = ["--num-cpus=1", "--node-ip-address=127.0.0.1", "--disable-usage-stats"]
    try:
        head = subprocess.run([ray, "start", "--head", f"--port={port}", "--include-dashboard=false",
                               f"--temp-dir={temp}", *common], env=env, capture_output=True, text=True, timeout=120)
        assert head.returncode == 0, head.stderr
        assert "Token authentication is enabled" in head.stderr + head.stdout
        # A joining node turns authentication on only when told (Ray's docs: the same RAY_AUTH_MODE on every node).
        node = subprocess.run([ray, "start", f"--address=127.0.0.1:{port}", *common],
                              env=env | {"RAY_AUTH_MODE": "token"}, capture_output=True, text=True, timeout=120)
        assert node.returncode == 0, node.stderr
        yield f"127.0.0.1:{port}", env
    finally:
        _kill_processes_of(temp)  # this cluster's alone (`ray stop` ends every Ray process, and takes 7 s)
        shutil.rmtree(temp, ignore_errors=True)


def _kill_processes_of(temp: str) -> None:
    """SIGKILL the processes whose command line names the folder, and their descendants; wait until gone."""
    parents, command = {}, {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            command[int(entry.name)] = (entry / "cmdline").read_bytes()
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):  # gone meanwhile
            continue
    doomed = {pid for pid, line in command.items() if temp.encode() in line}
    while grown := {pid for pid, parent in parents.items() if parent in doomed} - doomed:
        doomed |= grown
    for pid in doomed:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(_state(pid) != "Z" for pid in doomed) and time.monotonic() < deadline:
        time.sleep(0.05)


def _state(pid: int) -> str:
    """A process's state letter; "Z" (a zombie, as good as gone) when it no longer exists."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_ray_address_joins_a_token_authenticated_cluster_with_the_users_token(exported, predictor, npz, ray_cluster,
                                                                              tmp_path):
    address, env = ray_cluster
    out = tmp_path / "cluster.parquet"
    result = run_cli("score", exported / MODEL, npz, "--out", out, "--ray", address, "--batch-size", "500", "--json",
                     env=env)
    facts = json.loads(result.stdout)["ray"]
    # Two nodes of one CPU each, an actor per CPU: each node scored.
    assert facts["authentication"] == "token" and facts["nodes"] == 2 and facts["cpus"] == 2 and facts["actors"] == 2
    runtime.score(predictor, npz, tmp_path / "one.parquet", batch_size=500)
    assert pq.read_table(out).equals(pq.read_table(tmp_path / "one.parquet"))
    # Another token: refused by the cluster, said in one line that names authentication; nothing written.
    wrong = run_cli("score", exported / MODEL, npz, "--out", tmp_path / "no.parquet", "--ray", address, check=False,
                    env=env | {"RAY_AUTH_TOKEN": "not-the-clusters-token", "RAY_gcs_server_port_wait_time_s": "1"})
    assert wrong.returncode == 1 and wrong.stderr.strip() == (
        f"edgeport score: error: the Ray cluster at {address} refused the authentication token from $RAY_AUTH_TOKEN: "
        f"set RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH, or copy the cluster's token to ~/.ray/auth_token")
    assert not (tmp_path / "no.parquet").exists()


def _children(pid: int) -> set[int]:
    """The processes whose parent is pid, from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Whether pid runs (a zombie waiting for its new parent to reap it does not)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_workers_die_with_a_parent_killed_by_sigkill(exported, test_set, tmp_path):
    images, _ = test_set
    _pictures(images[:600], tmp_path / "pictures")
    parent = subprocess.Popen([str(Path(sys.executable).with_name("edgeport")), "score", str(exported / MODEL),
                               str(tmp_path / "pictures"), "--out", str(tmp_path / "s.parquet"), "--workers", "2",
                               "--batch-size", "5"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    try:
        deadline = time.monotonic() + 60
        while len(workers := _children(parent.pid)) < 2 and parent.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) == 2, "the workers did not start"
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 15
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(map(_alive, workers)), "workers outlived their parent"
    finally:
        for pid in _children(parent.pid) | (workers if "workers" in locals() else set()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_a_looping_link_is_one_error_row_and_names_are_printed_escaped(exported, test_set, tmp_path):
    images, _ = test_set
    folder = tmp_path / "pictures"
    _pictures(images[:3], folder)
    (folder / "loop.png").symlink_to("loop.png")  # a link to itself
    (folder / "loop").symlink_to("loop")  # a folder-looking name that loops too
    hostile = folder / "title\x1b]0;pwned\x07.png"  # an OSC sequence that retitles a terminal
    Image.fromarray(images[3]).save(hostile, format="PNG")

    predicted = edgeport("predict", exported / MODEL, folder, check=False)
    assert predicted.returncode == 1
    assert predicted.stderr.strip() == (f"edgeport predict: error: {folder / 'loop.png'} is not a readable picture: "
                                        f"Too many levels of symbolic links")
    assert len(predicted.stdout.splitlines()) == 4 and "\x1b" not in predicted.stdout + predicted.stderr
    assert "title\\x1b]0;pwned\\x07.png: " in predicted.stdout

    summary = edgeport("score", exported / MODEL, folder, "--out", tmp_path / "s.parquet", "--workers", "1")
    assert "Scored 5 images: 1 errors" in summary.stdout
    rows = pq.read_table(tmp_path / "s.parquet").to_pylist()
    errors = {Path(row["path"]).name: row["error"] for row in rows if row["error"]}
    assert list(errors) == ["loop.png"] and "Too many levels of symbolic links" in errors["loop.png"]


def test_numbered_class_folders_score_with_a_class_index_beside_the_folders_name(test_set, tmp_path):
    """Folders "0".."11" are the classes 0, 1, 10, 11, 2... in Keras's order: a picture of folder "10" is class
    index 2. The rows name the model's output index class_index (it was label, which read as the folder's
    number), beside class_name "10", and true_class_index for the folder."""
    from tests.conftest import constant_model

    names = sorted(str(k) for k in range(12))  # Keras's order of the folder names, as strings
    constant_model(tmp_path / "numbered.onnx", 12, names.index("10"), names)  # answers folder "10"'s class
    images, _ = test_set
    for k in range(12):
        (tmp_path / "data" / str(k)).mkdir(parents=True)
        Image.fromarray(images[k]).save(tmp_path / "data" / str(k) / "picture.png")
    run_cli("score", tmp_path / "numbered.onnx", tmp_path / "data", "--out", tmp_path / "s.parquet", "--no-verify")
    table = pq.read_table(tmp_path / "s.parquet")
    assert "label" not in table.column_names and "true_label" not in table.column_names
    rows = {Path(row["path"]).parent.name: row for row in table.to_pylist()}
    assert {(row["class_index"], row["class_name"]) for row in rows.values()} == {(2, "10")}
    assert {folder: row["true_class_index"] for folder, row in rows.items()} == {name: names.index(name) for name in names}
    assert rows["10"]["true_class_index"] == 2 and rows["2"]["true_class_index"] == 4
