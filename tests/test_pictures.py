"""Real pictures: EXIF rotation, transparency, 16-bit depth, and photos of Fashion-MNIST objects.

The photos are made here from test images the way shops shoot products (a dark garment on
white, large, off-centre, JPEG; or a cut-out on a transparent background) and must get the
answer the model gives on the 28x28 original.
"""

import numpy as np
import pytest
from PIL import Image

from edgeport import runtime
from edgeport.runtime.images import DARK, MIXED, fit_picture


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
