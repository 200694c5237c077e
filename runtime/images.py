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
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

from edgeport.runtime.inputs import PICTURE_SUFFIXES, find_inputs, pictures_under  # noqa: F401 (read here too)
from edgeport.runtime.modelinfo import FITS

ARRAY_SUFFIX = ".npy"
DARK, MIXED = "dark", "mixed"
FRAME, RESIZE = FITS  # the two fitting rules (the default one by the training images' background)

_DARK_BORDER_MAX = 32  # a border whose median pixel is at most this is a dark border
_DARK_SHARE = 0.9  # share of images with a dark border that makes a data set's background dark
TREND = 0.2  # a correlation of shade with opacity that tells a transparent picture's ink (the web page's too)
_OBJECT_MARGIN = 13  # about 5 % of 255: pixels this much brighter than the background are the object
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
# A picture may decode to at most this many pixels (Pillow's own warning starts at 89M, its error at 179M):
# 40M RGB pixels are 160 MB in Pillow, which keeps decoding and fitting any picture well under 1 GiB.
MAX_PIXELS = 40_000_000
MAX_PIXELS_ENV = "EDGEPORT_MAX_PIXELS"
# Pictures whose long side is larger are reduced by a whole factor as they are decoded: a model's
# input is a few hundred pixels at most, and the framing rule needs only a few times that.
REDUCED_SIDE = 2048
_FIT_ROWS = 512  # rows of a large picture measured at a time when finding the object


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
    """How a model's pictures are fitted by default: "frame" (light objects on black: invert, crop,
    centre, resize) for a model trained on dark-background images, else "resize" (bilinear)."""
    return FRAME if background == DARK else RESIZE


class Fitting(NamedTuple):
    """How pictures are fitted to a model: the rule (FRAME or RESIZE) and the training images' background
    (DARK, MIXED or None), which decides what transparency is laid on."""

    rule: str
    background: str | None = None


def fitting(background, fit: str | None = None) -> Fitting:
    """The Fitting for a model's background and chosen rule (None: fit_rule's default for the background);
    a Fitting given as the background is returned as it is.

    Raises:
        ValueError: a rule that is not FRAME or RESIZE.
    """
    if isinstance(background, Fitting):
        return background
    if fit is not None and fit not in FITS:
        raise ValueError(f"the fitting rule must be one of {', '.join(FITS)}; got {fit!r}")
    return Fitting(fit or fit_rule(background), background)


def _ring(luminance: np.ndarray) -> np.ndarray:
    return np.concatenate([luminance[0], luminance[-1], luminance[:, 0], luminance[:, -1]])


