"""Model files checked for what they would make Keras allocate, before Keras reads them.

A .keras file is a zip archive holding config.json and model.weights.h5; an .h5 file is HDF5.
Either can declare far more than it holds: zip members that inflate a thousandfold, HDF5
datasets whose chunks were never written (a few KB on disk, gigabytes once read). The check
reads only headers and metadata, and inflates each zip member a megabyte at a time.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from edgeport.runtime.archives import check_member, inflation_limit
from edgeport.runtime.errors import ModelFileError


def check_archive(path: Path) -> None:
    """Refuse a model file that would inflate far beyond its own size before Keras reads it.

    A .keras file's members must each inflate to exactly the size they declare, and those sizes,
    plus the datasets declared by the HDF5 weights inside it, must stay within the limit. An .h5
    file's datasets likewise; a dataset stored in an external file is refused. The limit is 64 MiB
    plus 20 times the file's size, for the sum (runtime.archives.inflation_limit).

    Raises:
        ModelFileError: the file inflates past the limit, or is not a readable archive (named).
    """
    limit = inflation_limit(path.stat().st_size)
    if path.suffix == ".keras":
        sizes = _keras_sizes(path)
    else:
        with open(path, "rb") as f:
            sizes = _h5_sizes(f, path, "")
    largest = max(sizes, key=lambda item: item[1], default=("", 0))
    total = sum(size for _, size in sizes)
    if total > limit:
        raise ModelFileError(f"{path} would inflate to {total:,} bytes ({largest[0]}: {largest[1]:,}), over "
                             f"{limit:,} for a {path.stat().st_size:,}-byte file: refused as a compression bomb")


def _keras_sizes(path: Path) -> list[tuple[str, int]]:
    """Each member's declared size, checked against what it inflates to, and the datasets of HDF5 members."""
    sizes = []
    try:
        with open(path, "rb") as raw, zipfile.ZipFile(raw) as archive:
            for info in archive.infolist():
                check_member(raw, info)
                sizes.append((info.filename, info.file_size))
                if info.filename.endswith(".h5"):
                    with archive.open(info) as member:
                        sizes += _h5_sizes(member, path, info.filename + ":")
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        if isinstance(e, ModelFileError):
            raise
        raise ModelFileError(f"{path} is not a loadable Keras model: {' '.join(str(e).split())}") from e
    return sizes


def _h5_sizes(file, path: Path, prefix: str) -> list[tuple[str, int]]:
    """Every dataset's declared bytes in an HDF5 file (a path or a readable, seekable file object)."""
    import h5py

    sizes, external = [], []

    def visit(name, item):
        if isinstance(item, h5py.Dataset):
            sizes.append((prefix + name, int(item.size) * item.dtype.itemsize))
            if item.external or item.is_virtual:
                external.append(prefix + name)

    try:
        with h5py.File(file, "r") as f:
            f.visititems(visit)
    except (OSError, ValueError) as e:
        raise ModelFileError(f"{path} is not a loadable Keras model: not an HDF5 file ({e})") from e
    if external:
        raise ModelFileError(f"{path}: its dataset {external[0]} is stored in other files, which a model file "
                             f"must not read: refused")
    return sizes


def lambda_layers(path: Path) -> list[str]:
    """The names of the Lambda layers a .keras or .h5 file's model config holds (nested models too), read from
    the config itself before Keras loads anything: loading one runs the Python code it carries. Call after
    check_archive (the config's size is then bounded)."""
    try:
        if path.suffix == ".keras":
            with zipfile.ZipFile(path) as archive:
                text = archive.read("config.json") if "config.json" in archive.namelist() else b"{}"
        else:
            import h5py

            with h5py.File(path, "r") as f:
                text = f.attrs.get("model_config", "{}")
        config = json.loads(text)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return []  # not readable as such: Keras says what is wrong when it loads the file
    found = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if node.get("class_name") == "Lambda":
                found.append(str((node.get("config") or {}).get("name", "lambda")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return found
