""".npz and .npy sources: arrays read from their headers and mapped a chunk at a time (runtime/sources.py's data
layer dispatches here), never loaded whole and never unpickled."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np

from edgeport.runtime.archives import check_member, inflation_limit
from edgeport.runtime.errors import DataError
from edgeport.runtime.images import as_pixels, max_pixels
from edgeport.runtime.sources import (
    ALL,
    ARRAY,
    CHUNK_BYTES,
    TEST,
    TRAIN,
    Chunk,
    Piece,
    Source,
    Stream,
    _Array,
    _array_chunk,
)

_NPZ_SPLITS = {ALL: ("x", "y"), TRAIN: ("x_train", "y_train"), TEST: ("x_test", "y_test")}


def open_array(spec: str, path: Path) -> Source:
    location = str(path.resolve())
    if path.suffix.lower() == ".npy":
        with open(path, "rb") as f:
            shape, dtype, offset = _npy_header(f, path)
        array = _checked(_Array(str(path), None, offset, shape, dtype), path.stat().st_size - offset, path,
                         "the array")
        return Source(spec, location, "npy", {ALL: _array_stream(array, None, ALL)})
    try:
        with open(path, "rb") as raw, zipfile.ZipFile(raw) as archive:
            declared = sum(info.file_size for info in archive.infolist())
            if declared > inflation_limit(path.stat().st_size):
                raise DataError(f"{path} would inflate to {declared:,} bytes, over {inflation_limit(path.stat().st_size):,} "
                                f"for a {path.stat().st_size:,}-byte file: refused as a compression bomb")
            for info in archive.infolist():  # each inflates to what it declares, so every read below is bounded
                check_member(raw, info)
            members = {name[:-4]: name for name in archive.namelist() if name.endswith(".npy")}
            splits = {}
            for split, (x, y) in _NPZ_SPLITS.items():
                if x not in members:
                    continue
                array = _checked(*_npz_member(archive, members[x], path), path=path, what=x)
                labels = _labels(archive, members.get(y), path, (x, y), array.shape[0])
                splits[split] = _array_stream(array, labels, split)
            if ALL in splits and len(splits) > 1:
                splits.pop(ALL)  # x beside x_train / x_test: the named splits say more
            if not splits:
                if len(members) == 1:  # a single unnamed array: unlabelled images
                    (only,) = members
                    splits[ALL] = _array_stream(_checked(*_npz_member(archive, members[only], path), path=path,
                                                         what=only), None, ALL)
                else:
                    raise DataError(f"{path} holds {', '.join(sorted(members)) or 'nothing'}: expected x and y, or "
                                    f"x_train and y_train and/or x_test and y_test (and optionally class_names)")
            names = None
            if "class_names" in members:
                with archive.open(members["class_names"]) as f:
                    names = tuple(str(n) for n in np.load(f, allow_pickle=False).reshape(-1))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"{path} is not a readable .npz file: {' '.join(str(e).split())}") from e
    return Source(spec, location, "npz", splits, names)


def _array_stream(array: _Array, labels, split: str) -> Stream:
    return Stream(ARRAY, array.file, int(array.shape[0]), False, labels is not None, array.offset >= 0, split,
                  labels=labels, array=array)


def _checked(array: _Array, stored: int, path: Path, what: str) -> _Array:
    """The array, once its header is an image batch whose pixels fit the limit and the bytes stored for it."""
    if len(array.shape) not in (3, 4):
        raise DataError(f"{path}: {what}: expected images (N, H, W) or (N, H, W, C); got shape {array.shape}")
    if array.dtype.kind not in "uif":
        raise DataError(f"{path}: {what}: expected uint8 pixels or floats in [0, 1]; got dtype {array.dtype}")
    if array.shape[0] == 0:
        raise DataError(f"{path}: {what} holds no images")
    height, width = array.shape[1:3]
    if height * width > max_pixels():
        raise DataError(f"{path}: {what}: images of {height}x{width} pixels, over the limit of {max_pixels():,} "
                        f"pixels an image")
    needed = int(np.prod(array.shape, dtype=object)) * array.dtype.itemsize
    if needed > stored:
        raise DataError(f"{path}: {what} declares {array.shape[0]:,} images of {'x'.join(map(str, array.shape[1:]))} "
                        f"({needed:,} bytes) but holds {max(stored, 0):,}: a truncated or malformed array")
    return array


def _labels(archive: zipfile.ZipFile, member: str | None, path: Path, names: tuple[str, str], count: int):
    """The labels array of an image array (None when the .npz has none for it)."""
    x, y = names
    if member is None:
        return None
    with archive.open(member) as f:
        shape, _, _ = _npy_header(f, f"{path}:{member}")
        declared = int(np.prod(shape, dtype=object))
        if declared != count:  # said from the header, before a byte of a lying member is allocated
            raise DataError(f"{path}: {x} has {count} images but {y} has {declared} labels")
    with archive.open(member) as f:
        labels = np.load(f, allow_pickle=False).reshape(-1)
    if labels.dtype.kind not in "iu":
        raise DataError(f"{path}: {y} must hold whole-number class labels; got dtype {labels.dtype}")
    if len(labels) != count:
        raise DataError(f"{path}: {x} has {count} images but {y} has {len(labels)} labels")
    return labels.astype(np.int64)


def _npy_header(f, path) -> tuple[tuple, np.dtype, int]:
    try:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
    except (ValueError, OSError, EOFError) as e:
        raise DataError(f"{path} is not a readable .npy array: {e}") from e
    if fortran or dtype.hasobject:
        raise DataError(f"{path}: the array must be stored in C order without Python objects")
    if any(not isinstance(size, int) or size < 0 for size in shape):
        raise DataError(f"{path}: its header declares the shape {shape}, which no array has")
    return tuple(shape), dtype, f.tell()


def _npz_member(archive: zipfile.ZipFile, name: str, path: Path) -> tuple[_Array, int]:
    """A member's array, and the bytes its member holds after the .npy header."""
    info = archive.getinfo(name)
    with archive.open(name) as f:
        shape, dtype, header = _npy_header(f, f"{path}:{name}")
    offset = -1
    if info.compress_type == zipfile.ZIP_STORED:
        # The member's bytes lie in the file as they are: row 0 is at its data offset plus the .npy header.
        with open(path, "rb") as raw:
            raw.seek(info.header_offset + 26)
            name_length, extra_length = np.frombuffer(raw.read(4), "<u2")
        offset = info.header_offset + 30 + int(name_length) + int(extra_length) + header
    return _Array(str(path), name, offset, shape, dtype), info.file_size - header


