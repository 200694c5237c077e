"""Pictures and arrays from disk, shaped the way the model's training images looked.

numpy and Pillow only. A picture is decoded the way a person expects (EXIF rotation applied,
transparency laid on white as product photos are shot, 16-bit depth scaled rather than
clipped), then fitted to the model's input. How it is fitted comes from the training data's
background, recorded at export:

- "dark" (light objects on black, as in Fashion-MNIST, trimmed and centred): a picture with a
  light background is inverted; then the background is taken down to black, the picture is
  cropped to the object, padded to the model's aspect ratio and resized, the way Fashion-MNIST
  itself was made (trim, resize the longest edge, centre, negate).
- anything else: a plain resize, as keras.utils.image_dataset_from_directory does.

A picture already at the model's size is never touched (but for the inversion of a light
background in the "dark" rule). Pictures and arrays go through the same rule in every command
(predict, evaluate, score, export's validation; the web page reimplements it): see fit_rule.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
ARRAY_SUFFIX = ".npy"
DARK, MIXED = "dark", "mixed"
FRAME, RESIZE = "frame", "resize"  # the two fitting rules, by the training images' background

_DARK_BORDER_MAX = 32  # a border whose median pixel is at most this is a dark border
_DARK_SHARE = 0.9  # share of images with a dark border that makes a data set's background dark
_OBJECT_MARGIN = 13  # about 5 % of 255: pixels this much brighter than the background are the object
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


class Picture(NamedTuple):
    """A picture fitted to a model: uint8 pixels (height, width, channels), and whether it was inverted."""

    pixels: np.ndarray
    inverted: bool


def image_background(images) -> str:
    """"dark" when at least 90 % of the images have a dark border, else "mixed".

    Args:
        images: uint8 pixels, (N, H, W) or (N, H, W, C), or a list of pictures (H, W[, C]) each at
            its own size, e.g. a model's validation images.

    Returns:
        "dark" (light objects on black, like Fashion-MNIST) or "mixed".

    Raises:
        ValueError: no images, or not images.
    """
    if isinstance(images, np.ndarray) and images.ndim not in (3, 4):
        raise ValueError(f"expected images (N, H, W) or (N, H, W, C); got an array of shape {images.shape}")
    dark = [float(np.median(_ring(np.asarray(p, np.float32).reshape(p.shape[0], p.shape[1], -1).mean(axis=2))))
            <= _DARK_BORDER_MAX for p in images]
    if not dark:
        raise ValueError("no images to tell the background of")
    return DARK if np.mean(dark) >= _DARK_SHARE else MIXED


def fit_rule(background: str | None) -> str:
    """How a model's pictures are fitted: "frame" (light objects on black: invert, crop, centre,
    resize) for a model trained on dark-background images, else "resize" (bilinear)."""
    return FRAME if background == DARK else RESIZE


def _ring(luminance: np.ndarray) -> np.ndarray:
    return np.concatenate([luminance[0], luminance[-1], luminance[:, 0], luminance[:, -1]])


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
        inside = sorted(
            p for p in path.rglob("*")
            if p.suffix.lower() in PICTURE_SUFFIXES and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        found.extend(inside if inside else [path])  # an empty folder is reported as such
    return found


def read_array(path: str | os.PathLike) -> np.ndarray:
    """A .npy file as stored (allow_pickle off), for the predictor to check.

    Raises:
        FileNotFoundError: no such file. ValueError: not a readable .npy array.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise ValueError(f"{path} is not a readable .npy array: {e}") from e


def read_picture(path: str | os.PathLike, image_shape: tuple[int, int, int], background: str | None = None) -> Picture:
    """A picture file fitted to a model's input.

    Args:
        path: a PNG, JPEG, BMP, GIF, WebP or TIFF file.
        image_shape: the model's (height, width, channels); 1 channel is grey, 3 RGB.
        background: the training images' background ("dark", "mixed", or None for unknown).

    Returns:
        Picture(pixels uint8 (height, width, channels), inverted).

    Raises:
        FileNotFoundError: no such file. IsADirectoryError: a folder with no pictures.
        ValueError: not a picture, unreadable, or a channel count pictures cannot give.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: a folder with no pictures ({', '.join(PICTURE_SUFFIXES)})")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix.lower() not in PICTURE_SUFFIXES:
        raise ValueError(f"{path}: expected a picture ({', '.join(PICTURE_SUFFIXES)}) or a {ARRAY_SUFFIX} array")
    channels = image_shape[2]
    if channels not in (1, 3):
        raise ValueError(f"{path}: a picture gives 1 or 3 channels, the model takes {channels}; "
                         f"pass a {ARRAY_SUFFIX} array instead")
    return fit_picture(decode_picture(path, channels), image_shape, background)


def fit_picture(pixels: np.ndarray, image_shape: tuple[int, int, int], background: str | None = None) -> Picture:
    """Fit decoded pixels (H, W, C) uint8 to the model's (height, width, channels), by its background rule."""
    height, width, _ = image_shape
    if background == DARK:
        return _frame_on_dark(pixels, height, width)
    return Picture(_resize(pixels, height, width), False)


