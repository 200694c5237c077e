"""Stopped by a real signal at several moments: SIGTERM and SIGHUP clean up as Ctrl-C does, and what a
SIGKILL leaves behind is removed by the next run."""

from __future__ import annotations

import signal
import subprocess
import time

import numpy as np

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
        _wait_for(lambda: export.stdout.readline().startswith("model_fp32.tflite"), export)
        export.send_signal(signal.SIGTERM)  # while the ONNX file is being converted
        _, stderr = export.communicate(timeout=120)
    finally:
        stop(export)
    assert export.returncode == 143 and stderr.strip().splitlines()[-1] == "edgeport export: terminated", stderr
    assert _listing(out) == before  # no staging folder, no lock holder's note, the old files as they were


def test_what_a_killed_export_leaves_is_removed_by_the_next_one(exported, tmp_path):
    out = tmp_path / "out"
    export = _start("export", exported / "model.keras", "--out", out, "--formats", "fp32,onnx")
    try:
        _wait_for(lambda: export.stdout.readline().startswith("model_fp32.tflite"), export)
        export.kill()
        export.communicate(timeout=60)
    finally:
        stop(export)
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
