"""Labelled image data sets: Fashion-MNIST, a folder of class folders, or an .npz file.

numpy and Pillow only, so that a device can evaluate too. Every source comes out the same
way: uint8 images (N, H, W, C) at the model's input size, int64 labels, class names when the
source has them, and its splits ("train" and "test", or "all" for a source without splits).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeport.runtime.data import CLASS_NAMES, load_fashion_mnist
from edgeport.runtime.images import PICTURE_SUFFIXES, decode_picture, fit_picture

FASHION_MNIST = "fashion-mnist"
TRAIN, TEST, ALL = "train", "test", "all"
_TEST_FOLDERS = ("test", "val", "validation")
_NPZ_SPLITS = {TRAIN: ("x_train", "y_train"), TEST: ("x_test", "y_test"), ALL: ("x", "y")}


class DataError(ValueError):
    """A data set that cannot serve: missing, empty, unreadable, or not the model's classes."""


@dataclass(frozen=True)
class Split:
    """Images uint8 (N, H, W, C) and their labels int64 (N,)."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Dataset:
    """A labelled data set, as every stage takes it.

    Attributes:
        source: what was asked for ("fashion-mnist", or the resolved path of a folder or .npz).
        kind: "fashion-mnist", "folder" or "npz".
        splits: {"train": Split, "test": Split}, or {"all": Split} for a source without splits.
        class_names: from the source (folder names, the npz's class_names, Fashion-MNIST's), else None.
    """

    source: str
    kind: str
    splits: dict
    class_names: tuple[str, ...] | None

    @property
    def validation(self) -> tuple[str, Split]:
        """(split name, split) that validation runs on: the test split, else the whole source."""
        return (TEST, self.splits[TEST]) if TEST in self.splits else (ALL, self.splits[ALL])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(next(iter(self.splits.values())).images.shape[1:])

    def check_classes(self, num_classes: int) -> None:
        """Refuse data whose labels or class names do not fit a model with num_classes outputs.

        Raises:
            DataError: a class count or a label that the model cannot have.
        """
        if self.class_names is not None and len(self.class_names) != num_classes:
            shown = ", ".join(self.class_names[:12]) + (", ..." if len(self.class_names) > 12 else "")
            raise DataError(f"{self.source} has {len(self.class_names)} classes ({shown}) but the model has "
                            f"{num_classes} outputs: pass the data the model was trained on")
        for name, split in self.splits.items():
            if len(split) and (split.labels.min() < 0 or split.labels.max() >= num_classes):
                raise DataError(f"{self.source} ({name}): labels must be in 0..{num_classes - 1} for a model with "
                                f"{num_classes} outputs; got values in [{split.labels.min()}, {split.labels.max()}]")


def load_dataset(spec: str | os.PathLike, image_shape: tuple[int, int, int] | None = None,
                 data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load a labelled data set.

    Args:
        spec: "fashion-mnist"; a folder with one sub-folder per class (sorted names give the
            class indices, as keras.utils.image_dataset_from_directory does), or with train/
            and test/ (or val/) each holding class folders; or an .npz file with x and y, or
            x_train, y_train, x_test and y_test, and optionally class_names.
        image_shape: the model's (height, width, channels); images are converted and resized
            to it (a plain resize). None keeps the source's own size (a folder's pictures must
            then all have the size of the first).
        data_dir: where the Fashion-MNIST files are (default: the usual search path).

    Returns:
        A Dataset.

    Raises:
        DataError: no such source, no images, an unreadable file (named), a source that does
            not fit image_shape.
        DatasetError: the Fashion-MNIST files are missing or corrupt.
    """
    spec = str(spec)
    if spec == FASHION_MNIST:
        return _fashion_mnist(image_shape, data_dir)
    path = Path(spec).expanduser()
    if path.is_dir():
        return _folder(path, image_shape)
    if path.suffix.lower() == ".npz":
        if not path.is_file():
            raise DataError(f"{path}: no such .npz file")
        return _npz(path, image_shape)
    if not path.exists():
        raise DataError(f"{spec}: no such data: expected '{FASHION_MNIST}', a folder of class folders, or an .npz file")
    raise DataError(f"{spec}: expected '{FASHION_MNIST}', a folder of class folders, or an .npz file")


def _fashion_mnist(image_shape, data_dir) -> Dataset:
    if image_shape is not None and tuple(image_shape) != (28, 28, 1):
        h, w, c = image_shape
        raise DataError(f"the model takes {h}x{w}x{c} images but Fashion-MNIST's are 28x28x1: give the model's own "
                        f"data (--data on the command line: a folder of class folders or an .npz file)")
    splits = {}
    for split in (TRAIN, TEST):
        images, labels = load_fashion_mnist(split, data_dir)
        splits[split] = Split(images[..., None], labels.astype(np.int64))
    return Dataset(FASHION_MNIST, FASHION_MNIST, splits, tuple(CLASS_NAMES))