def read_array(piece: Piece, size: int, image_shape, background) -> Iterator[Chunk]:
    array = piece.array
    row = int(np.prod(array.shape[1:])) * array.dtype.itemsize
    size = max(1, min(size, CHUNK_BYTES // row))  # chunks are counted in bytes: large images come fewer at a time
    labels = np.array(piece.labels, np.int64) if piece.labels else None
    with open(array.file, "rb") as raw:
        if array.offset >= 0:
            stream = raw
            raw.seek(array.offset + piece.start * row)
        else:  # a compressed member: decompressed in order, never whole
            archive = zipfile.ZipFile(raw)
            stream = archive.open(array.member)
            _npy_header(stream, array.file)
        for start in range(piece.start, piece.stop, size):
            stop = min(start + size, piece.stop)
            data = stream.read((stop - start) * row)
            if len(data) != (stop - start) * row:
                raise DataError(f"{array.file}: the array ends before its {array.shape[0]} images")
            raw_images = np.frombuffer(data, array.dtype).reshape((stop - start, *array.shape[1:]))
            pixels = as_pixels(raw_images, f"{array.file}[{start}:{stop}]")
            part = None if labels is None else labels[start - piece.start : stop - piece.start]
            yield _array_chunk(pixels, start, stop, part, image_shape, background)