def read_array(path: str | os.PathLike) -> np.ndarray:
    """A .npy file as stored (allow_pickle off), mapped rather than read: the predictor reads it a chunk at a
    time, so a large array costs no more memory than a small one, and a header that declares more than the
    file holds is refused at once.

    Raises:
        FileNotFoundError: no such file. ValueError: not a readable .npy array, or shorter than its header says.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError, OverflowError) as e:  # OverflowError: a negative size in the header
        raise ValueError(f"{path} is not a readable .npy array: {' '.join(str(e).split())}") from e


def read_picture(path: str | os.PathLike, image_shape: tuple[int, int, int], background=None) -> Picture:
    """A picture file fitted to a model's input.

    Args:
        path: a PNG, JPEG, BMP, GIF, WebP or TIFF file.
        image_shape: the model's (height, width, channels); 1 channel is grey, 3 RGB.
        background: the training images' background ("dark", "mixed", or None for unknown), whose
            default rule fits the picture, or a Fitting (a predictor's .fitting: the rule it records).

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
        try:
            path.stat()
        except FileNotFoundError:
            pass
        except OSError as e:  # a link that loops, no permission: said as the reason, not as "no such file"
            raise ValueError(f"{path} is not a readable picture: {e.strerror}") from None
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix.lower() not in PICTURE_SUFFIXES:
        raise ValueError(f"{path}: expected a picture ({', '.join(PICTURE_SUFFIXES)}) or a {ARRAY_SUFFIX} array")
    channels = image_shape[2]
    if channels not in (1, 3):
        raise ValueError(f"{path}: a picture gives 1 or 3 channels, the model takes {channels}; "
                         f"pass a {ARRAY_SUFFIX} array instead")
    return fit_picture(decode_picture(path, channels, background=fitting(background).background), image_shape,
                       background)


def fit_picture(pixels: np.ndarray, image_shape: tuple[int, int, int], background=None) -> Picture:
    """Fit decoded pixels (H, W, C) uint8 to the model's (height, width, channels), by the rule of its
    background or Fitting.

    Whether a picture is inverted follows the model's background, whatever the rule: a model trained on
    light objects on black sees a dark-on-light picture inverted, framed or resized alike.
    """
    height, width, _ = image_shape
    fit = fitting(background)
    if fit.rule == FRAME:
        return _frame_on_dark(pixels, height, width)
    if fit.background == DARK and _border_level(pixels) > 127.5:
        return Picture(_resize(255 - pixels, height, width), True)
    return Picture(_resize(pixels, height, width), False)


def fit_pictures(pictures: list, image_shape, background=None) -> np.ndarray:
    """Decoded pictures, each (H, W, C) uint8 at its own size with the model's channels, fitted by
    fit_picture's rule into one batch (N, height, width, channels).

    The common case costs no float work: pictures already at the model's size that the rule leaves
    as they are (for a model trained on dark backgrounds, those whose border is dark, the borders of
    all measured at once; else all of them) are copied into the batch untouched. The others are fitted
    one by one.
    """
    image_shape = tuple(image_shape)
    batch = np.empty((len(pictures), *image_shape), np.uint8)
    fitted = [i for i, pixels in enumerate(pictures) if pixels.shape == image_shape]
    if fitted:
        batch[fitted] = np.stack([pictures[i] for i in fitted])
        if fitting(background).background == DARK:  # a light border is inverted (and framed, by that rule)
            light = _border_levels(batch[fitted]) > 127.5
            fitted = [i for i, skip in zip(fitted, light) if not skip]
    done = set(fitted)
    for i, pixels in enumerate(pictures):
        if i not in done:
            batch[i] = fit_picture(pixels, image_shape, background).pixels
    return batch


def fit_images(images: np.ndarray, image_shape, background=None) -> np.ndarray:
    """uint8 images (N, H, W, C) fitted to a model's (height, width, channels) by fit_picture's rule:
    channels converted as decode_picture converts them, then each image fitted (unchanged when they fit)."""
    image_shape = tuple(image_shape)
    if images.shape[1:] == image_shape:
        return images
    if not len(images):
        return np.empty((0, *image_shape), np.uint8)
    return np.stack([fit_picture(convert_channels(image, image_shape[2]), image_shape, background).pixels
                     for image in images])


def fit_array(array: np.ndarray, image_shape, background=None, what: str = "the array") -> np.ndarray:
    """An array of pictures given to a command, fitted to the model's (height, width, channels) as a data
    source's images are (as_pixels, then fit_images), or returned as it is when it is already at the model's
    shape (for the predictor to read, floats included) or is no array of pictures (the predictor says why).

    The array is one picture (H, W), or (H, W, C) with 1 or 3 channels, or a batch (N, H, W) or (N, H, W, C).

    Raises:
        DataError: not pixels (what names the array).
    """
    shape = tuple(np.shape(array))
    if len(shape) == 2 or (len(shape) == 3 and shape[2] in (1, 3)):
        batch = (1, shape[0], shape[1], shape[2] if len(shape) == 3 else 1)
    elif len(shape) in (3, 4):
        batch = shape if len(shape) == 4 else (*shape, 1)
    else:
        return array
    if batch[1:] == tuple(image_shape) or 0 in batch:
        return array
    return fit_images(as_pixels(np.asarray(array).reshape(batch), what), image_shape, background)


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


def max_pixels() -> int:
    """The most pixels a picture may decode to: $EDGEPORT_MAX_PIXELS, else MAX_PIXELS.

    Raises:
        ValueError: the variable is not a positive whole number.
    """
    value = os.environ.get(MAX_PIXELS_ENV)
    if value is None:
        return MAX_PIXELS
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{MAX_PIXELS_ENV} must be a positive whole number of pixels; got {value!r}")
    return int(value)


def decode_picture(path, channels: int, name: str | None = None, background: str | None = None) -> np.ndarray:
    """A picture's pixels (H, W, channels) uint8: upright (EXIF), transparency laid on white (on black
    when the model was trained on dark backgrounds and the picture's visible part is light: a light
    digit on a transparent ground), any bit depth scaled to 8 bits; channels 1 is grey, 3 is RGB.

    A picture is refused from its header when it would decode to more than max_pixels() pixels;
    JPEG is decoded at a reduced scale where the format allows it (draft mode), and any picture
    whose long side exceeds REDUCED_SIDE is reduced by a whole factor right after decoding, so
    a huge picture costs little more than its own pixels once.

    Args:
        path: a picture file, or an open binary file (e.g. io.BytesIO of encoded bytes).
        name: what error messages call it (default: the path).
        background: the training images' background ("dark", "mixed" or None).

    Raises:
        ValueError: not a readable picture, or one with too many pixels (the file is named).
    """
    if isinstance(path, (str, os.PathLike)):
        path = os.fspath(path)  # Pillow opens a str faster than a Path
    name = name or str(path)
    limit = max_pixels()
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # edgeport's own limit applies
            with Image.open(path) as opened:
                if opened.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale when that keeps REDUCED_SIDE
                    opened.draft(opened.mode, _reduced_size(opened.size))
                if opened.size[0] * opened.size[1] > limit:
                    raise _TooLarge(f"{name} is {opened.size[0]}x{opened.size[1]} pixels, over the limit of "
                                    f"{limit:,} ({MAX_PIXELS_ENV} sets it)")
                target = "L" if channels == 1 else "RGB"
                opened.load()
                if _plain(opened):  # the common case: nothing to turn, scale, reduce or lay on white
                    picture = opened if opened.mode == target else opened.convert(target)
                    pixels = np.asarray(picture, dtype=np.uint8)
                    return pixels.reshape((*pixels.shape[:2], channels))
                picture = ImageOps.exif_transpose(opened)
                factor = max(1, max(picture.size) // REDUCED_SIDE)
                picture = _eight_bit(picture)
                if factor > 1:
                    if picture.mode in ("P", "1"):  # modes Image.reduce does not take
                        picture = picture.convert("RGBA" if _has_alpha(picture) else "RGB")
                    picture = picture.reduce(factor)
                if _has_alpha(picture):
                    rgba = picture.convert("RGBA")
                    matte = (0, 0, 0, 255) if background == DARK and _light_visible(rgba) else (255, 255, 255, 255)
                    picture = Image.alpha_composite(Image.new("RGBA", rgba.size, matte), rgba)
                pixels = np.asarray(picture.convert(target), dtype=np.uint8)
    except _TooLarge as e:
        raise ValueError(str(e)) from None
    except Image.DecompressionBombError as e:  # Pillow's hard limit, past ours
        raise ValueError(f"{name} is over the limit of {limit:,} pixels ({MAX_PIXELS_ENV} sets it): "
                         f"{' '.join(str(e).split())}") from None
    except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError, struct.error... on bad files
        reason = " ".join(str(e).replace(f" {path!r}", "").split())  # not "<_io.BytesIO object at 0x...>"
        raise ValueError(f"{name} is not a readable picture: {reason or type(e).__name__}") from e
    return pixels.reshape((*pixels.shape[:2], channels))


# Where Pillow finds an orientation (Image.getexif): EXIF bytes, a PNG text chunk of them, XMP, TIFF tags.
_ORIENTATION_KEYS = ("exif", "Raw profile type exif", "XML:com.adobe.xmp", "xmp")


def _plain(picture) -> bool:
    """Whether a loaded picture decodes as it is: 8-bit grey or RGB, upright (no EXIF, XMP or TIFF
    tags that could turn it), opaque and small enough not to be reduced. decode_picture's slow path
    gives the same pixels for such a picture, at several times the cost."""
    return (picture.mode in ("L", "RGB") and max(picture.size) <= REDUCED_SIDE
            and "transparency" not in picture.info and not hasattr(picture, "tag_v2")
            and not any(key in picture.info for key in _ORIENTATION_KEYS))


class _TooLarge(Exception):
    """A picture over the pixel limit (raised inside decode_picture's handler, told apart from a bad file)."""


def _reduced_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size a JPEG may be decoded at: its own, or with the long side brought down to REDUCED_SIDE."""
    long_side = max(size)
    if long_side <= REDUCED_SIDE:
        return size
    return (max(1, size[0] * REDUCED_SIDE // long_side), max(1, size[1] * REDUCED_SIDE // long_side))


def _eight_bit(picture):
    """16-bit and 32-bit grey pictures scaled to 8 bits (Pillow's own conversion clips them)."""
    from PIL import Image

    if picture.mode in _SIXTEEN_BIT_MODES:
        values = np.asarray(picture, dtype=np.float32)
        return Image.fromarray(np.clip(np.round(values / np.float32(257.0)), 0, 255).astype(np.uint8), "L")
    if picture.mode == "F":  # float pictures: intensities in [0, 1], else already 0..255
        values = np.nan_to_num(np.asarray(picture, dtype=np.float32))
        scale = np.float32(255.0 if values.max(initial=0.0) <= 1.0 else 1.0)
        return Image.fromarray(np.clip(np.round(values * scale), 0, 255).astype(np.uint8), "L")
    return picture


def _light_visible(rgba) -> bool:
    """Whether a transparent picture's visible part is light, as a person drawing it meant it.

    Where its shade follows its opacity (the object's core lighter than its fading edges, or darker),
    that says it: a correlation of luminance with alpha beyond +-TREND over the visible pixels. Ink of
    one shade says nothing that way: then its mean luminance, weighted by alpha, over half-scale.
    """
    pixels = np.asarray(rgba, np.float64)
    alpha = pixels[..., 3]
    visible = alpha > 0
    if not visible.any():
        return False
    alpha = alpha[visible]
    luminance = (pixels[..., 0] * 0.299 + pixels[..., 1] * 0.587 + pixels[..., 2] * 0.114)[visible]
    spread = alpha.std() * luminance.std()
    if spread > 0:
        trend = float(np.mean((alpha - alpha.mean()) * (luminance - luminance.mean())) / spread)
        if abs(trend) > TREND:
            return trend > 0
    return bool((luminance * alpha).sum() / alpha.sum() > 127.5)


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
    """Light object on black, cropped, centred on the model's aspect ratio and resized.

    Works in uint8 on the picture and in float only on a few rows at a time, so a large picture
    costs about one more copy of its cropped part.
    """
    level = _border_level(pixels)
    inverted = level > 127.5
    if not inverted and pixels.shape[:2] == (height, width):
        return Picture(pixels, False)  # already a training-style image: leave it exactly as it is
    if inverted:
        level = 255.0 - level
    top, bottom, left, right = _object_box(pixels, level + _OBJECT_MARGIN, inverted)
    pixels = pixels[top:bottom, left:right]
    if inverted:
        pixels = 255 - pixels
    # The background becomes black, as in the training images (a saturating subtraction in uint8).
    background = np.uint8(round(level))
    pixels = pixels - np.minimum(pixels, background)
    h, w, channels = pixels.shape
    # Pad (never crop) to the model's aspect ratio, centred.
    canvas_h, canvas_w = (h, max(w, -(-h * width // height))) if h * width >= w * height else \
        (max(h, -(-w * height // width)), w)
    canvas = np.zeros((canvas_h, canvas_w, channels), np.uint8)
    top, left = (canvas_h - h) // 2, (canvas_w - w) // 2
    canvas[top : top + h, left : left + w] = pixels
    return Picture(_resize(canvas, height, width, antialias=True), inverted)


def _border_level(pixels: np.ndarray) -> float:
    """The median luminance (mean over channels) of one picture's border pixels (see _border_levels)."""
    return float(_border_levels(pixels[None])[0])


def _border_levels(batch: np.ndarray) -> np.ndarray:
    """Each picture's median border luminance (mean over channels), as np.median of the float means
    gives it, found in integers: the border's channel sums partitioned, then two divisions.

    Args:
        batch: uint8 pictures (N, H, W, C) of one size.
    """
    ring = np.concatenate([batch[:, 0], batch[:, -1], batch[:, :, 0], batch[:, :, -1]], axis=1)
    channels = ring.shape[2]
    sums = ring[..., 0] if channels == 1 else ring.sum(axis=2, dtype=np.uint32)
    middle = sums.shape[1] // 2
    if sums.shape[1] % 2:
        return np.partition(sums, middle, axis=1)[:, middle] / channels
    parted = np.partition(sums, (middle - 1, middle), axis=1)
    return (parted[:, middle - 1] / channels + parted[:, middle] / channels) / 2


def _object_box(pixels: np.ndarray, threshold: float, inverted: bool) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the pixels whose luminance (after inversion) exceeds threshold; the
    whole picture when none does. Measured a few rows at a time: no full-size float or index arrays."""
    rows, columns = np.zeros(len(pixels), bool), np.zeros(pixels.shape[1], bool)
    grey = pixels.shape[2] == 1
    for start in range(0, len(pixels), _FIT_ROWS):
        block = pixels[start : start + _FIT_ROWS]
        if grey:  # compared as they are: 255 - v > t is v < 255 - t, exact for these whole and half values
            above = block[..., 0] < 255.0 - threshold if inverted else block[..., 0] > threshold
        else:
            luminance = block.mean(axis=2, dtype=np.float64)
            above = (255.0 - luminance if inverted else luminance) > threshold
        rows[start : start + _FIT_ROWS] = above.any(axis=1)
        columns |= above.any(axis=0)
    if not rows.any():
        return 0, len(pixels), 0, pixels.shape[1]
    found_rows, found_columns = np.flatnonzero(rows), np.flatnonzero(columns)
    return found_rows[0], found_rows[-1] + 1, found_columns[0], found_columns[-1] + 1