def fit_images(images: np.ndarray, image_shape, background: str | None = None) -> np.ndarray:
    """uint8 images (N, H, W, C) fitted to a model's (height, width, channels) by fit_picture's rule:
    channels converted as decode_picture converts them, then each image fitted (unchanged when they fit)."""
    image_shape = tuple(image_shape)
    if images.shape[1:] == image_shape:
        return images
    if not len(images):
        return np.empty((0, *image_shape), np.uint8)
    return np.stack([fit_picture(convert_channels(image, image_shape[2]), image_shape, background).pixels
                     for image in images])


def convert_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """One image (H, W, C) converted to the model's channel count, grey <-> RGB, with Pillow's formulas
    (the same as for a decoded picture)."""
    have = image.shape[2]
    if have == channels:
        return image
    if have == 1 and channels == 3:
        return np.repeat(image, 3, axis=2)
    if have == 3 and channels == 1:
        from PIL import Image

        return np.asarray(Image.fromarray(image).convert("L"), np.uint8)[..., None]
    raise ValueError(f"cannot convert images with {have} channels to the model's {channels}")


def as_pixels(x, what: str) -> np.ndarray:
    """uint8 (N, H, W, C) from uint8 or integer pixels 0..255, or floats in [0, 1].

    Raises:
        DataError: another rank, dtype or range (what names the array).
    """
    from edgeport.runtime.errors import DataError

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


def decode_picture(path, channels: int, name: str | None = None) -> np.ndarray:
    """A picture's pixels (H, W, channels) uint8: upright (EXIF), transparency laid on white,
    any bit depth scaled to 8 bits; channels 1 is grey, 3 is RGB.

    Args:
        path: a picture file, or an open binary file (e.g. io.BytesIO of encoded bytes).
        name: what error messages call it (default: the path).

    Raises:
        ValueError: not a readable picture (the file is named).
    """
    if isinstance(path, (str, os.PathLike)):
        path = Path(path)
    name = name or str(path)
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as opened:
            picture = ImageOps.exif_transpose(opened)
            picture = _eight_bit(picture)
            if _has_alpha(picture):
                rgba = picture.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                picture = Image.alpha_composite(white, rgba)
            pixels = np.asarray(picture.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
    except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError, struct.error... on bad files
        raise ValueError(f"{name} is not a readable picture: {' '.join(str(e).split()) or type(e).__name__}") from e
    return pixels.reshape((*pixels.shape[:2], channels))


def _eight_bit(picture):
    """16-bit and 32-bit grey pictures scaled to 8 bits (Pillow's own conversion clips them)."""
    from PIL import Image

    if picture.mode in _SIXTEEN_BIT_MODES:
        values = np.asarray(picture, dtype=np.float64)
        return Image.fromarray(np.clip(np.round(values / 257.0), 0, 255).astype(np.uint8), "L")
    if picture.mode == "F":  # float pictures: intensities in [0, 1], else already 0..255
        values = np.asarray(picture, dtype=np.float64)
        scale = 255.0 if np.nanmax(values, initial=0.0) <= 1.0 else 1.0
        return Image.fromarray(np.clip(np.round(np.nan_to_num(values) * scale), 0, 255).astype(np.uint8), "L")
    return picture


def _has_alpha(picture) -> bool:
    return picture.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in picture.info


def _resize(pixels: np.ndarray, height: int, width: int, antialias: bool = False) -> np.ndarray:
    """Bilinear, as Keras resizes; antialias (Lanczos) where a large photo shrinks to a few dozen pixels."""
    if pixels.shape[:2] == (height, width):
        return pixels
    from PIL import Image

    channels = pixels.shape[2]
    picture = Image.fromarray(pixels[..., 0] if channels == 1 else pixels)
    resample = Image.Resampling.LANCZOS if antialias else Image.Resampling.BILINEAR
    resized = np.asarray(picture.resize((width, height), resample), dtype=np.uint8)
    return resized.reshape(height, width, channels)


def _frame_on_dark(pixels: np.ndarray, height: int, width: int) -> Picture:
    """Light object on black, cropped, centred on the model's aspect ratio and resized."""
    luminance = pixels.mean(axis=2)
    level = float(np.median(_ring(luminance)))
    inverted = level > 127.5
    if inverted:
        pixels, luminance, level = 255 - pixels, 255.0 - luminance, 255.0 - level
    if not inverted and pixels.shape[:2] == (height, width):
        return Picture(pixels, False)  # already a training-style image: leave it exactly as it is
    rows, cols = np.nonzero(luminance > level + _OBJECT_MARGIN)
    if len(rows):
        pixels = pixels[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    # The background becomes black, as in the training images.
    pixels = np.clip(pixels.astype(np.int16) - round(level), 0, 255).astype(np.uint8)
    h, w, channels = pixels.shape
    # Pad (never crop) to the model's aspect ratio, centred.
    canvas_h, canvas_w = (h, max(w, -(-h * width // height))) if h * width >= w * height else \
        (max(h, -(-w * height // width)), w)
    canvas = np.zeros((canvas_h, canvas_w, channels), np.uint8)
    top, left = (canvas_h - h) // 2, (canvas_w - w) // 2
    canvas[top : top + h, left : left + w] = pixels
    return Picture(_resize(canvas, height, width, antialias=True), inverted)
