"""Validation in a worker process while the export builds the next rung: both cores work at once.

The export's own process converts (TensorFlow, the quantizers, mostly one core); a worker validates each file
as soon as it is built, through the same export.validate.validate_file and runtime.load, and at the end times
the single-image latency of the files within budget, when nothing else runs. The worker is started as
`python -I validator.py FOLDER` (isolated: nothing from the working folder is imported) and imports numpy,
onnxruntime and ai-edge-litert only, so its memory is the engine's and the file's.

The validation images, their labels and the Keras model's probabilities are written once into FOLDER as .npy
files and memory-mapped by the worker, never pickled per file. Tasks and results cross the worker's standard
input and output, pickled, in order.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ARRAYS = ("images", "labels", "reference")
LOG_NAME = "worker.log"


class WorkerDied(RuntimeError):
    """The worker process ended while it held a file: an engine crashed on it, or the system killed the worker."""


class Validator:
    """A worker process that validates the export's files one at a time, in the order they are sent.

    send() returns at once; finished() names what is done, waiting first for the keys given; result() gives a
    key's answer or raises its error. A worker that dies fails the files it held with WorkerDied, and the next
    file sent starts a new one.
    """

    def __init__(self, folder: Path, images: np.ndarray, labels: np.ndarray, reference: np.ndarray, plan):
        folder.mkdir(exist_ok=True)
        for name, array in zip(ARRAYS, (images, labels, reference)):
            np.save(folder / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        self._folder = folder
        # What the worker judges with, made picklable: the plan's bars are a read-only view, and a rung's
        # builder may be any function (the worker builds nothing).
        self.plan = replace(plan, bars=dict(plan.bars),
                            targets=tuple(replace(t, build=None, skip=None) for t in plan.targets))
        self._changed = threading.Condition()
        self._process, self._sent, self._results, self._told = None, [], {}, None
        self._start()

    def _start(self) -> None:
        from edgeport.runtime import children

        with open(self._folder / LOG_NAME, "ab") as log:
            self._process = children.start(children.python_command(Path(__file__).resolve(), self._folder),
                                           cwd=self._folder, stderr=log)
        threading.Thread(target=self._read, args=(self._process,), name="edgeport-validator", daemon=True).start()

    def tell(self, told) -> None:
        """Have told(key, "ok" or "error", the result or the error) called as each result comes, in the worker's
        reading thread, before finished() names it (None: no longer). told must not wait on this Validator."""
        self._told = told

    @property
    def pid(self) -> int | None:
        """The running worker's process id (None between a death and the next file)."""
        with self._changed:
            return None if self._process is None else self._process.pid

    def send(self, key: str, task: tuple) -> None:
        """Queue a task for the worker: ("validate", path, quantization, float32 bytes, plan, full) or ("time",
        path)."""
        with self._changed:
            if self._process is None:
                self._start()
            self._sent.append(key)
            try:
                pickle.dump((key, task), self._process.stdin)
                self._process.stdin.flush()
            except OSError:  # the worker is gone: its reader fails every key it held, this one too
                pass

    def finished(self, waiting=()) -> list[str]:
        """The keys whose results are in, in the order sent, after waiting for those in waiting."""
        with self._changed:
            self._changed.wait_for(lambda: all(key in self._results for key in waiting))
            return list(self._results)

    def result(self, key: str):
        """A finished key's result (removed from the finished ones); its error raised if it failed."""
        with self._changed:
            status, value = self._results.pop(key)
        if status == "error":
            raise value
        return value

    def _read(self, process) -> None:
        """Take the worker's results as they come; when it ends, fail what it still held."""
        try:
            while True:
                key, outcome = pickle.load(process.stdout)
                outcome = self._heard(key, outcome)
                with self._changed:
                    self._sent.remove(key)
                    self._results[key] = outcome
                    self._changed.notify_all()
        except (EOFError, OSError, pickle.UnpicklingError):
            pass
        process.stdout.close()
        code = process.wait()
        with self._changed:
            lost = self._sent if self._process is process else []  # not a worker that close() ended
            if self._process is process:
                self._sent, self._process = [], None
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        for key in lost:
            died = WorkerDied(f"the validation worker died ({how}) on {key}{self._last_words()}")
            outcome = self._heard(key, ("error", died))
            with self._changed:
                self._results[key] = outcome
                self._changed.notify_all()

    def _heard(self, key: str, outcome: tuple) -> tuple:
        """The outcome after telling it (tell); a fault in the telling fails the key with it, never this thread."""
        told = self._told
        if told is not None:
            try:
                told(key, *outcome)
            except Exception as e:
                return "error", e
        return outcome

    def _last_words(self) -> str:
        try:
            lines = (self._folder / LOG_NAME).read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return f": {lines[-1][:200]}" if lines else ""

    def close(self) -> None:
        """End the worker: at once if it is busy (the export failed or was stopped), else once it reads the end
        of its input."""
        with self._changed:
            process, busy = self._process, bool(self._sent)
        if process is None:
            return
        if busy:
            process.kill()
        try:
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=10)
        except Exception:  # a stop signal while waiting, or a worker that does not end
            process.kill()
            process.wait()


def _serve(folder: Path) -> None:
    """The worker: answer tasks from standard input until it ends, each result pickled to standard output."""
    results = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what the engines print goes to the log, never into the results
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the export, which ends this worker
    from edgeport.runtime import children  # (it dies with the export: children.start asks the kernel)

    arrays = [np.load(folder / f"{name}.npy", mmap_mode="r") for name in ARRAYS]
    tasks = sys.stdin.buffer
    while True:
        try:
            key, task = pickle.load(tasks)
        except EOFError:
            return
        try:
            outcome = ("ok", _answer(task, *arrays))
        except Exception as e:  # a file the engine refuses: that file fails, the export goes on
            outcome = ("error", children.portable(e, RuntimeError))
        pickle.dump((key, outcome), results)
        results.flush()


def _answer(task: tuple, images, labels, reference):
    """A validation: (the file's Validation, its tensors, seconds); a timing: (median µs, its 95 % interval)."""
    from edgeport import runtime

    kind, path, *rest = task
    started, predictor = time.perf_counter(), runtime.load(path, verify=False)
    if kind == "time":
        from edgeport.runtime.bench import single_image_timing

        return single_image_timing(predictor, np.asarray(images[0]))
    from edgeport.export.validate import validate_file

    quantization, float32_bytes, plan, full = rest
    figures = validate_file(predictor, images, labels, reference, quantization, float32_bytes, plan, full=full)
    return figures, predictor.describe(), time.perf_counter() - started


if __name__ == "__main__":
    _serve(Path(sys.argv[1]))
