"""What export needs to know about a Keras model: its input, its preprocessing, its outputs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edgeport import runtime
from edgeport.runtime.errors import ModelFileError
from edgeport.runtime.modelinfo import ModelInfo, Preprocessing, output_kind

# First layers that make a model take raw pixels: it rescales or normalizes them itself.
_SELF_SCALING = ("Rescaling", "Normalization")
_PROBE_IMAGES = 8
# A model file may inflate to at most this many bytes plus ARCHIVE_RATIO times its own size: weights
# barely compress, a config compresses about tenfold, a compression bomb a thousandfold.
ARCHIVE_ALLOWANCE = 64 * 1024 * 1024
ARCHIVE_RATIO = 20


def check_model_path(path: str | os.PathLike) -> Path:
    """A Keras model file's path, refused before anything is loaded when it cannot be one.

    Raises:
        FileNotFoundError: no such file. ModelFileError: not a .keras or .h5 file, or one that would
            inflate far beyond its size (check_archive).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such Keras model (train one with 'edgeport train')")
    if path.suffix not in (".keras", ".h5"):
        raise ModelFileError(f"expected a Keras model file ending in '.keras' or '.h5'; got {str(path)!r}")
    check_archive(path)
    return path


def check_archive(path: Path) -> None:
    """Refuse a model file that would inflate far beyond its own size before Keras reads it.

    A .keras file is a zip archive: each member's declared size (which bounds what zipfile
    reads) must stay within the limit. An .h5 file's datasets may be compressed: their
    uncompressed sizes must too. The limit is ARCHIVE_ALLOWANCE plus ARCHIVE_RATIO times the
    file's size, for any member and for the sum.

    Raises:
        ModelFileError: the file inflates past the limit, or is not a readable archive (named).
    """
    limit = ARCHIVE_ALLOWANCE + ARCHIVE_RATIO * path.stat().st_size
    if path.suffix == ".keras":
        import zipfile

        try:
            with zipfile.ZipFile(path) as archive:
                sizes = [(info.filename, info.file_size) for info in archive.infolist()]
        except (zipfile.BadZipFile, OSError) as e:
            raise ModelFileError(f"{path} is not a loadable Keras model: not a zip archive ({e})") from e
    else:
        sizes = _h5_sizes(path)
    largest = max(sizes, key=lambda item: item[1], default=("", 0))
    total = sum(size for _, size in sizes)
    if total > limit:
        raise ModelFileError(f"{path} would inflate to {total:,} bytes ({largest[0]}: {largest[1]:,}), over "
                             f"{limit:,} for a {path.stat().st_size:,}-byte file: refused as a compression bomb")


def _h5_sizes(path: Path) -> list[tuple[str, int]]:
    import h5py

    sizes = []
    try:
        with h5py.File(path, "r") as f:
            f.visititems(lambda name, item: sizes.append((name, int(item.size) * item.dtype.itemsize))
                         if isinstance(item, h5py.Dataset) else None)
    except (OSError, ValueError) as e:
        raise ModelFileError(f"{path} is not a loadable Keras model: not an HDF5 file ({e})") from e
    return sizes


def load_keras_model(path: str | os.PathLike):
    """Load a .keras (or .h5) file, or say clearly why it is not one; archives that inflate far beyond
    their own size are refused before Keras reads them (check_archive)."""
    path = check_model_path(path)
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as e:  # Keras raises ValueError, OSError, zipfile errors, ...
        raise ModelFileError(f"{path} is not a loadable Keras model: {' '.join(str(e).split())[:300]}") from e


def image_shape(model) -> tuple[int, int, int]:
    """(height, width, channels) of the model's input; (N, H, W) inputs take one channel.

    Raises:
        ValueError: the model does not take images.
    """
    dims = tuple(model.input_shape[1:])
    if len(dims) not in (2, 3) or not all(isinstance(d, int) for d in dims):
        raise ValueError(f"model {model.name!r} takes input {model.input_shape}; expected images (N, H, W) or (N, H, W, C)")
    return (dims[0], dims[1], dims[2] if len(dims) == 3 else 1)


def num_classes(model) -> int:
    return int(model.output_shape[-1])


def preprocessing_for(model, override: Preprocessing | None = None) -> Preprocessing:
    """What the model wants from a pixel: override if given; raw pixels when its first layer is
    Rescaling or Normalization (it scales them itself); else x / 255."""
    if override is not None:
        return override
    first = next((layer for layer in model.layers if type(layer).__name__ != "InputLayer"), None)
    return Preprocessing.raw() if type(first).__name__ in _SELF_SCALING else Preprocessing.unit()


def keras_outputs(model, images: np.ndarray, preprocessing: Preprocessing) -> np.ndarray:
    """The Keras model's raw outputs (probabilities or logits) on uint8 images (N, H, W, C)."""
    x = preprocessing.apply(images).reshape((-1, *model.input_shape[1:]))
    return np.asarray(model.predict(x, batch_size=1000, verbose=0), dtype=np.float32)


def model_info(model, class_names=None, preprocessing: Preprocessing | None = None, output: str | None = None,
               background: str | None = None) -> ModelInfo:
    """The facts a file of this model carries, with defaults for what the caller did not say.

    Class names default to "0".."N-1"; preprocessing to preprocessing_for(model); the output
    kind is found by running the model on a few random pixel images (softmax rows sum to 1
    whatever the input).

    Raises:
        ValueError: class names that do not match the model's outputs.
    """
    count = num_classes(model)
    names = tuple(str(n) for n in class_names) if class_names is not None else tuple(str(i) for i in range(count))
    if len(names) != count:
        raise ValueError(f"got {len(names)} class names for a model with {count} outputs")
    preprocessing = preprocessing_for(model, preprocessing)
    preprocessing.check_channels(image_shape(model)[2])
    if output is None:
        probe = np.random.default_rng(0).integers(0, 256, (_PROBE_IMAGES, *image_shape(model)), dtype=np.uint8)
        output = output_kind(keras_outputs(model, probe, preprocessing))
    return ModelInfo(names, preprocessing, output, background)


def reference_probabilities(outputs: np.ndarray, output: str) -> np.ndarray:
    """Probabilities from the model's raw outputs: softmax for a logits model."""
    return runtime.softmax(outputs) if output == "logits" else outputs
