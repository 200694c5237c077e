"""Image sources read a piece at a time: what `score` streams, and what Ray actors read on their own.

A source is a folder of pictures (searched recursively; class sub-folders give true labels), an
.npz or .npy array file, or a Parquet data set with encoded image bytes in a column `image`
(and optionally `label` and `path`). Opening a source reads only its index: file names, array
headers, Parquet metadata. Pieces are small descriptions (paths, row ranges, row groups) that
any process can read, so memory stays bounded by the chunk size whatever the data's size.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from edgeport.runtime.datasets import DataError, as_pixels, fit_images
from edgeport.runtime.images import PICTURE_SUFFIXES, decode_picture, find_inputs, fit_picture

FOLDER, ARRAY, PARQUET = "folder", "array", "parquet"
_NPZ_IMAGES = (("x", "y"), ("x_test", "y_test"))  # the arrays an .npz holds its images in, by preference


@dataclass(frozen=True)
class Piece:
    """A part of a source that any process reads by itself (read_piece): rows [start, stop).

    Folders list their pictures and labels; arrays are read at a byte offset (labels carried);
    Parquet pieces are one row group of one file, with the columns to read.
    """

    kind: str
    location: str
    start: int
    stop: int
    paths: tuple[str, ...] = ()
    labels: tuple[int, ...] = ()
    array: "_Array | None" = None
    row_group: int = -1
    columns: tuple[str, ...] = ()


@dataclass
class Chunk:
    """Images read from a piece, fitted to the model, with what is known about each.

    Attributes:
        index: source row of each image (int64, n).
        images: uint8 (n_ok, H, W, C) pixels of the images that could be read (rows where ok).
        ok: whether each row was read. errors: None, or why a row could not be read.
        paths: each image's path, when the source has paths. true_labels: int64 (n) with -1 for
            unknown, when the source has labels.
    """

    index: np.ndarray
    images: np.ndarray
    ok: np.ndarray
    errors: list
    paths: list | None = None
    true_labels: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.index)


@dataclass(frozen=True)
class _Array:
    """Where an array's rows lie in a file: read by offset when stored raw, else streamed."""

    file: str
    member: str | None  # the .npz member, None for an .npy file
    offset: int  # byte offset of row 0 in the file (-1: a compressed member, readable only in order)
    shape: tuple
    dtype: np.dtype


@dataclass
class Source:
    """An opened data source.

    Attributes:
        kind: "folder", "array" or "parquet". location: the path as given.
        count: how many images. has_paths, has_labels: which columns the output gets.
        class_names: the class folders' names (folders), else None.
        splittable: False when the images can only be read in order (a compressed .npz member):
            Ray then reads it with one actor.
    """

    kind: str
    location: str
    count: int
    has_paths: bool
    has_labels: bool
    splittable: bool = True
    class_names: tuple[str, ...] | None = None
    _paths: list = field(default_factory=list, repr=False)
    _labels: np.ndarray | None = field(default=None, repr=False)
    _array: _Array | None = field(default=None, repr=False)
    _row_groups: list = field(default_factory=list, repr=False)  # Parquet: (file, group, rows)

    def pieces(self, size: int) -> Iterator[Piece]:
        """Pieces of at most `size` images, made as they are asked for (Parquet: one per row group,
        read in chunks of size; a source that is not splittable: one piece)."""
        if self.kind == PARQUET:
            start = 0
            columns = ("image", *(["label"] if self.has_labels else []), *(["path"] if self.has_paths else []))
            for file, group, rows in self._row_groups:
                yield Piece(PARQUET, file, start, start + rows, row_group=group, columns=columns)
                start += rows
            return
        for start in range(0, self.count, size) if self.splittable else [0]:
            stop = min(start + size, self.count) if self.splittable else self.count
            paths = tuple(self._paths[start:stop]) if self.kind == FOLDER else ()
            labels = tuple(self._labels[start:stop].tolist()) if self._labels is not None else ()
            yield Piece(self.kind, self.location, start, stop, paths, labels, self._array)

    def chunks(self, size: int, image_shape, background=None) -> Iterator[Chunk]:
        """Every image, in order, in chunks of at most `size`: the one-process stream."""
        for piece in self.pieces(size):
            yield from read_piece(piece, size, image_shape, background)


