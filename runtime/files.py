"""Write files whole or not at all."""

from __future__ import annotations

import glob
import os
import shutil
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside path; rename it onto path only if the block succeeds.

    A failure leaves neither a half-written file nor a clobbered previous one, and an OSError
    that names no file (a full disk) is raised again naming path.
    """
    path = Path(path)
    remove_stale_temps(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        if e.filename is not None:
            raise
        # A failed write (disk full, I/O error) names no file: name the one being written.
        raise type(e)(e.errno, e.strerror or str(e), str(path)) from e
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def remove_stale_temps(path: Path) -> None:
    """Remove the temporary files that killed processes left while writing path (their pid is gone)."""
    prefix, suffix = f".{path.stem}.", f".tmp{path.suffix}"
    try:
        siblings = list(path.parent.glob(f"{glob.escape(prefix)}*{glob.escape(suffix)}"))
    except OSError:
        return
    for stale in siblings:
        pid = stale.name[len(prefix) : len(stale.name) - len(suffix)]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def user_cache(name: str) -> Path:
    """The folder edgeport keeps name's reusable work in: $XDG_CACHE_HOME/edgeport/name, else ~/.cache/edgeport/name."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edgeport" / name


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
