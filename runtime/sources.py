"""The one data layer: every command and the library read data here, the same way.

A source is one of:
- "fashion-mnist": the original IDX files (splits train and test);
- a folder of class folders (labels by sorted folder name, as Keras's
  image_dataset_from_directory), or with train/ and test/ (or val/, validation/) each holding
  them; a folder with pictures outside class folders is unlabelled, read recursively;
- an .npz with x/y, or x_train/y_train and x_test/y_test (either split alone is fine), optional
  class_names; an .npy array (unlabelled);
- Parquet: a file or folder of files with encoded image bytes in `image`, optional `label`, `path`.

Opening a source reads only its index (file names, array headers, Parquet metadata) and
splits it: "train" and "test", or "all" for a source without splits. Each split is a Stream
cut into Pieces, small descriptions (paths, row ranges, row groups) that any process reads by
itself (read_piece), so memory stays bounded by the chunk size whatever the data's size. The
in-memory Dataset that export and evaluate use (runtime/datasets.py) is built on these streams.

Every picture and array is fitted to the model by one rule (runtime/images.py, fit_picture):
the model's recorded background decides it.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from edgeport.runtime.errors import DataError
from edgeport.runtime.images import (
    PICTURE_SUFFIXES,
    decode_picture,
    fit_images,
    fit_pictures,
    fitting,
    max_pixels,
    pictures_under,
)

FASHION_MNIST = "fashion-mnist"
TRAIN, TEST, ALL = "train", "test", "all"
FASHION, FOLDER, ARRAY, PARQUET = "fashion-mnist", "folder", "array", "parquet"
TEST_FOLDERS = ("test", "val", "validation")
CHUNK_BYTES = 64 * 1024 * 1024  # a chunk holds at most this many bytes of pixels or pictures (at least one image)
_WHAT = (f"expected '{FASHION_MNIST}', a folder of pictures (class folders give labels), an .npz or .npy file, "
         f"or a .parquet file or folder")


@dataclass(frozen=True)
class _Array:
    """Where an array's rows lie in a file: read by offset when stored raw, else streamed."""

    file: str
    member: str | None  # the .npz member, None for an .npy file
    offset: int  # byte offset of row 0 in the file (-1: a compressed member, readable only in order)
    shape: tuple
    dtype: np.dtype


@dataclass(frozen=True)
class Piece:
    """A part of a stream that any process reads by itself (read_piece): rows [start, stop).

    Folders list their pictures and labels; arrays are read at a byte offset (labels carried);
    Fashion-MNIST pieces name the split; Parquet pieces are one row group of one file.
    """

    kind: str
    location: str
    start: int
    stop: int
    paths: tuple[str, ...] = ()
    labels: tuple[int, ...] = ()
    array: _Array | None = None
    row_group: int = -1
    row_group_count: int = 1  # Parquet: this many consecutive row groups from row_group on
    columns: tuple[str, ...] = ()
    split: str = ""


