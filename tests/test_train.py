"""The tutorial, trained: the seed model through `edgeport train`, the CNN, and the CLI."""

import json

import numpy as np
import pytest
from PIL import Image

from tests.conftest import edgeport, run_cli
from edgeport.train.plots import TUTORIAL_PLOTS


def test_seed_model_reaches_tutorial_accuracy(seed_dir):
    history = json.loads((seed_dir / "history.json").read_text())
    assert history["test_accuracy"] >= 0.86  # the tutorial reports 0.8749
    assert history["params"] == 101_770  # 784*128+128 + 128*10+10
    for key in ("accuracy", "loss", "val_accuracy", "val_loss"):
        assert len(history[key]) == 5, key
    assert history["val_accuracy"][-1] == pytest.approx(history["test_accuracy"], abs=1e-6)
    assert history["loss"][-1] < history["loss"][0]


def test_saved_model_is_the_seed_architecture(seed_dir):
    import keras

    model = keras.models.load_model(seed_dir / "model.keras")
    assert [type(layer).__name__ for layer in model.layers] == ["Flatten", "Dense", "Dense"]
    assert model.layers[1].units == 128 and model.layers[1].activation.__name__ == "relu"
    assert model.layers[2].units == 10 and model.layers[2].activation.__name__ == "softmax"
    assert model.input_shape == (None, 28, 28)


@pytest.mark.parametrize("name", sorted(TUTORIAL_PLOTS.values()))
def test_each_tutorial_plot_is_a_real_png(seed_dir, name):
    with Image.open(seed_dir / name) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert width >= 300 and height >= 250
    # Not a blank canvas: a drawn figure has many distinct colours.
    pixels = np.asarray(Image.open(seed_dir / name).convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20


def test_seeded_training_is_repeatable(tmp_path):
    from edgeport.train import train

    weights = []
    for run in ("a", "b"):
        model, _ = train(epochs=1, out_dir=tmp_path / run, seed=3, train_limit=1000, plots=False)
        weights.append(model.get_weights())
    for first, second in zip(*weights):
        np.testing.assert_array_equal(first, second)


def test_cnn_batches_mirror_about_half_the_images_anew_each_epoch():
    from edgeport.train.training import _mirrored_batches

    x = np.random.default_rng(0).random((1000, 28, 28)).astype(np.float32)
    y = np.arange(1000)
    batches = _mirrored_batches(x, y, 64, seed=0)
    assert len(batches) == 16  # 1000 / 64, rounded up

    def epoch():
        flipped, seen = [], []
        for i in range(len(batches)):
            images, labels = batches[i]
            for image, label in zip(images, labels):
                assert np.array_equal(image, x[label]) or np.array_equal(image, x[label][:, ::-1])
                flipped.append(not np.array_equal(image, x[label]))
            seen.extend(labels.tolist())
        return np.array(flipped), seen

    first, seen = epoch()
    assert sorted(seen) == list(range(1000)) and seen != list(range(1000))  # every image once, shuffled
    assert 0.4 < first.mean() < 0.6
    batches.on_epoch_end()
    second, _ = epoch()
    assert 0.4 < second.mean() < 0.6 and (first != second).any()


def test_build_model_rejects_unknown_arch():
    from edgeport.train import build_model

    with pytest.raises(ValueError, match="arch must be one of mlp, cnn; got 'resnet'"):
        build_model("resnet")


def test_cli_help_describes_the_flags():
    result = run_cli("train", "--help")
    for flag in ("--arch", "--epochs", "--batch-size", "--seed", "--out", "--data-dir"):
        assert flag in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--epochs", "zero"], "argument --epochs: expected a whole number; got 'zero'"),
    (["--epochs", "0"], "argument --epochs: expected a number >= 1; got 0"),
    (["--arch", "vgg"], "argument --arch: invalid choice: 'vgg'"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_cli_bad_flag_is_one_line_and_exit_2(args, message):
    result = run_cli("train", *args, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_cli_missing_dataset_is_one_line(tmp_path):
    result = edgeport("train", "--data-dir", str(tmp_path), "--out", str(tmp_path / "out"), check=False)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Fashion-MNIST not found in" in lines[0], result.stderr
    assert not (tmp_path / "out" / "model.keras").exists()
