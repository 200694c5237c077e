"""Real pictures: EXIF rotation, transparency, 16-bit depth, and photos of Fashion-MNIST objects.

The photos are made here from test images the way shops shoot products (a dark garment on
white, large, off-centre, JPEG; or a cut-out on a transparent background) and must get the
answer the model gives on the 28x28 original.
"""

import json

import numpy as np
import pytest
from PIL import Image

from edgeport import runtime
from edgeport.runtime.images import DARK, MIXED, _border_levels, fit_picture, fit_pictures


def test_fashion_mnist_has_a_dark_background_and_photos_do_not(test_set):
    images, _ = test_set
    assert runtime.image_background(images) == DARK
    assert runtime.image_background(255 - images) == MIXED
    rng = np.random.default_rng(0)
    assert runtime.image_background(rng.integers(0, 256, (50, 32, 32, 3), dtype=np.uint8)) == MIXED


def test_manifest_and_onnx_metadata_record_the_background(exported, tmp_path):
    import shutil

    manifest = runtime.read_manifest(exported)
    assert {entry.info.background for entry in manifest.files.values()} == {DARK}
    shutil.copy(exported / "model_int8.onnx", tmp_path / "alone.onnx")  # no manifest beside it
    assert runtime.load(tmp_path / "alone.onnx").background == DARK


def test_exif_orientation_is_applied(tmp_path):
    # A tall picture with a white top half, stored sideways with EXIF "rotate 90 CW" (orientation 6).
    upright = np.zeros((40, 20), np.uint8)
    upright[:20] = 255
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # what the camera wrote: 20x40
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "sideways.jpg", exif=exif, quality=100)
    pixels = runtime.read_picture(tmp_path / "sideways.jpg", (40, 20, 1), MIXED).pixels[..., 0]
    assert pixels.shape == (40, 20)
    assert pixels[:18].mean() > 240 and pixels[22:].mean() < 15


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 32 * 32).reshape(32, 32).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    pixels = runtime.read_picture(tmp_path / "deep.png", (32, 32, 1), MIXED).pixels[..., 0]
    np.testing.assert_allclose(pixels, ramp / 257.0, atol=0.51)
    assert len(np.unique(pixels)) > 200  # Pillow's own conversion would leave 2 values: 0 and 255


def test_transparency_is_laid_on_white_before_the_polarity_rule(tmp_path):
    # A dark square on a transparent background whose hidden colour is black (as many cut-outs are).
    rgba = np.zeros((60, 60, 4), np.uint8)
    rgba[20:40, 20:40] = (40, 40, 40, 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cutout.png")
    plain = runtime.read_picture(tmp_path / "cutout.png", (28, 28, 1), MIXED)
    assert plain.pixels[0, 0, 0] == 255 and plain.pixels[14, 14, 0] == 40 and not plain.inverted
    dark = runtime.read_picture(tmp_path / "cutout.png", (28, 28, 1), DARK)
    # Inverted to a light square on black, cropped to the square: it fills the frame.
    assert dark.inverted and dark.pixels.min() >= 200


def test_dark_background_rule_frames_an_object_like_the_training_images():
    # A light 10x20 bar on black, off-centre in a 100x100 picture: cropped, centred, resized.
    picture = np.zeros((100, 100, 1), np.uint8)
    picture[5:25, 60:70] = 200
    fitted = fit_picture(picture, (28, 28, 1), DARK)
    assert not fitted.inverted
    columns = np.flatnonzero(fitted.pixels[..., 0].max(axis=0) > 100)
    rows = np.flatnonzero(fitted.pixels[..., 0].max(axis=1) > 100)
    assert rows[0] <= 1 and rows[-1] >= 26  # the long side fills the frame
    assert 6 <= columns[0] <= 8 and 19 <= columns[-1] <= 21  # the short side is centred
    # A picture already at the model's size with a dark background is left exactly as it is.
    small = np.zeros((28, 28, 1), np.uint8)
    small[3:9, 20:26] = 180
    np.testing.assert_array_equal(fit_picture(small, (28, 28, 1), DARK).pixels, small)
    # Other models get a plain resize: nothing is cropped.
    plain = fit_picture(picture, (28, 28, 1), MIXED).pixels[..., 0]
    assert plain[:, :14].max() < 50 and plain[:8, 16:20].max() > 100


def product_photo(image: np.ndarray, rng) -> Image.Image:
    """A dark garment on white, upscaled and off-centre in a 300x400 colour photo."""
    side = int(rng.integers(180, 300))
    up = np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BICUBIC), np.float32)
    colour = rng.uniform(0.0, 0.6, 3)  # a dark dye: navy, brown, charcoal...
    photo = np.full((400, 300, 3), 255.0, np.float32)
    top, left = int(rng.integers(0, 400 - side)), int(rng.integers(0, 300 - side))
    photo[top : top + side, left : left + side] = 255 - up[..., None] * (1 - colour)
    return Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8))


