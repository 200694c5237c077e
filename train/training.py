"""Train a classifier on Fashion-MNIST the way the tutorial does, and save what it made."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from edgeport import runtime
from edgeport.runtime.files import atomic_path, write_text_atomic
from edgeport.train.model import build_model

HISTORY_KEYS = ("accuracy", "loss", "val_accuracy", "val_loss")
STEPS_PER_EXECUTION = 32


@dataclass(frozen=True)
class Recipe:
    """How an architecture is trained by default.

    The MLP follows the tutorial exactly: adam at its default rate, 5 epochs, batches of 32.
    The CNN needs more to pass 92 %: 10 epochs of batches of 64, a learning rate decaying from
    2e-3 to 0 on a cosine, and each training image mirrored left-right with probability 1/2
    (clothes are symmetric; the test images are never changed).
    """

    epochs: int
    batch_size: int
    learning_rate: float | None = None  # None: adam's default, constant
    flips: bool = False


RECIPES = {"mlp": Recipe(epochs=5, batch_size=32), "cnn": Recipe(epochs=10, batch_size=64, learning_rate=2e-3, flips=True)}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; written into history.json."""

    arch: str = "mlp"
    epochs: int = 5
    batch_size: int = 32
    seed: int = 0
    train_limit: int | None = None  # first N training images only (quick checks)
    learning_rate: float | None = None  # cosine decay from this rate over the run; None: adam's default
    flips: bool = False  # mirror training images left-right at random


def train(
    epochs: int | None = None,
    arch: str = "mlp",
    out_dir: str | os.PathLike = "artifacts",
    seed: int = 0,
    batch_size: int | None = None,
    data_dir: str | os.PathLike | None = None,
    train_limit: int | None = None,
    plots: bool = True,
    progress: Callable[[str], None] | None = None,
):
    """Train, evaluate and save a Fashion-MNIST classifier, as the TensorFlow tutorial does.

    Compiles with adam / sparse categorical crossentropy / accuracy, shows the summary, fits
    with the test set as validation data, reports the test accuracy, and writes
    out_dir/model.keras, out_dir/history.json and (with plots) the tutorial's pictures.
    Prints nothing itself: the summary, one line per epoch and the test accuracy go to progress.

    Args:
        epochs, batch_size: default to the architecture's recipe (RECIPES): 5 and 32 for the mlp.
        progress: called with each report line (the summary is one multi-line string); None for silence.

    Returns:
        (model, history): the trained Keras model and the history dict written to history.json.

    Raises:
        ValueError: a bad arch, epochs or batch_size. DatasetError: the dataset is missing.
    """
    recipe = RECIPES.get(arch, RECIPES["mlp"])  # an unknown arch is refused by build_model
    config = TrainConfig(arch, recipe.epochs if epochs is None else epochs,
                         recipe.batch_size if batch_size is None else batch_size, seed, train_limit,
                         recipe.learning_rate, recipe.flips)
    epochs, batch_size = config.epochs, config.batch_size
    for name in ("epochs", "batch_size"):
        value = getattr(config, name)
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive whole number; got {value!r}")
    out = Path(out_dir)
    data = runtime.load_dataset(runtime.FASHION_MNIST, (28, 28, 1), data_dir)  # the data layer every stage reads
    (train_images, train_labels), (test_images, test_labels) = (
        (data.splits[split].images[..., 0], data.splits[split].labels) for split in ("train", "test"))
    if train_limit:
        train_images, train_labels = train_images[:train_limit], train_labels[:train_limit]

    import keras

    keras.utils.set_random_seed(seed)
    model = build_model(arch)
    # steps_per_execution runs that many batches per call into TensorFlow: the same updates in the same order
    # (the weights come out identical), without Python's overhead on every batch of 32 (training twice as fast).
    model.compile(optimizer=_optimizer(config, len(train_images)), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], steps_per_execution=STEPS_PER_EXECUTION)
    say = progress or (lambda line: None)
    model.summary(print_fn=say)
    x_train = runtime.preprocess(train_images).reshape((-1, *model.input_shape[1:]))
    x_test = runtime.preprocess(test_images).reshape((-1, *model.input_shape[1:]))

    started = time.perf_counter()
    if config.flips:
        inputs = {"x": _mirrored_batches(x_train, train_labels, batch_size, seed)}
    else:
        inputs = {"x": x_train, "y": train_labels, "batch_size": batch_size}
    fit = model.fit(**inputs, epochs=epochs, validation_data=(x_test, test_labels), verbose=0,
                    callbacks=[_epoch_lines(epochs, say)])
    seconds = time.perf_counter() - started
    test_loss, test_accuracy = model.evaluate(x_test, test_labels, verbose=0)
    say(f"Test Accuracy : {test_accuracy:.4f}")

    history = {key: [float(v) for v in fit.history[key]] for key in HISTORY_KEYS}
    history.update(
        config=asdict(config), test_accuracy=float(test_accuracy), test_loss=float(test_loss),
        train_seconds=round(seconds, 2), params=int(model.count_params()),
    )
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "model.keras") as tmp:
        model.save(tmp)
    write_text_atomic(out / "history.json", json.dumps(history, indent=2) + "\n")
    if plots:
        from edgeport.train.plots import save_tutorial_plots

        probabilities = model.predict(x_test, verbose=0)
        save_tutorial_plots(out, train_images, train_labels, test_images, test_labels, probabilities, history)
    return model, history


def _optimizer(config: TrainConfig, images: int):
    import keras

    if config.learning_rate is None:
        return "adam"
    steps = config.epochs * -(-images // config.batch_size)
    return keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(config.learning_rate, steps))


def _mirrored_batches(x, y, batch_size: int, seed: int):
    """Shuffled batches of (x, y), each image mirrored left-right with probability 1/2, new draws every epoch."""
    import keras
    import numpy as np

    class Mirrored(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self._rng = np.random.default_rng(seed)
            self._shuffle()

        def _shuffle(self):
            self._order = self._rng.permutation(len(x))
            self._flip = self._rng.random(len(x)) < 0.5

        def __len__(self):
            return -(-len(x) // batch_size)

        def __getitem__(self, i):
            rows = self._order[i * batch_size : (i + 1) * batch_size]
            images = x[rows].copy()
            flip = self._flip[rows]
            images[flip] = images[flip][:, :, ::-1]
            return images, y[rows]

        def on_epoch_end(self):
            self._shuffle()

    return Mirrored()


def _epoch_lines(epochs: int, say: Callable[[str], None]):
    """A Keras callback that reports each finished epoch as one line (Keras' own bar needs a terminal)."""
    import keras

    def line(epoch, logs):
        figures = "  ".join(f"{key} {logs[key]:.4f}" for key in HISTORY_KEYS if key in logs)
        say(f"Epoch {epoch + 1}/{epochs}  {figures}")

    return keras.callbacks.LambdaCallback(on_epoch_end=line)
