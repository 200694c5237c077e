"""Read image files for the command line: PNG/JPEG through Pillow, or .npy arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def read_image(path: str | Path, height: int, width: int, channels: int) -> np.ndarray:
    """An image file as uint8 (height, width, channels), or a .npy file as stored.

    Pictures are converted to the model's channels (grey for 1, RGB for 3) and resized to its
    input size; .npy arrays are returned unchanged, for the predictor to check.

    Raises:
        FileNotFoundError: no such file. ValueError: not a readable image or array.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file")
    if path.suffix.lower() == ".npy":
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise ValueError(f"{path} is not a readable .npy array: {e}") from e
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"{path}: expected a picture ({', '.join(IMAGE_SUFFIXES)}) or a .npy array")
    from PIL import Image, UnidentifiedImageError

    modes = {1: "L", 3: "RGB", 4: "RGBA"}
    if channels not in modes:
        raise ValueError(f"{path}: cannot convert a picture to {channels} channels; pass a .npy array instead")
    try:
        with Image.open(path) as picture:
            picture = picture.convert(modes[channels])
            if picture.size != (width, height):
                picture = picture.resize((width, height), Image.Resampling.BILINEAR)
            pixels = np.asarray(picture, dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"{path} is not a readable picture: {e}") from e
    return pixels.reshape(height, width, channels)
