"""Child processes that run nothing from the working folder and die with their parent.

Every Python child edgeport starts (TFLM's arena measurer, Vela, the model probe) runs with the
interpreter's isolated mode (`-I`: no working folder or script folder on the import path, no user
site, no PYTHON* variables), from the installed package's own files, in a folder of edgeport's
choosing. A `json.py` or a package named like a child's imports, left beside a user's model, is
then never imported. On Linux each child also asks the kernel to kill it when its parent dies,
however the parent died; optional limits bound its address space.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

_PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)


def python_command(*args: str | os.PathLike) -> list[str]:
    """This interpreter in isolated mode with args: a script's absolute path, or -m and a module name."""
    return [sys.executable, "-I", *map(str, args)]


def die_with_parent() -> None:
    """Have the kernel kill this process when its parent dies, even by SIGKILL (Linux's parent-death signal);
    a no-op elsewhere."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux
        pass


def _preexec(memory_bytes: int | None):
    """The function a child runs between fork and exec. Everything it needs is looked up here, in the parent:
    between fork and exec a threaded parent's locks (imports, the dynamic loader) may be held for ever."""
    import ctypes
    import resource

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        prctl = None
    setrlimit, limit, default = resource.setrlimit, resource.RLIMIT_AS, signal.SIG_DFL

    def start() -> None:
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        signal.signal(signal.SIGINT, default)  # a background parent ignores SIGINT; the child need not
        if memory_bytes is not None:
            setrlimit(limit, (memory_bytes, memory_bytes))
    return start


def run(command: list[str], *, cwd: str | os.PathLike, timeout: float, memory_bytes: int | None = None,
        env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a child to its end, its output captured as text, with no standard input.

    Args:
        command: python_command(...) or another program.
        cwd: the child's working folder (never the user's: a scratch folder).
        timeout: seconds; past them the child is killed and subprocess.TimeoutExpired raised.
        memory_bytes: the child's address-space limit (RLIMIT_AS), or None.
        env: the child's environment (default: this process's).

    Raises:
        subprocess.TimeoutExpired. Any exception in this process (KeyboardInterrupt on a stop signal) kills
        the child first, as subprocess.run does.
    """
    return subprocess.run(command, cwd=str(cwd), timeout=timeout, capture_output=True, text=True, errors="replace",
                          stdin=subprocess.DEVNULL, env=env, preexec_fn=_preexec(memory_bytes))



def start(command: list[str], *, cwd: str | os.PathLike, stderr) -> subprocess.Popen:
    """Start a long-lived child that talks over pipes: its standard input and output are the parent's to write
    and read (binary), its errors go to stderr (a file). It dies with its parent, as run's children do."""
    return subprocess.Popen(command, cwd=str(cwd), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                            preexec_fn=_preexec(None))


def portable(error: Exception, wrap) -> Exception:
    """An error as it crosses from a child to its parent: itself when it survives pickling (edgeport's errors
    do), else wrap("TypeName: its message on one line")."""
    import pickle

    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return wrap(f"{type(error).__name__}: {' '.join(str(error).split())}")
    return error