def _folder(root: Path, image_shape) -> Dataset:
    subfolders = _subfolders(root)
    test = next((name for name in _TEST_FOLDERS if name in subfolders), None)
    if TRAIN in subfolders and test is not None:
        train_split, names = _class_folders(root / TRAIN, image_shape)
        image_shape = train_split.images.shape[1:]
        test_split, test_names = _class_folders(root / test, image_shape)
        if test_names != names:
            raise DataError(f"{root}: {TRAIN}/ has classes {', '.join(names)} but {test}/ has {', '.join(test_names)}")
        return Dataset(str(root.resolve()), "folder", {TRAIN: train_split, TEST: test_split}, names)
    whole, names = _class_folders(root, image_shape)
    return Dataset(str(root.resolve()), "folder", {ALL: whole}, names)


def _subfolders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _class_folders(folder: Path, image_shape) -> tuple[Split, tuple[str, ...]]:
    names = tuple(_subfolders(folder))
    if not names:
        raise DataError(f"{folder}: no class folders: put each class's pictures in a sub-folder named after it")
    images, labels = [], []
    for label, name in enumerate(names):
        pictures = sorted(p for p in (folder / name).rglob("*")
                          if p.suffix.lower() in PICTURE_SUFFIXES and p.is_file() and not p.name.startswith("."))
        for picture in pictures:
            if image_shape is None:  # the first picture decides: its size, grey or colour
                first = decode_picture(picture, 3)
                image_shape = (*first.shape[:2], 1 if _looks_grey(first) else 3)
            images.append(fit_picture(decode_picture(picture, image_shape[2]), image_shape).pixels)
            labels.append(label)
    if not images:
        raise DataError(f"{folder}: no pictures ({', '.join(PICTURE_SUFFIXES)}) in its class folders "
                        f"{', '.join(names)}")
    return Split(np.stack(images), np.asarray(labels, np.int64)), names


def _looks_grey(pixels: np.ndarray) -> bool:
    return bool((pixels == pixels[..., :1]).all())


def _npz(path: Path, image_shape) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (ValueError, OSError, EOFError) as e:
        raise DataError(f"{path} is not a readable .npz file: {e}") from e
    if all(key in arrays for key in (*_NPZ_SPLITS[TRAIN], *_NPZ_SPLITS[TEST])):
        wanted = (TRAIN, TEST)
    elif all(key in arrays for key in _NPZ_SPLITS[ALL]):
        wanted = (ALL,)
    else:
        raise DataError(f"{path} holds {', '.join(sorted(arrays)) or 'nothing'}: expected x and y, or x_train, "
                        f"y_train, x_test and y_test (and optionally class_names)")
    splits = {}
    for split in wanted:
        x_key, y_key = _NPZ_SPLITS[split]
        images = as_pixels(arrays[x_key], f"{path}: {x_key}")
        labels = np.asarray(arrays[y_key]).reshape(-1)
        if labels.dtype.kind not in "iu":
            raise DataError(f"{path}: {y_key} must hold whole-number class labels; got dtype {labels.dtype}")
        if len(labels) != len(images):
            raise DataError(f"{path}: {x_key} has {len(images)} images but {y_key} has {len(labels)} labels")
        if len(images) == 0:
            raise DataError(f"{path}: {x_key} holds no images")
        if image_shape is not None:
            images = fit_images(images, image_shape)
        splits[split] = Split(images, labels.astype(np.int64))
    names = tuple(str(n) for n in arrays["class_names"].reshape(-1)) if "class_names" in arrays else None
    return Dataset(str(path.resolve()), "npz", splits, names)


def fit_images(images: np.ndarray, image_shape) -> np.ndarray:
    """uint8 images (N, H, W, C) fitted to a model's (height, width, channels): channels converted,
    each image resized (unchanged when they already fit)."""
    if images.shape[1:] == tuple(image_shape):
        return images
    if not len(images):
        return np.empty((0, *image_shape), np.uint8)
    return np.stack([fit_picture(_channels(image, image_shape[2]), image_shape).pixels for image in images])


def as_pixels(x: np.ndarray, what: str) -> np.ndarray:
    """uint8 (N, H, W, C) from uint8 or integer pixels 0..255, or floats in [0, 1].

    Raises:
        DataError: another rank, dtype or range (what names the array).
    """
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise DataError(f"{what}: expected images (N, H, W) or (N, H, W, C); got shape {x.shape}")
    if x.dtype == np.uint8 or x.size == 0:
        return x.astype(np.uint8, copy=False)
    if x.dtype.kind in "iu" and x.min() >= 0 and x.max() <= 255:
        return x.astype(np.uint8)
    if x.dtype.kind == "f" and np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1:
        return np.round(x * 255).astype(np.uint8)
    raise DataError(f"{what}: expected uint8 pixels or floats in [0, 1]; got {x.dtype} values in [{x.min()}, {x.max()}]")


def _channels(image: np.ndarray, channels: int) -> np.ndarray:
    """One image (H, W, C) converted to the model's channel count: grey <-> RGB."""
    have = image.shape[2]
    if have == channels:
        return image
    if have == 1 and channels == 3:
        return np.repeat(image, 3, axis=2)
    if have == 3 and channels == 1:
        grey = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        return np.round(grey).astype(np.uint8)[..., None]
    raise DataError(f"cannot convert images with {have} channels to the model's {channels}")