def transparent_cutout(image: np.ndarray, rng) -> Image.Image:
    """A dark garment on a transparent background whose hidden colour is black."""
    side = int(rng.integers(120, 240))
    up = np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BICUBIC), np.float32)
    alpha = np.clip(up * 4, 0, 255)
    cutout = np.zeros((300, 300, 4), np.uint8)
    top, left = int(rng.integers(0, 300 - side)), int(rng.integers(0, 300 - side))
    cutout[top : top + side, left : left + side, :3] = ((255 - up) * (alpha > 0))[..., None]
    cutout[top : top + side, left : left + side, 3] = alpha
    return Image.fromarray(cutout, "RGBA")


def light_cutout(image: np.ndarray, rng) -> Image.Image:
    """A light garment (as Fashion-MNIST draws it) on a transparent background whose hidden colour is white."""
    side = int(rng.integers(120, 240))
    up = np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BICUBIC), np.float32)
    cutout = np.zeros((300, 300, 4), np.uint8)
    cutout[..., :3] = 255
    top, left = int(rng.integers(0, 300 - side)), int(rng.integers(0, 300 - side))
    cutout[top : top + side, left : left + side, :3] = np.clip(up * 1.5, 0, 255)[..., None]
    cutout[top : top + side, left : left + side, 3] = np.clip(up * 4, 0, 255)
    return Image.fromarray(cutout, "RGBA")


@pytest.mark.parametrize("kind", ["product.jpg", "cutout.png"])
def test_photos_of_test_images_get_the_models_answer_on_the_originals(exported, test_set, tmp_path, kind):
    images, _ = test_set
    predictor = runtime.load(exported / "model_int8.tflite")
    originals = images[:100]
    expected = predictor.predict(originals).argmax(1)
    rng = np.random.default_rng(1)
    make = product_photo if kind.startswith("product") else transparent_cutout
    answers, plain_answers = [], []
    for i, image in enumerate(originals):
        path = tmp_path / f"{i}-{kind}"
        make(image, rng).save(path, quality=90) if path.suffix == ".jpg" else make(image, rng).save(path)
        picture = runtime.read_picture(path, predictor.image_shape, predictor.background)
        assert picture.inverted
        answers.append(predictor.predict_one(picture.pixels).label)
        plain_answers.append(predictor.predict_one(runtime.read_picture(path, predictor.image_shape, MIXED).pixels).label)
    agreement = np.mean(np.array(answers) == expected)
    assert agreement >= 0.90, f"{kind}: {agreement:.2f}"
    # The rule is what makes the difference: a plain resize of the same photos mostly fails.
    assert np.mean(np.array(plain_answers) == expected) < 0.5


# --- hostile pictures ---------------------------------------------------------------------

