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


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; written into history.json."""

    arch: str = "mlp"
    epochs: int = 5
    batch_size: int = 32
    seed: int = 0
    train_limit: int | None = None  # first N training images only (quick checks)


def train(
    epochs: int = 5,
    arch: str = "mlp",
    out_dir: str | os.PathLike = "artifacts",
    seed: int = 0,
    batch_size: int = 32,
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
        progress: called with each report line (the summary is one multi-line string); None for silence.

    Returns:
        (model, history): the trained Keras model and the history dict written to history.json.

    Raises:
        ValueError: a bad arch, epochs or batch_size. DatasetError: the dataset is missing.
    """
    config = TrainConfig(arch, epochs, batch_size, seed, train_limit)
    for name in ("epochs", "batch_size"):
        value = getattr(config, name)
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive whole number; got {value!r}")
    out = Path(out_dir)
    train_images, train_labels = runtime.load_fashion_mnist("train", data_dir)
    test_images, test_labels = runtime.load_fashion_mnist("test", data_dir)
    if train_limit:
        train_images, train_labels = train_images[:train_limit], train_labels[:train_limit]

    import keras

    keras.utils.set_random_seed(seed)
    model = build_model(arch)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    say = progress or (lambda line: None)
    model.summary(print_fn=say)
    x_train = runtime.preprocess(train_images).reshape((-1, *model.input_shape[1:]))
    x_test = runtime.preprocess(test_images).reshape((-1, *model.input_shape[1:]))

    started = time.perf_counter()
    fit = model.fit(
        x_train, train_labels, epochs=epochs, batch_size=batch_size,
        validation_data=(x_test, test_labels), verbose=0, callbacks=[_epoch_lines(epochs, say)],
    )
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


def _epoch_lines(epochs: int, say: Callable[[str], None]):
    """A Keras callback that reports each finished epoch as one line (Keras' own bar needs a terminal)."""
    import keras

    def line(epoch, logs):
        figures = "  ".join(f"{key} {logs[key]:.4f}" for key in HISTORY_KEYS if key in logs)
        say(f"Epoch {epoch + 1}/{epochs}  {figures}")

    return keras.callbacks.LambdaCallback(on_epoch_end=line)
