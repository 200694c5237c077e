"""The tutorial's pictures. Each function takes arrays and returns a matplotlib Figure, so the
report can reuse them; save_figure writes one as PNG (Agg backend, no window)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)
import numpy as np  # noqa: E402

from edgeport import runtime  # noqa: E402
from edgeport.runtime.files import atomic_path  # noqa: E402

RIGHT, WRONG = "tab:blue", "tab:red"

# File names under artifacts/, shared with the report.
TUTORIAL_PLOTS = {
    "first_image": "first_image.png",
    "samples": "samples.png",
    "training_curves": "training_curves.png",
    "predictions": "predictions.png",
    "single_prediction": "single_prediction.png",
}


def save_figure(fig, path: str | os.PathLike, dpi: int = 100) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    plt.close(fig)
    return Path(path)


def plot_first_image(image: np.ndarray):
    """One image with a colour bar of its pixel values."""
    fig, ax = plt.subplots(figsize=(4, 3.4))
    shown = ax.imshow(image, cmap="viridis")
    fig.colorbar(shown, ax=ax)
    ax.grid(False)
    ax.set_title("First training image (pixel values)")
    return fig


def plot_samples(images: np.ndarray, labels: np.ndarray, class_names=runtime.CLASS_NAMES, count: int = 25):
    """The first `count` images in a square grid, each titled with its class name."""
    side = int(np.ceil(np.sqrt(count)))
    fig, axes = plt.subplots(side, side, figsize=(2 * side, 2.1 * side))
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= min(count, len(images)):
            ax.axis("off")
            continue
        ax.imshow(images[i], cmap=plt.cm.binary)
        ax.set_xlabel(class_names[labels[i]])
    fig.tight_layout()
    return fig


def plot_history(history: dict):
    """Training and validation accuracy, and loss, per epoch, side by side."""
    epochs = np.arange(1, len(history["accuracy"]) + 1)
    fig, (acc, loss) = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, title in ((acc, "accuracy", "Accuracy"), (loss, "loss", "Loss")):
        ax.plot(epochs, history[key], "o-", label=f"Training {key}")
        ax.plot(epochs, history[f"val_{key}"], "s--", label=f"Validation {key}")
        ax.set_title(f"Training and validation {key}")
        ax.set_xlabel("Epoch")
        ax.set_ylabel(title)
        ax.set_xticks(epochs)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def _draw_image(ax, image, probabilities, true_label, class_names):
    predicted = int(np.argmax(probabilities))
    ax.imshow(image, cmap=plt.cm.binary)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(
        f"{class_names[predicted]} {100 * probabilities[predicted]:.0f}%\n(true: {class_names[true_label]})",
        color=RIGHT if predicted == true_label else WRONG,
    )


def _draw_bars(ax, probabilities, true_label, class_names=None):
    predicted = int(np.argmax(probabilities))
    bars = ax.bar(range(len(probabilities)), probabilities, color="#999999")
    ax.set_ylim(0, 1)
    bars[predicted].set_color(WRONG)
    bars[true_label].set_color(RIGHT)
    ax.set_ylabel("Probability")
    if class_names is None:
        ax.set_xticks(range(len(probabilities)))
    else:
        ax.set_xticks(range(len(probabilities)), class_names, rotation=45, ha="right")


def plot_predictions(images, labels, probabilities, class_names=runtime.CLASS_NAMES, count: int = 6, columns: int = 3):
    """Each image with its predicted class and confidence beside a bar chart of its probabilities.

    Blue means right, red wrong; in the bars, the red bar is the prediction, the blue one the truth.
    """
    count = min(count, len(images))
    rows = int(np.ceil(count / columns))
    fig, axes = plt.subplots(rows, 2 * columns, figsize=(4.2 * columns, 2.6 * rows), squeeze=False)
    for i in range(rows * columns):
        image_ax, bar_ax = axes[i // columns, 2 * (i % columns)], axes[i // columns, 2 * (i % columns) + 1]
        if i >= count:
            image_ax.axis("off")
            bar_ax.axis("off")
            continue
        _draw_image(image_ax, images[i], probabilities[i], int(labels[i]), class_names)
        _draw_bars(bar_ax, probabilities[i], int(labels[i]))
    fig.suptitle("Predictions (blue: right, red: wrong); bars: red = predicted, blue = true class")
    fig.tight_layout()
    return fig


def plot_single_prediction(image, probabilities, true_label: int, class_names=runtime.CLASS_NAMES):
    """One image and its probabilities, with the class names on the x axis."""
    fig, (image_ax, bar_ax) = plt.subplots(1, 2, figsize=(9, 3.6), gridspec_kw={"width_ratios": [1, 2.4]})
    _draw_image(image_ax, image, probabilities, true_label, class_names)
    _draw_bars(bar_ax, probabilities, true_label, class_names)
    bar_ax.set_title("Single-image prediction (a batch of one)")
    fig.tight_layout()
    return fig


def save_tutorial_plots(out_dir, train_images, train_labels, test_images, test_labels, probabilities, history) -> dict:
    """Draw and save the tutorial's five pictures; returns {name: path}."""
    out = Path(out_dir)
    figures = {
        "first_image": plot_first_image(train_images[0]),
        "samples": plot_samples(train_images, train_labels),
        "training_curves": plot_history(history),
        "predictions": plot_predictions(test_images, test_labels, probabilities),
        "single_prediction": plot_single_prediction(test_images[0], probabilities[0], int(test_labels[0])),
    }
    return {name: save_figure(fig, out / TUTORIAL_PLOTS[name]) for name, fig in figures.items()}