def _png_bomb(path, side: int) -> None:
    """A grey PNG of side x side black pixels, written row by row: a few hundred KB on disk."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer, row, parts = zlib.compressobj(9), b"\0" * (side + 1), []
    for _ in range(side):
        parts.append(packer.compress(row))
    parts.append(packer.flush())
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b""))


def test_a_picture_bomb_is_refused_from_its_header_by_predict_score_and_evaluate(exported, test_set, tmp_path):
    from edgeport.runtime.images import MAX_PIXELS
    from tests.conftest import EDGEPORT, with_peak

    shelf = tmp_path / "shelf" / "boots"
    shelf.mkdir(parents=True)
    bomb = shelf / "bomb.png"
    _png_bomb(bomb, 13_000)  # 169 megapixels: under Pillow's own error, over edgeport's limit
    assert bomb.stat().st_size < 400_000
    Image.fromarray(test_set[0][0]).save(shelf / "boot.png")
    line = f"{bomb} is 13000x13000 pixels, over the limit of {MAX_PIXELS:,} (EDGEPORT_MAX_PIXELS sets it)"
    peak, predicted = with_peak(EDGEPORT, "predict", exported / "model_int8.tflite", bomb)
    assert predicted.returncode == 1 and predicted.stderr.strip() == f"edgeport predict: error: {line}"
    assert peak < 1024, f"predict peaked at {peak:.0f} MiB"
    peak, scored = with_peak(EDGEPORT, "score", exported / "model_int8.tflite", tmp_path / "shelf", "--out",
                              tmp_path / "s.parquet", "--json")
    assert scored.returncode == 0 and json.loads(scored.stdout)["errors"] == 1 and peak < 1024, peak
    # Labelled data skips an unreadable picture with a warning, as export's --data does.
    peak, evaluated = with_peak(EDGEPORT, "evaluate", exported / "model_int8.tflite", "--data", tmp_path / "shelf")
    assert evaluated.stderr.strip().splitlines()[0] == f"edgeport evaluate: warning: {line}: skipped"
    assert peak < 1024, f"evaluate peaked at {peak:.0f} MiB"


def test_huge_pictures_are_reduced_as_they_are_decoded(exported, tmp_path):
    from tests.conftest import EDGEPORT, with_peak

    # A 48-megapixel JPEG (over the pixel limit, decoded at 1/2 scale: 12 MP) and a 36-megapixel PNG (reduced
    # right after decoding): a dark boot-like block on white, which the model sees framed.
    for name, size in (("wide.jpg", (8000, 6000)), ("big.png", (6000, 6000))):
        picture = Image.new("RGB", size, (255, 255, 255))
        picture.paste((40, 40, 60), (size[0] // 3, size[1] // 3, size[0] // 3 + 1500, size[1] // 3 + 900))
        picture.save(tmp_path / name)
        del picture
        peak, result = with_peak(EDGEPORT, "predict", exported / "model_int8.tflite", tmp_path / name, "--json")
        assert result.returncode == 0, result.stderr
        (row,) = json.loads(result.stdout)
        assert row["inverted"] is True and 0 <= row["confidence"] <= 1
        # Decoded whole and fitted in float, these cost 690 MB (PNG) and 900 MB (JPEG); reduced, under half that.
        assert peak < 512, f"{name}: predict peaked at {peak:.0f} MiB"
        small = runtime.read_picture(tmp_path / name, (28, 28, 1), "dark").pixels
        assert small.shape == (28, 28, 1) and small.max() > 100  # the block, lit up and framed


def test_the_pixel_limit_is_configurable(exported, tmp_path, monkeypatch):
    Image.new("L", (100, 100), 255).save(tmp_path / "small.png")
    monkeypatch.setenv("EDGEPORT_MAX_PIXELS", "5000")
    with pytest.raises(ValueError, match=r"small.png is 100x100 pixels, over the limit of 5,000 "
                                         r"\(EDGEPORT_MAX_PIXELS sets it\)"):
        runtime.read_picture(tmp_path / "small.png", (28, 28, 1), "dark")
    monkeypatch.setenv("EDGEPORT_MAX_PIXELS", "lots")
    with pytest.raises(ValueError, match=r"EDGEPORT_MAX_PIXELS must be a positive whole number of pixels; got 'lots'"):
        runtime.read_picture(tmp_path / "small.png", (28, 28, 1), "dark")


@pytest.mark.parametrize("background", [DARK, MIXED])
def test_a_chunk_of_pictures_is_fitted_as_each_picture_alone(test_set, background):
    """fit_pictures (score's batched path) against fit_picture one by one: pictures at the model's size with a
    dark border and with a light one (inverted and framed), larger and smaller ones, grey and RGB."""
    images, _ = test_set
    rng = np.random.default_rng(0)
    for channels in (1, 3):
        pictures = []
        for i, image in enumerate(images[:24]):
            picture = image if i % 4 else 255 - image  # every fourth on a light background
            size = [(28, 28), (28, 28), (41, 33), (19, 26)][i % 4]
            picture = np.asarray(Image.fromarray(picture).resize(size[::-1]))
            picture = np.repeat(picture[..., None], channels, axis=2)
            if channels == 3:  # colour that is not grey, so luminance is the mean over channels
                picture = np.clip(picture.astype(int) + rng.integers(-20, 20, (1, 1, 3)), 0, 255).astype(np.uint8)
            pictures.append(picture)
        batch = fit_pictures(pictures, (28, 28, channels), background)
        expected = np.stack([fit_picture(p, (28, 28, channels), background).pixels for p in pictures])
        np.testing.assert_array_equal(batch, expected)
        assert np.array_equal(batch[1], pictures[1])  # a dark one at the model's size passes as it is
        # A light one at the model's size is inverted and framed anew by the framing rule, left by the resize rule.
        assert np.array_equal(batch[0], pictures[0]) == (background == MIXED)
        # The borders' median, found in integers, is numpy's median of the float means over channels.
        same = np.stack(pictures[:2] + pictures[4:6])
        means = same.mean(axis=3)
        rings = np.concatenate([means[:, 0], means[:, -1], means[:, :, 0], means[:, :, -1]], axis=1)
        np.testing.assert_array_equal(_border_levels(same), np.median(rings, axis=1))
