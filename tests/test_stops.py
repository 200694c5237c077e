"""Stopped by a real signal at several moments: SIGTERM and SIGHUP clean up as Ctrl-C does, and what a
SIGKILL leaves behind is removed by the next run."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import time

import numpy as np
import pytest
from PIL import Image

from tests.conftest import EDGEPORT, ENV, default_sigint, edgeport, stop


def _start(*args) -> subprocess.Popen:
    return subprocess.Popen([EDGEPORT, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=ENV, stdin=subprocess.DEVNULL, preexec_fn=default_sigint)


def _wait_for(condition, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the moment to stop the command never came"
        time.sleep(0.01)


def _listing(folder) -> dict:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} | \
        {p.name + "/": None for p in folder.iterdir() if p.is_dir()}


def test_sigterm_during_an_export_cleans_up_and_keeps_the_previous_export(exported, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("model_fp32.tflite", "model.onnx", "manifest.json", "reference_probs.npy"):
        (out / name).write_bytes((exported / name).read_bytes())
    before = _listing(out)
    export = _start("export", exported / "model.keras", "--out", out, "--formats", "fp32,onnx")
    try:
        _wait_for(lambda: _children_running(export.pid, "validator.py"), export)  # up before the first file
        export.send_signal(signal.SIGTERM)  # while the files are being converted
        _, stderr = export.communicate(timeout=120)
    finally:
        stop(export)
    assert export.returncode == 143 and stderr.strip().splitlines()[-1] == "edgeport export: terminated", stderr
    assert _listing(out) == before  # no staging folder, no lock holder's note, the old files as they were


def test_what_a_killed_export_leaves_is_removed_by_the_next_one(exported, tmp_path):
    out = tmp_path / "out"
    export = _start("export", exported / "model.keras", "--out", out, "--formats", "fp32,onnx")
    try:
        # The validation worker is up before the first file is built, and validates each while the next converts.
        worker = []
        _wait_for(lambda: worker.extend(_children_running(export.pid, "validator.py")) or worker, export)
        export.kill()
        export.communicate(timeout=60)
    finally:
        stop(export)
    deadline = time.monotonic() + 10
    while worker and not _gone(worker[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(worker) == 1 and _gone(worker[0]), "the validation worker outlived the export that started it"
    assert [p.name for p in out.glob(".export-*")] and (out / ".edgeport-export").exists()  # debris, as reported
    edgeport("export", exported / "model.keras", "--out", out, "--formats", "fp32")
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "model_fp32.tflite", "reference_probs.npy"]


def test_sighup_during_a_score_leaves_no_temporary_file_and_a_killed_one_is_removed_next_time(exported, test_set,
                                                                                              tmp_path):
    images, labels = test_set
    np.savez(tmp_path / "many.npz", x=np.concatenate([images] * 2), y=np.concatenate([labels] * 2))
    out = tmp_path / "scores.parquet"
    for how, status in ((signal.SIGHUP, 129), (signal.SIGKILL, -9)):
        # One image per chunk: 20,000 row groups, slow enough to be stopped half-way.
        score = _start("score", exported / "model_int8.tflite", tmp_path / "many.npz", "--out", out,
                       "--batch-size", "1")
        try:
            _wait_for(lambda: list(tmp_path.glob(".scores.*.tmp.parquet")), score)
            score.send_signal(how)
            _, stderr = score.communicate(timeout=60)
        finally:
            stop(score)
        assert score.returncode == status, stderr
        left = [p.name for p in tmp_path.glob(".scores.*")]
        if how == signal.SIGHUP:
            assert stderr.strip() == "edgeport score: hung up" and left == [] and not out.exists()
        else:
            assert left == [f".scores.{score.pid}.tmp.parquet"]  # SIGKILL runs no clean-up at all
    np.savez(tmp_path / "few.npz", x=images[:10])
    edgeport("score", exported / "model_int8.tflite", tmp_path / "few.npz", "--out", out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["few.npz", "many.npz", "scores.parquet"]


class _Killed(BaseException):
    """Stands for a SIGKILL between two renames: nothing after it runs in the publishing code."""


def test_an_export_killed_while_moving_its_files_in_loads_whole_and_the_next_one_finishes(exported, tmp_path,
                                                                                         monkeypatch):
    import shutil

    from edgeport import runtime
    from edgeport.export import pipeline, publish

    old = tmp_path / "old"
    edgeport("export", exported / "model.keras", "--out", old, "--formats", "fp32,onnx")
    # A second export's staging folder, caught at the moment it would be moved in.
    caught = tmp_path / "caught"

    def catch(staging, out, names):
        shutil.copytree(staging, caught / staging.name)
        (caught / "names.json").write_text(json.dumps(names))
        raise _Killed

    monkeypatch.setattr(pipeline, "publish", catch)
    folder = tmp_path / "export"
    shutil.copytree(old, folder)
    with pytest.raises(_Killed):
        edgeport("export", exported / "model.keras", "--out", folder, "--formats", "fp16,onnx-int8")
    monkeypatch.undo()
    staging_name = next(p.name for p in caught.iterdir() if p.is_dir())
    names = json.loads((caught / "names.json").read_text())
    old_files = set(runtime.read_manifest(old).files)
    new_files = set(json.loads((caught / staging_name / "manifest.json").read_text())["files"])
    assert old_files < new_files  # the new export keeps the old files and adds two

    real_replace, moves = os.replace, len(names) + 1  # the files, then the manifest
    for killed_after in range(-1, moves + 1):  # -1: before the journal; moves: just before the journal goes
        folder = tmp_path / f"kill-{killed_after}"
        shutil.copytree(old, folder)
        shutil.copytree(caught / staging_name, folder / staging_name)
        done = []

        def replace(src, dst):  # os.replace, dying before the (killed_after + 1)th move out of the staging folder
            if os.path.dirname(src) == str(folder / staging_name):
                if len(done) == killed_after:
                    raise _Killed
                done.append(src)
            real_replace(src, dst)

        monkeypatch.setattr(os, "replace", replace)
        if killed_after == -1:  # before the journal is written
            monkeypatch.setattr(publish, "write_text_atomic", lambda *a: (_ for _ in ()).throw(_Killed()))
        if killed_after == moves:  # every file moved, the journal not yet removed
            real_unlink = pathlib.Path.unlink
            monkeypatch.setattr(pathlib.Path, "unlink", lambda self, *a, **k: (_ for _ in ()).throw(_Killed())
                                if self.name == ".edgeport-publish.json" else real_unlink(self, *a, **k))
        with pytest.raises(_Killed):
            publish.publish(folder / staging_name, folder, names)
        monkeypatch.undo()
        # Whatever the moment, the folder loads as one whole export, with verification on.
        manifest = runtime.read_manifest(folder)
        assert set(manifest.files) == (old_files if killed_after == -1 else new_files), killed_after
        for name in manifest.files:
            runtime.load(folder / name)  # the sha256 of the bytes it reads matches the manifest it reads
        # The next export into the folder finishes the move first (one real export; the others call what it calls).
        if killed_after == 1:
            edgeport("export", exported / "model.keras", "--out", folder, "--formats", "fp32")
            assert not list(folder.glob(".export-*"))
        else:
            assert publish.finish_publish(folder) == (killed_after != -1)
        assert not (folder / ".edgeport-publish.json").exists()
        expected = old_files if killed_after == -1 else new_files
        assert set(runtime.read_manifest(folder).files) == expected, killed_after
        for name in expected:
            runtime.load(folder / name)


def _children(pid: int) -> list[int]:
    """The processes whose parent is pid (from /proc)."""
    found = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_sigterm_while_workers_score_ends_them_and_writes_nothing(exported, test_set, tmp_path):
    images, _ = test_set
    folder = tmp_path / "pictures"
    folder.mkdir()
    Image.fromarray(images[0]).resize((1500, 1500)).save(folder / "000.png")  # a few ms each to decode and frame
    for i in range(1, 300):
        os.link(folder / "000.png", folder / f"{i:03d}.png")
    score = _start("score", exported / "model_int8.tflite", folder, "--out", tmp_path / "s.parquet",
                   "--workers", "2", "--batch-size", "10")
    try:
        _wait_for(lambda: len(_children(score.pid)) == 2, score)
        workers = _children(score.pid)
        time.sleep(0.3)
        score.send_signal(signal.SIGTERM)
        _, stderr = score.communicate(timeout=60)
    finally:
        stop(score)
    assert score.returncode == 143 and stderr.strip() == "edgeport score: terminated", stderr
    assert not [pid for pid in workers if pathlib.Path(f"/proc/{pid}").exists()]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pictures"]


def _children_running(parent: int, marker: str) -> list[int]:
    """Processes whose parent is `parent` and whose command line holds marker."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and marker in command:
            found.append(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"  # dead, waiting for its (new) parent to reap it


def test_vela_dies_with_a_killed_export_and_its_scratch_folder_goes_with_the_next_run(quadrants, tmp_path):
    """Vela kept running after a SIGKILLed export, and its scratch folder in /tmp was never removed. Vela is frozen
    (SIGSTOP) as soon as it starts, so that only the parent-death signal can end it; its scratch folder is in the
    export's staging folder, which the next run removes."""
    import keras

    from tests.conftest import fit_quadrants

    keras.utils.set_random_seed(0)
    fit_quadrants(keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                                    keras.layers.Dense(4, activation="softmax")]), quadrants).save(tmp_path / "m.keras")
    out = tmp_path / "out"
    args = ("export", tmp_path / "m.keras", "--data", quadrants["npz"], "--out", out, "--formats", "micro-int8",
            "--npu", "ethos-u55-128", "--no-emulator")
    export = _start(*args)
    vela = []
    try:
        _wait_for(lambda: vela.extend(_children_running(export.pid, "ethosu.vela")) or vela, export, seconds=120)
        os.kill(vela[0], signal.SIGSTOP)
        scratch = [p for p in out.glob(".export-*/.vela-*")]
        export.kill()
        export.communicate(timeout=60)
    finally:
        stop(export)
    deadline = time.monotonic() + 10
    while not _gone(vela[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not _gone(vela[0]):
        os.kill(vela[0], signal.SIGKILL)
        pytest.fail("Vela outlived the export that started it")
    assert len(scratch) == 1 and scratch[0].is_dir()  # Vela's scratch folder is inside the staging folder
    edgeport(*args)
    assert not list(out.glob(".export-*")) and not list(out.glob("**/.vela-*"))
