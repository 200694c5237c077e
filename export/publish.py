"""Moving an export's files into place, all or nothing, whatever stops the process.

export_all builds every file in a staging folder inside the output folder. To publish, it writes a
journal (runtime.manifest.PUBLISH_JOURNAL) naming the staging folder and the files, moves the files
into place (the manifest last), and removes the journal. Stop signals are held for those few
renames, so SIGTERM, SIGHUP or Ctrl-C wait until the move is done. A SIGKILL or a power cut can
still come between two renames: readers then see the journal and take the new export's files
from where they are (runtime.manifest.published_path), so the folder loads as the whole new export;
the next export into the folder finishes the move before it starts (finish_publish). Before the
journal exists, the folder holds the whole old export.
"""

from __future__ import annotations

import json
import os
import signal
from contextlib import contextmanager
from pathlib import Path

from edgeport.runtime.files import write_text_atomic
from edgeport.runtime.manifest import MANIFEST_NAME, PUBLISH_JOURNAL, pending_publish

_HELD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def publish(staging: Path, out: Path, names: list[str]) -> None:
    """Move names (and the manifest, last) from staging into out, journalled, with stop signals held."""
    order = [name for name in names if name != MANIFEST_NAME] + [MANIFEST_NAME]
    with _signals_held():
        write_text_atomic(out / PUBLISH_JOURNAL, json.dumps({"staging": staging.name, "files": order}) + "\n")
        finish_publish(out)


def finish_publish(out: Path) -> bool:
    """Finish a move into out that a killed export left part-way (journal present): the rest of its files
    from its staging folder, then the journal removed. Returns whether there was one to finish."""
    pending = pending_publish(out)
    if pending is None:
        return False
    staging, names = pending
    for name in names:
        if (staging / name).is_file():
            os.replace(staging / name, out / name)
    (out / PUBLISH_JOURNAL).unlink()
    return True


@contextmanager
def _signals_held():
    """Hold Ctrl-C, SIGTERM and SIGHUP for the block (they are delivered right after it)."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
