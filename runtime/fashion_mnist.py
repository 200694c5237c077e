"""Fashion-MNIST on disk (the four original IDX files) and its class names.

numpy only, so that a device running the runtime can evaluate a model too. The data layer
(runtime/sources.py) serves it like any other source; this module only reads the files.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from edgeport.runtime.errors import DataError

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

SYSTEM_DIRS = (
    Path("/usr/share/datasets/fashion-mnist"),
    Path("~/.keras/datasets/fashion-mnist").expanduser(),
)
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_IMAGES_MAGIC = 2051  # IDX: unsigned byte, 3 dimensions
_LABELS_MAGIC = 2049  # IDX: unsigned byte, 1 dimension
_HOW_TO_GET = (
    "install it with 'sudo apt-get install dataset-fashion-mnist' (or 'make setup'), "
    "or point FASHION_MNIST_DIR or data_dir at a folder holding the four *-ubyte.gz files"
)


def find_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Return the first folder holding the test images: data_dir, $FASHION_MNIST_DIR, then the system folders.

    Raises:
        DataError: an explicit data_dir or $FASHION_MNIST_DIR lacks the files, or no folder has them.
    """
    probe = _FILES["test"][0]
    for explicit in (data_dir, os.environ.get("FASHION_MNIST_DIR") or None):
        if explicit is not None:
            folder = Path(explicit).expanduser()
            if not (folder / probe).is_file():
                raise DataError(f"Fashion-MNIST not found in {folder} (no {probe}): {_HOW_TO_GET}")
            return folder
    for folder in SYSTEM_DIRS:
        if (folder / probe).is_file():
            return folder
    searched = ", ".join(str(d) for d in SYSTEM_DIRS)
    raise DataError(f"Fashion-MNIST not found (searched {searched}): {_HOW_TO_GET}")


def load_fashion_mnist_labels(split: str, data_dir: str | os.PathLike | None = None) -> np.ndarray:
    """One split's labels alone, uint8 (N,): what opening the data set needs (its images are read later).

    Raises:
        ValueError: split is not "train" or "test". DataError: as load_fashion_mnist.
    """
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    return _read_idx(find_data_dir(data_dir) / _FILES[split][1], _LABELS_MAGIC)


def load_fashion_mnist(split: str, data_dir: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read one split of Fashion-MNIST from the original IDX files.

    Args:
        split: "train" (60,000 images) or "test" (10,000 images).
        data_dir: folder with the *-ubyte.gz files; default: $FASHION_MNIST_DIR, then
            /usr/share/datasets/fashion-mnist, then ~/.keras/datasets/fashion-mnist.

    Returns:
        (images uint8 (N, 28, 28), labels uint8 (N,)).

    Raises:
        ValueError: split is not "train" or "test".
        DataError: a file is missing, truncated, corrupt, or has the wrong magic number.
    """
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    folder = find_data_dir(data_dir)
    images_name, labels_name = _FILES[split]
    images = _read_idx(folder / images_name, _IMAGES_MAGIC)
    labels = _read_idx(folder / labels_name, _LABELS_MAGIC)
    if len(images) != len(labels):
        raise DataError(
            f"{folder}: {images_name} has {len(images)} images but {labels_name} has {len(labels)} labels; "
            f"reinstall the dataset: {_HOW_TO_GET}"
        )
    if labels.size and labels.max() >= len(CLASS_NAMES):
        raise DataError(f"{folder / labels_name}: label {labels.max()} is out of range 0..9; {_HOW_TO_GET}")
    return images, labels


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """Decode one gzip'd IDX file (big-endian header: magic, then one uint32 per dimension)."""
    if not path.is_file():
        raise DataError(f"{path} is missing: {_HOW_TO_GET}")
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path} is not a readable gzip file ({e}); {_HOW_TO_GET}") from e
    ndim = magic & 0xFF
    header = 4 * (1 + ndim)
    if len(raw) < header:
        raise DataError(f"{path} is truncated: {len(raw)} bytes, shorter than its header; {_HOW_TO_GET}")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise DataError(f"{path} has magic number {found}, expected {magic}: not the right IDX file; {_HOW_TO_GET}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise DataError(
            f"{path} holds {len(raw)} bytes, expected {expected} for shape {shape}: truncated or corrupt; {_HOW_TO_GET}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)