@dataclass
class Chunk:
    """Images read from a piece, fitted to the model, with what is known about each.

    Attributes:
        index: source row of each image (int64, n).
        images: uint8 (n_ok, H, W, C) pixels of the images that could be read (rows where ok); score
            drops them (None) once they are predicted.
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
class Stream:
    """One split of a source, read a piece at a time.

    Attributes:
        kind: "fashion-mnist", "folder", "array" or "parquet". location: its file or folder.
        count: how many images. has_paths, has_labels: which columns scoring it gives.
        splittable: False when the images can only be read in order (a compressed .npz member):
            Ray then reads it with one actor.
    """

    kind: str
    location: str
    count: int
    has_paths: bool
    has_labels: bool
    splittable: bool = True
    split: str = ALL
    # The index itself: long, and (labels) an array, so left out of repr and ==.
    paths: tuple[str, ...] = field(default=(), repr=False, compare=False)
    labels: np.ndarray | None = field(default=None, repr=False, compare=False)
    array: _Array | None = field(default=None, repr=False, compare=False)
    row_groups: tuple = field(default=(), repr=False, compare=False)  # Parquet: (file, rows of each group), a file each

    def pieces(self, size: int) -> Iterator[Piece]:
        """Pieces of at most `size` images, made as they are asked for (Parquet: a row group, or consecutive small
        row groups of one file up to size rows, read in chunks of size; a stream that is not splittable: one
        piece)."""
        if self.kind == PARQUET:
            from edgeport.runtime.parquet_source import parquet_pieces  # that module imports this one

            yield from parquet_pieces(self.row_groups, size, self.has_labels, self.has_paths)
            return
        for start in range(0, self.count, size) if self.splittable else [0]:
            stop = min(start + size, self.count) if self.splittable else self.count
            paths = self.paths[start:stop] if self.kind == FOLDER else ()
            labels = tuple(self.labels[start:stop].tolist()) if self.labels is not None else ()
            yield Piece(self.kind, self.location, start, stop, paths, labels, self.array, split=self.split)

    def chunks(self, size: int, image_shape, background: str | None = None) -> Iterator[Chunk]:
        """Every image, in order, in chunks of at most `size`, fitted to image_shape (H, W, C)."""
        for piece in self.pieces(size):
            yield from read_piece(piece, size, image_shape, background)

    def sample(self, count: int) -> list[np.ndarray]:
        """Up to `count` images spread over the stream (a folder's) or from its start, each at its own size
        (unreadable ones left out): what a data set's background is told from."""
        if self.kind == FOLDER:
            chosen = self.paths[:: max(1, self.count // count)][:count]
            return list(_read_pictures(Piece(FOLDER, self.location, 0, len(chosen), chosen), None, None).images)
        pictures = []
        for piece in self.pieces(count):
            for chunk in read_piece(piece, count, None, None):
                pictures.extend(chunk.images)
                if len(pictures) >= count:
                    return pictures[:count]
        return pictures


@dataclass(frozen=True)
class Source:
    """An opened data source: its streams by split, and its class names when it has them.

    Attributes:
        spec: what was asked for. location: "fashion-mnist" or the resolved path.
        kind: "fashion-mnist", "folder", "npz", "npy" or "parquet".
        splits: {"train": Stream, "test": Stream}, or either alone, or {"all": Stream}.
        class_names: class folders' names, an .npz's class_names, Fashion-MNIST's; else None.
    """

    spec: str
    location: str
    kind: str
    splits: dict
    class_names: tuple[str, ...] | None = None

    @property
    def validation_split(self) -> str:
        """The split that validation, evaluate and score read: test, else the only one there is."""
        return TEST if TEST in self.splits else next(iter(self.splits))

    def stream(self, split: str | None = None) -> Stream:
        """One split's stream (default: the validation split)."""
        return self.splits[split or self.validation_split]


def open_source(spec: str | os.PathLike, class_names=None, data_dir: str | os.PathLike | None = None) -> Source:
    """Open a data source: read its index, not its images.

    Args:
        spec: "fashion-mnist", a folder, an .npz / .npy file, or a .parquet file or folder.
        class_names: the model's; class folders named after them give labels by name, else
            class folders give labels by sorted position.
        data_dir: where the Fashion-MNIST files are (default: the usual search path).

    Raises:
        DataError: no such source, nothing to read, or a layout edgeport cannot read (named).
    """
    from edgeport.runtime.parquet_source import open_parquet  # that module imports this one

    spec = str(spec)
    if spec == FASHION_MNIST:
        return _open_fashion_mnist(data_dir)
    path = Path(spec).expanduser()
    if not path.exists():
        raise DataError(f"{spec}: no such data: {_WHAT}")
    if path.is_dir():
        if any(path.glob("*.parquet")):
            return open_parquet(spec, path)
        return _open_folder(spec, path, class_names)
    suffix = path.suffix.lower()
    if suffix in (".npz", ".npy"):
        from edgeport.runtime.array_source import open_array  # that module imports this one

        return open_array(spec, path)
    if suffix == ".parquet":
        return open_parquet(spec, path)
    raise DataError(f"{spec}: {_WHAT}")


def read_piece(piece: Piece, size: int, image_shape, background: str | None = None) -> Iterator[Chunk]:
    """A piece's images in chunks of at most `size`, fitted to image_shape (H, W, C) by the background's
    rule; image_shape None keeps each picture's own size (a list of arrays then, not one array)."""
    if piece.kind == FOLDER:
        yield _read_pictures(piece, image_shape, background)
    elif piece.kind == PARQUET:
        from edgeport.runtime.parquet_source import read_parquet

        yield from read_parquet(piece, size, image_shape, background)
    elif piece.kind == FASHION:
        yield from _read_fashion_mnist(piece, size, image_shape, background)
    else:
        from edgeport.runtime.array_source import read_array

        yield from read_array(piece, size, image_shape, background)


# --- Fashion-MNIST ----------------------------------------------------------------------------


def _open_fashion_mnist(data_dir) -> Source:
    from edgeport.runtime.fashion_mnist import CLASS_NAMES, find_data_dir, load_fashion_mnist_labels

    folder = str(find_data_dir(data_dir))
    splits = {}
    for split in (TRAIN, TEST):  # the labels only: a split's images are read when it is (60,000 are 47 MB)
        labels = load_fashion_mnist_labels(split, folder)
        splits[split] = Stream(FASHION, folder, len(labels), False, True, split=split, labels=labels.astype(np.int64))
    return Source(FASHION_MNIST, FASHION_MNIST, FASHION, splits, tuple(CLASS_NAMES))


@functools.lru_cache(maxsize=2)
def _fashion_split(folder: str, split: str):
    """The decoded IDX arrays of one split, read once per process (60,000 images are 47 MB)."""
    from edgeport.runtime.fashion_mnist import load_fashion_mnist

    return load_fashion_mnist(split, folder)


def _read_fashion_mnist(piece: Piece, size: int, image_shape, background) -> Iterator[Chunk]:
    images, _ = _fashion_split(piece.location, piece.split)
    labels = np.array(piece.labels, np.int64)
    for start in range(piece.start, piece.stop, size):
        stop = min(start + size, piece.stop)
        pixels = images[start:stop, :, :, None]
        yield _array_chunk(pixels, start, stop, labels[start - piece.start : stop - piece.start], image_shape,
                           background)


# --- folders of pictures ----------------------------------------------------------------------


def _open_folder(spec: str, root: Path, class_names) -> Source:
    subfolders = _subfolders(root)
    test = next((name for name in TEST_FOLDERS if name in subfolders), None)
    location = str(root.resolve())
    if TRAIN in subfolders and test is not None:
        train, names = _folder_stream(root / TRAIN, class_names, TRAIN)
        tested, test_names = _folder_stream(root / test, class_names, TEST)
        if names is None or test_names != names:
            raise DataError(f"{root}: {TRAIN}/ has classes {', '.join(names or ['(none)'])} but {test}/ has "
                            f"{', '.join(test_names or ['(none)'])}: give both the same class folders")
        return Source(spec, location, FOLDER, {TRAIN: train, TEST: tested}, names)
    if test is not None and subfolders == [test]:  # a test split alone: the validation images, not one class
        tested, names = _folder_stream(root / test, class_names, TEST)
        return Source(spec, location, FOLDER, {TEST: tested}, names)
    whole, names = _folder_stream(root, class_names, ALL)
    return Source(spec, location, FOLDER, {ALL: whole}, names)


def _subfolders(folder: Path) -> list[str]:
    with os.scandir(folder) as entries:  # file types from the listing: no stat per picture
        return sorted(e.name for e in entries if not e.name.startswith(".") and _is_folder(e))


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a link that cannot be followed (a loop): not a folder of pictures
        return False


def _folder_stream(root: Path, class_names, split: str) -> tuple[Stream, tuple[str, ...] | None]:
    """The pictures under root, labelled by class folder when every picture is in one."""
    parts = pictures_under(root)
    if not parts:
        raise DataError(f"{root}: no pictures ({', '.join(PICTURE_SUFFIXES)}) in it or its sub-folders")
    folders = sorted({part[0] for part in parts if len(part) > 1})
    labels, names = None, None
    if folders and all(len(part) > 1 for part in parts):
        known = [str(n) for n in class_names or ()]
        lookup = ({name: known.index(name) for name in folders} if known and set(folders) <= set(known)
                  else {name: i for i, name in enumerate(folders)})
        labels = np.array([lookup[part[0]] for part in parts], np.int64)
        names = tuple(folders)
    stream = Stream(FOLDER, str(root), len(parts), True, labels is not None, split=split,
                    paths=tuple(os.path.join(root, *part) for part in parts), labels=labels)
    return stream, names


def _read_pictures(piece: Piece, image_shape, background) -> Chunk:
    images, ok, errors, paths = [], [], [], []
    channels, matte_for = _channels(image_shape), fitting(background).background
    for path in piece.paths:
        shown = text_name(path)
        paths.append(shown)
        try:
            if shown != path:  # UTF-8 text is what every output (Parquet, JSON) can hold
                raise ValueError(f"{shown}: the file name is not UTF-8 (its other bytes shown as \\x escapes): "
                                 f"rename it")
            images.append(decode_picture(path, channels, background=matte_for))
            ok.append(True)
            errors.append(None)
        except (OSError, ValueError) as e:
            ok.append(False)
            errors.append(" ".join(str(e).split()))
    return Chunk(np.arange(piece.start, piece.stop, dtype=np.int64), _fitted(images, image_shape, background),
                 np.array(ok, bool), errors, paths,
                 np.array(piece.labels, np.int64) if piece.labels else None)


def text_name(path: str) -> str:
    """A file name as UTF-8 text: bytes that are not UTF-8 (kept by the file system's surrogate escapes)
    written as \\x escapes."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")


def _channels(image_shape) -> int:
    """Channels to decode a picture to: the model's; for an unknown model, RGB (grey told apart later)."""
    return image_shape[2] if image_shape is not None else 3


def _fitted(pictures: list, image_shape, background):
    """Decoded pictures fitted to the model as one batch; image_shape None keeps the list as it is."""
    return pictures if image_shape is None else fit_pictures(pictures, image_shape, background)


# --- arrays: .npz and .npy --------------------------------------------------------------------


def picture_byte_limit() -> int:
    """The most bytes one encoded picture may have: a raw RGBA picture at the pixel limit."""
    return 4 * max_pixels()


def _array_chunk(pixels, start: int, stop: int, labels, image_shape, background) -> Chunk:
    index = np.arange(start, stop, dtype=np.int64)
    images = pixels if image_shape is None else fit_images(pixels, image_shape, background)
    return Chunk(index, images, np.ones(len(index), bool), [None] * len(index), true_labels=labels)
