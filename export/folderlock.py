"""One export at a time into a folder: an advisory lock that says who holds it."""

from __future__ import annotations

import datetime
import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

HOLDER_NAME = ".edgeport-export"  # who holds the lock, for the one waiting; removed on release
_POLL_SECONDS = 0.2


@contextmanager
def folder_lock(folder: Path, what: str, timeout: float | None, say: Callable[[str], None]):
    """Hold folder's export lock for the block; wait for another holder (saying who) up to timeout seconds.

    The lock is the kernel's flock on the folder itself, so a crashed export never leaves the
    folder locked, and nothing is left in the folder afterwards.

    Raises:
        TimeoutError: another export still held the folder after timeout seconds (0: at once).
    """
    folder = Path(folder)
    holder_file = folder / HOLDER_NAME
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if not _try_lock(fd):
            holder = _read(holder_file) or "another export"
            if timeout is not None and timeout <= 0:
                raise TimeoutError(f"{folder} is being written by {holder}: wait for it, or export into another folder")
            say(f"Waiting for {holder} to finish writing {folder}")
            deadline = None if timeout is None else time.monotonic() + timeout
            while not _try_lock(fd):
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"{folder} was still being written by {holder} after {timeout:g} s: "
                                       f"wait for it, or export into another folder")
                time.sleep(_POLL_SECONDS)
        since = datetime.datetime.now().isoformat(timespec="seconds")
        holder_file.write_text(f"the export of {what} (pid {os.getpid()}, since {since})", encoding="utf-8")
        try:
            yield
        finally:
            holder_file.unlink(missing_ok=True)
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""
