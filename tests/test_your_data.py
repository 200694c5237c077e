"""Your model, your data: a user's own 32x32 colour classifier, trained here on generated pictures.

The data set is real pictures on disk: four easy classes of 32x32 RGB patterns (diagonal,
horizontal and vertical stripes, and discs, in random colours with noise), saved as PNG
class folders (train/ and test/) and as an .npz. The model starts with Rescaling(1/255), as
the Keras recipe does, and outputs logits.
"""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from edgeport import export, runtime
from tests.conftest import edgeport, fit, run_cli

CLASSES = ("dbars", "disc", "hbars", "vbars")
TRAIN_PER_CLASS, TEST_PER_CLASS = 100, 150


def _draw(kind: str, rng) -> np.ndarray:
    background = rng.integers(0, 256, 3)
    colour = (background + rng.integers(90, 166, 3)) % 256
    yy, xx = np.mgrid[:32, :32]
    if kind == "disc":
        cy, cx = rng.integers(10, 22, 2)
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= int(rng.integers(5, 9)) ** 2
    else:
        period = int(rng.integers(4, 8))
        axis = {"hbars": yy, "vbars": xx, "dbars": xx + yy}[kind]
        mask = ((axis + int(rng.integers(0, period))) % period) < period // 2
    image = np.where(mask[..., None], colour, background).astype(np.float32) + rng.normal(0, 8, (32, 32, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def _pictures(per_class: int, seed: int):
    rng = np.random.default_rng(seed)
    images = np.stack([_draw(kind, rng) for kind in CLASSES for _ in range(per_class)])
    return images, np.repeat(np.arange(len(CLASSES)), per_class)


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """The user's folder of PNGs, the same data as an .npz, and their trained Keras model."""
    import keras

    root = tmp_path_factory.mktemp("user")
    splits = {"train": _pictures(TRAIN_PER_CLASS, 1), "test": _pictures(TEST_PER_CLASS, 2)}
    for split, (images, labels) in splits.items():
        for i, (image, label) in enumerate(zip(images, labels)):
            folder = root / "photos" / split / CLASSES[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{i:04d}.png")
    (x_train, y_train), (x_test, y_test) = splits["train"], splits["test"]
    np.savez(root / "data.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
             class_names=np.array(CLASSES))
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.GlobalMaxPooling2D(),
        keras.layers.Dense(len(CLASSES)),  # logits
    ])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    fit(model, x_train, y_train, epochs=25)
    model.save(root / "model.keras")
    logits = model.predict(x_test, verbose=0)  # raw pixels: the model rescales them itself
    return {"root": root, "model": root / "model.keras", "photos": root / "photos", "npz": root / "data.npz",
            "x_test": x_test, "y_test": y_test, "logits": logits,
            "keras_accuracy": float(np.mean(logits.argmax(1) == y_test))}


@pytest.fixture(scope="module")
def exported_user(user):
    out = user["root"] / "out"
    out.mkdir()
    (out / "model_old.tflite").write_bytes(b"left here by an export of another model")
    result = edgeport("export", user["model"], "--data", user["photos"], "--out", out)
    return out, runtime.read_manifest(out), result


def test_a_users_model_exports_within_every_bar(user, exported_user):
    out, manifest, result = exported_user
    assert user["keras_accuracy"] >= 0.95  # the generated classes are easy: a broken pipeline shows
    # The whole ladder: the six standard files always, each additional rung built or skipped.
    standard = ["model_fp32.tflite", "model_fp16.tflite", "model_dynamic.tflite", "model_int8.tflite", "model.onnx",
                "model_int8.onnx"]
    assert set(standard) <= set(manifest.files)
    assert sorted(manifest.files.keys() | manifest.skipped.keys()) == sorted(t.filename for t in export.TARGETS)
    assert manifest.recommended.overall in manifest.files
    for name, entry in manifest.files.items():
        if name in standard:
            assert entry.validation.passed, (name, entry.validation.failures)
        assert entry.info.class_names == CLASSES
        assert entry.info.preprocessing == runtime.Preprocessing.raw()
        assert entry.info.output == "logits" and entry.info.background == "mixed"
    assert manifest.source.accuracy == pytest.approx(user["keras_accuracy"])
    assert manifest.data.split == "test" and manifest.data.images == len(CLASSES) * TEST_PER_CLASS
    assert manifest.calibration.split == "train" and not manifest.calibration.overlaps_validation
    # The stray file from another model is named in a warning and left out of the manifest.
    assert "model_old.tflite" not in manifest.files
    assert "warning" in result.stderr and "model_old.tflite" in result.stderr


def test_logits_become_probabilities_in_every_file(user, exported_user):
    out, _, _ = exported_user
    expected = runtime.softmax(user["logits"])
    for name in ("model_fp32.tflite", "model.onnx", "model_int8.tflite"):
        probs = runtime.load(out / name).predict(user["x_test"])
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
        assert np.mean(probs.argmax(1) == expected.argmax(1)) >= 0.985, name
        if not name.endswith("int8.tflite"):
            np.testing.assert_allclose(probs, expected, atol=1e-4)


@pytest.mark.parametrize("data", ["photos/test", "data.npz"])
def test_evaluate_on_the_users_folder_or_npz_gives_the_exported_accuracy(user, exported_user, data):
    out, manifest, _ = exported_user
    result = run_cli("evaluate", out / "model_int8.tflite", "--data", user["root"] / data, "--json")
    figures = json.loads(result.stdout)
    assert figures["n"] == len(CLASSES) * TEST_PER_CLASS
    assert figures["accuracy"] == pytest.approx(manifest.files["model_int8.tflite"].validation.accuracy)


@pytest.mark.parametrize("name", ["model_int8.tflite", "model.onnx"])
def test_a_lone_copy_labels_with_the_folder_names(user, exported_user, tmp_path, name):
    out, _, _ = exported_user
    shutil.copy(out / name, tmp_path / name)  # no manifest.json beside it
    picture = next((user["photos"] / "test" / "disc").glob("*.png"))
    rows = json.loads(run_cli("predict", tmp_path / name, picture, "--json").stdout)
    assert rows[0]["class_name"] == "disc" and 0.0 <= rows[0]["confidence"] <= 1.0
    assert sum(t["probability"] for t in rows[0]["top"]) <= 1.0 + 1e-5


def test_pixels_divided_twice_are_refused_before_any_conversion(user, tmp_path):
    result = edgeport("export", user["model"], "--data", user["photos"], "--out", tmp_path / "out",
                     "--scale", str(1 / 255), check=False)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "no better than chance" in line and "preprocessing" in line and "labels" in line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_32x32_model_without_data_is_refused_naming_data(user, tmp_path):
    result = edgeport("export", user["model"], "--out", tmp_path, check=False)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "--data" in line and "32x32x3" in line
    assert list(tmp_path.iterdir()) == []


def test_class_names_flag_and_calibration_from_a_source_without_splits(user, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("diagonal\nround\nhorizontal\nvertical\n")
    out = tmp_path / "out"
    edgeport("export", user["model"], "--data", user["photos"] / "test", "--class-names", names,
            "--formats", "int8,onnx", "--calibration-samples", "100", "--out", out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["files"]["model.onnx"]["class_names"] == ["diagonal", "round", "horizontal", "vertical"]
    assert manifest["data"]["split"] == "all"
    assert manifest["calibration"] == {"source": str((user["photos"] / "test").resolve()), "split": "all",
                                       "images": 100, "seed": 0, "overlaps_validation": True,
                                       "tuning_images": len(CLASSES) * TEST_PER_CLASS}
    assert runtime.load(out / "model_int8.tflite").class_names[1] == "round"


# --- data sources, without TensorFlow -----------------------------------------------------


def test_a_folder_with_and_without_splits(user):
    split = runtime.load_dataset(user["photos"], (32, 32, 3))
    assert set(split.splits) == {"train", "test"} and split.class_names == CLASSES
    name, test = split.validation
    assert name == "test" and test.images.shape == (600, 32, 32, 3) and test.images.dtype == np.uint8
    np.testing.assert_array_equal(test.images, user["x_test"])  # PNG is lossless; sorted names keep the order
    np.testing.assert_array_equal(test.labels, user["y_test"])
    whole = runtime.load_dataset(user["photos"] / "train", (32, 32, 3))
    assert set(whole.splits) == {"all"} and len(whole.validation[1]) == 400
    # At another size and channel count, pictures are converted and resized.
    grey = runtime.load_dataset(user["photos"] / "train", (16, 16, 1))
    assert grey.validation[1].images.shape == (400, 16, 16, 1)


def test_an_npz_with_splits_or_plain_x_and_y(user, tmp_path):
    data = runtime.load_dataset(user["npz"], (32, 32, 3))
    assert data.class_names == CLASSES and len(data.splits["train"]) == 400
    np.testing.assert_array_equal(data.validation[1].images, user["x_test"])
    np.savez(tmp_path / "plain.npz", x=user["x_test"][:, :, :, 0], y=user["y_test"])  # (N, H, W): one channel
    plain = runtime.load_dataset(tmp_path / "plain.npz")
    assert plain.class_names is None and plain.validation[0] == "all"
    assert plain.validation[1].images.shape == (600, 32, 32, 1)


def _empty_class_folder(d):
    (d / "empty" / "cats").mkdir(parents=True)
    return d / "empty"


def _pictures_without_class_folders(d):
    (d / "flat").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(d / "flat" / "a.png")
    return d / "flat"


def _broken_picture(d):
    (d / "bad" / "cats").mkdir(parents=True)
    (d / "bad" / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return d / "bad"


def _npz(d, name, **arrays):
    np.savez(d / name, **arrays)
    return d / name


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing", r"missing: no such data: expected 'fashion-mnist', a folder of pictures \(class folders "
                              r"give labels\), an .npz or .npy file, or a .parquet file or folder"),
    (_empty_class_folder, r"empty: no pictures \(.png, .*\) in it or its sub-folders"),
    (_pictures_without_class_folders, r"flat: no labels in it \(put each class's pictures in a sub-folder named after it"),
    (_broken_picture, r"broken.png is not a readable picture"),
    (lambda d: _npz(d, "odd.npz", images=np.zeros((2, 4, 4))), r"odd.npz: no labels in it \(expected x and y, or "
                                                               r"x_train and y_train and/or x_test and y_test"),
    (lambda d: _npz(d, "short.npz", x=np.zeros((3, 4, 4), np.uint8), y=np.zeros(2, int)),
     r"x has 3 images but y has 2 labels"),
    (lambda d: _npz(d, "range.npz", x=np.full((2, 4, 4), 300), y=np.zeros(2, int)),
     r"expected uint8 pixels or floats in \[0, 1\]; got int64 values in \[300, 300\]"),
])
def test_bad_data_is_one_clear_error(tmp_path, make, message):
    with pytest.raises(ValueError, match=message):
        runtime.load_dataset(make(tmp_path))


def test_data_that_does_not_fit_the_model_is_refused(user):
    data = runtime.load_dataset(user["npz"], (32, 32, 3))
    with pytest.raises(runtime.DataError, match=r"has 4 classes \(dbars, disc, hbars, vbars\) but the model has 3 outputs"):
        data.check_classes(3)
    unnamed = runtime.Dataset("x.npz", "npz", {"all": runtime.Split(user["x_test"], user["y_test"] + 5)}, None)
    with pytest.raises(runtime.DataError, match=r"labels must be in 0..3 for a model with 4 outputs; got values in \[5, 8\]"):
        unnamed.check_classes(4)
    with pytest.raises(runtime.DataError, match=r"Fashion-MNIST's are 28x28x1: give the model's own data \(--data"):
        runtime.load_dataset("fashion-mnist", (32, 32, 3))


def test_per_channel_mean_and_std_travel_in_the_file_and_are_applied(tmp_path):
    import keras

    from edgeport import export

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(4, activation="softmax")])
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    preprocessing = runtime.Preprocessing.from_mean_std(mean, std)
    info = export.model_info(model, CLASSES, preprocessing)
    images = np.random.default_rng(4).integers(0, 256, (300, 32, 32, 3), dtype=np.uint8)
    normalized = ((images / 255.0 - np.array(mean)) / np.array(std)).astype(np.float32)
    expected = model.predict(normalized, verbose=0)
    export.to_tflite(model, tmp_path / "m.tflite", info=info)
    export.to_onnx(model, tmp_path / "m.onnx", info=info)
    export.to_tflite(model, tmp_path / "m8.tflite", "int8", images[:100], info=info)
    for name, tolerance in (("m.tflite", 1e-4), ("m.onnx", 1e-4), ("m8.tflite", 0.05)):
        predictor = runtime.load(tmp_path / name)
        assert predictor.preprocessing == preprocessing and predictor.class_names == CLASSES
        probs = predictor.predict(images)
        np.testing.assert_allclose(probs, expected, atol=tolerance, err_msg=name)
        # Floats keep their meaning, pixel intensities in [0, 1], whatever the preprocessing.
        np.testing.assert_allclose(predictor.predict(images / 255.0), probs, atol=max(1e-5, tolerance / 5), err_msg=name)


def test_a_second_export_into_the_same_folder_says_who_holds_it(user, tmp_path):
    import os

    from edgeport.export import ExportPlan, export_all
    from edgeport.export.folderlock import folder_lock

    data = runtime.load_dataset(user["npz"], (32, 32, 3))
    with folder_lock(tmp_path, "model_a.keras", None, print):
        with pytest.raises(TimeoutError, match=rf"is being written by the export of model_a.keras \(pid {os.getpid()},"):
            export_all(user["model"], tmp_path, data, ExportPlan.from_formats("onnx", lock_timeout=0))
    assert not (tmp_path / "model.onnx").exists()
    manifest = export_all(user["model"], tmp_path, data, ExportPlan.from_formats("onnx", lock_timeout=0))  # released
    assert list(manifest.files) == ["model.onnx"]