def read_piece(piece: Piece, size: int, image_shape, background=None) -> Iterator[Chunk]:
    """A piece's images in chunks of at most `size`, fitted to image_shape (H, W, C) by the background rule."""
    if piece.kind == FOLDER:
        yield _read_pictures(piece, image_shape, background)
    elif piece.kind == PARQUET:
        yield from _read_parquet(piece, size, image_shape, background)
    else:
        yield from _read_array(piece, size, image_shape)


def open_source(data: str | os.PathLike, class_names=None) -> Source:
    """Open a folder of pictures, an .npz / .npy file, or a Parquet file or folder of Parquet files.

    Args:
        class_names: the model's; class folders named after them give true labels by name,
            else class folders give labels by sorted position when their count matches.

    Raises:
        DataError: no such path, nothing to read, or a layout edgeport cannot score.
    """
    path = Path(data)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder to score")
    if path.is_dir():
        if any(p.suffix.lower() == ".parquet" for p in path.glob("*.parquet")):
            return _open_parquet(path)
        return _open_folder(path, class_names)
    suffix = path.suffix.lower()
    if suffix in (".npz", ".npy"):
        return _open_array(path)
    if suffix == ".parquet":
        return _open_parquet(path)
    raise DataError(f"{path}: expected a folder of pictures, an .npz or .npy file, or a .parquet data set")


def _open_folder(root: Path, class_names) -> Source:
    pictures = [p for p in find_inputs([root]) if p.suffix.lower() in PICTURE_SUFFIXES]
    if not pictures:
        raise DataError(f"{root}: no pictures ({', '.join(PICTURE_SUFFIXES)}) in it or its sub-folders")
    folders = sorted({p.relative_to(root).parts[0] for p in pictures if len(p.relative_to(root).parts) > 1})
    loose = any(len(p.relative_to(root).parts) == 1 for p in pictures)
    labels, names = None, None
    if folders and not loose:
        known = list(class_names or ())
        if known and set(folders) <= set(known):
            lookup = {name: known.index(name) for name in folders}
        elif class_names is None or len(folders) == len(known):
            lookup = {name: i for i, name in enumerate(folders)}
        else:
            lookup = None
        if lookup is not None:
            labels = np.array([lookup[p.relative_to(root).parts[0]] for p in pictures], np.int64)
            names = tuple(folders)
    return Source(FOLDER, str(root), len(pictures), True, labels is not None, True, names,
                  _paths=[str(p) for p in pictures], _labels=labels)


def _open_array(path: Path) -> Source:
    if path.suffix.lower() == ".npy":
        with open(path, "rb") as f:
            shape, dtype, offset = _npy_header(f, path)
        array, labels = _Array(str(path), None, offset, shape, dtype), None
    else:
        try:
            with zipfile.ZipFile(path) as archive:
                members = {name[:-4]: name for name in archive.namelist() if name.endswith(".npy")}
                chosen = next(((x, y) for x, y in _NPZ_IMAGES if x in members), None)
                if chosen is None and len(members) == 1:
                    chosen = (next(iter(members)), None)
                if chosen is None:
                    raise DataError(f"{path} holds {', '.join(sorted(members)) or 'nothing'}: expected images in x "
                                    f"(labels in y), or x_test (y_test), or a single array")
                array = _npz_member(archive, members[chosen[0]], path)
                labels = None
                if chosen[1] in members:
                    with archive.open(members[chosen[1]]) as f:
                        labels = np.load(f, allow_pickle=False).reshape(-1)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise DataError(f"{path} is not a readable .npz file: {e}") from e
    if len(array.shape) not in (3, 4):
        raise DataError(f"{path}: expected images (N, H, W) or (N, H, W, C); got shape {array.shape}")
    if array.dtype.kind not in "uif":
        raise DataError(f"{path}: expected uint8 pixels or floats in [0, 1]; got dtype {array.dtype}")
    if labels is not None:
        if labels.dtype.kind not in "iu" or len(labels) != array.shape[0]:
            raise DataError(f"{path}: labels must be {array.shape[0]} whole numbers; got {len(labels)} of {labels.dtype}")
        labels = labels.astype(np.int64)
    return Source(ARRAY, str(path), int(array.shape[0]), False, labels is not None, array.offset >= 0,
                  _labels=labels, _array=array)


