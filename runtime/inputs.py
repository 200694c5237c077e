"""Which files a person named: pictures by suffix, folders searched recursively with one scandir each."""

from __future__ import annotations

import os
from pathlib import Path

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def find_inputs(names) -> list[Path]:
    """The files a person named: files as given, folders replaced by the pictures inside them.

    Folders are searched recursively; their pictures come sorted by path, hidden files skipped.
    Names that do not exist are kept, so that reading them reports the problem by name.
    """
    found = []
    for name in names:
        path = Path(name)
        if not path.is_dir():
            found.append(path)
            continue
        inside = [path.joinpath(*parts) for parts in pictures_under(path)]
        found.extend(inside if inside else [path])  # an empty folder is reported as such
    return found


def pictures_under(folder: str | os.PathLike) -> list[tuple[str, ...]]:
    """The pictures in a folder and its sub-folders, as path parts relative to it, sorted as Paths sort.

    Hidden files and folders are skipped; symbolic links to files are followed, to folders not
    (as Path.rglob does). One scandir per folder: a million pictures cost no stat calls.
    """
    found, folders = [], [()]
    while folders:
        parts = folders.pop()
        with os.scandir(os.path.join(folder, *parts)) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    folders.append((*parts, entry.name))
                elif os.path.splitext(entry.name)[1].lower() in PICTURE_SUFFIXES and _listed_file(entry):
                    found.append((*parts, entry.name))
    found.sort()
    return found


def _listed_file(entry: os.DirEntry) -> bool:
    """Whether a picture-named entry is listed: a file, or a link that cannot be followed (a loop, no
    permission), which reading then reports by name like any unreadable picture; not a folder or a
    dangling link."""
    try:
        return entry.is_file()
    except OSError:
        return True