def _npy_header(f, path) -> tuple[tuple, np.dtype, int]:
    try:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
    except (ValueError, OSError, EOFError) as e:
        raise DataError(f"{path} is not a readable .npy array: {e}") from e
    if fortran or dtype.hasobject:
        raise DataError(f"{path}: the array must be stored in C order without Python objects")
    return tuple(shape), dtype, f.tell()


def _npz_member(archive: zipfile.ZipFile, name: str, path: Path) -> _Array:
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
    return _Array(str(path), name, offset, shape, dtype)


def _read_array(piece: Piece, size: int, image_shape) -> Iterator[Chunk]:
    array = piece.array
    row = int(np.prod(array.shape[1:])) * array.dtype.itemsize
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
            pixels = fit_images(as_pixels(raw_images, f"{array.file}[{start}:{stop}]"), image_shape)
            index = np.arange(start, stop, dtype=np.int64)
            yield Chunk(index, pixels, np.ones(len(index), bool), [None] * len(index),
                        true_labels=None if labels is None else labels[start - piece.start : stop - piece.start])


def _read_pictures(piece: Piece, image_shape, background) -> Chunk:
    images, ok, errors = [], [], []
    for path in piece.paths:
        try:
            images.append(fit_picture(decode_picture(path, image_shape[2]), image_shape, background).pixels)
            ok.append(True)
            errors.append(None)
        except (OSError, ValueError) as e:
            ok.append(False)
            errors.append(" ".join(str(e).split()))
    return Chunk(np.arange(piece.start, piece.stop, dtype=np.int64), _stack(images, image_shape),
                 np.array(ok, bool), errors, list(piece.paths),
                 np.array(piece.labels, np.int64) if piece.labels else None)


def _stack(images: list, image_shape) -> np.ndarray:
    return np.stack(images) if images else np.empty((0, *image_shape), np.uint8)


def _open_parquet(path: Path) -> Source:
    pq = pyarrow_parquet()
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    groups, columns = [], None
    try:
        for file in files:
            meta = pq.ParquetFile(file).metadata
            names = set(meta.schema.names)
            if "image" not in names:
                raise DataError(f"{file}: no column 'image' (encoded image bytes); it has {', '.join(sorted(names))}")
            if columns is not None and names != columns:
                raise DataError(f"{file}: its columns differ from the other Parquet files' in {path}")
            columns = names
            groups.extend((str(file), g, meta.row_group(g).num_rows) for g in range(meta.num_row_groups))
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
        if isinstance(e, DataError):
            raise
        raise DataError(f"{path} is not a readable Parquet data set: {' '.join(str(e).split())}") from e
    return Source(PARQUET, str(path), sum(rows for _, _, rows in groups), "path" in columns, "label" in columns,
                  _row_groups=groups)


def _read_parquet(piece: Piece, size: int, image_shape, background) -> Iterator[Chunk]:
    pq = pyarrow_parquet()
    file, start = piece.location, piece.start
    for batch in pq.ParquetFile(file).iter_batches(batch_size=size, row_groups=[piece.row_group],
                                                   columns=list(piece.columns)):
        table = batch.to_pydict()
        names = table.get("path") or [f"{file}[{start + i}]" for i in range(batch.num_rows)]
        images, ok, errors = [], [], []
        for encoded, name in zip(table["image"], names):
            try:
                if encoded is None:
                    raise ValueError(f"{name}: no image bytes")
                pixels = decode_picture(io.BytesIO(encoded), image_shape[2], name=name)
                images.append(fit_picture(pixels, image_shape, background).pixels)
                ok.append(True)
                errors.append(None)
            except ValueError as e:
                ok.append(False)
                errors.append(" ".join(str(e).split()))
        labels = None
        if "label" in piece.columns:
            labels = np.array([-1 if v is None else v for v in table["label"]], np.int64)
        index = np.arange(start, start + batch.num_rows, dtype=np.int64)
        yield Chunk(index, _stack(images, image_shape), np.array(ok, bool), errors,
                    table.get("path"), labels)
        start += batch.num_rows


def pyarrow_parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError("reading and writing Parquet needs pyarrow: pip install 'edgeport[score]'") from None
    return pq
