"""The report's figures. Each takes plain numbers (from manifest.json and bench.json) and returns
a matplotlib Figure; save_figure writes one as PNG."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)
import numpy as np  # noqa: E402

from edgeport.runtime.files import atomic_path  # noqa: E402

FORMAT_COLOURS = {"keras": "tab:gray", "tflite": "tab:blue", "onnx": "tab:orange"}


def save_figure(fig, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Write fig as a PNG file, whole or not at all, and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    plt.close(fig)
    return Path(path)


def plot_size_vs_accuracy(points: list[dict], keras_accuracy: float, budget_pt: float | None = None,
                          recommended: str | None = None):
    """The frontier: one labelled point per file, size (KB, log scale) against validation accuracy.

    points: dicts with name, format, kb, accuracy, passed (within its bar and the budget; hollow when
    not) and unsettled (a hollow diamond: the validation images cannot tell). The budget band and the
    recommended file are marked when given.
    """
    fig, ax = plt.subplots(figsize=(9, 5.5))
    if budget_pt is not None:
        ax.axhspan(100 * keras_accuracy - budget_pt, 100, color="tab:green", alpha=0.12,
                   label=f"within the budget: at most {budget_pt:g} pt below Keras")
    for p in points:
        colour = FORMAT_COLOURS[p["format"]]
        ax.scatter(p["kb"], 100 * p["accuracy"], s=60, zorder=3, edgecolors=colour,
                   facecolors=colour if p.get("passed", True) else "none",
                   marker="D" if p.get("unsettled") and not p.get("passed", True) else "o")
        if p["name"] == recommended:
            ax.scatter(p["kb"], 100 * p["accuracy"], s=320, facecolors="none", edgecolors="tab:green", linewidths=2,
                       zorder=4, label=f"recommended: {p['name']}")

    ax.axhline(100 * keras_accuracy, color="tab:gray", linestyle="--", linewidth=1, label=f"Keras {100 * keras_accuracy:.2f} %")
    for fmt, colour in FORMAT_COLOURS.items():
        if fmt != "keras" and any(p["format"] == fmt for p in points):
            ax.scatter([], [], color=colour, label=fmt.upper() if fmt == "onnx" else "TFLite")
    missed = [p for p in points if not p.get("passed", True)]
    if any(not p.get("unsettled") for p in missed):
        ax.scatter([], [], facecolors="none", edgecolors="tab:gray", label="missed its bar or the budget")
    if any(p.get("unsettled") for p in missed):
        ax.scatter([], [], marker="D", facecolors="none", edgecolors="tab:gray",
                   label="cannot tell yet (too few images)")
    ax.set_xscale("log")
    ax.set_xlabel("File size (KB, log scale)")
    ax.set_ylabel("Validation accuracy (%)")
    near = [100 * p["accuracy"] for p in points if p["accuracy"] >= keras_accuracy - 0.05] + [100 * keras_accuracy]
    ax.set_ylim(min(near) - max(0.3, budget_pt or 0) - 0.2, max(near) + 0.3)  # far misses sit below, named
    below = [f"{p['name']} {100 * p['accuracy']:.1f} %" for p in points if 100 * p["accuracy"] < ax.get_ylim()[0]]
    if below:
        ax.text(0.01, 0.02, "below the plot: " + ", ".join(below), transform=ax.transAxes, fontsize=7, color="tab:red")
    kbs = [p["kb"] for p in points]
    ax.set_xlim(min(kbs) / 1.5, max(kbs) * 2.5)
    ax.set_title("The frontier: size against accuracy (validation data)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    _label_points(fig, ax, [p for p in points if ax.get_ylim()[0] <= 100 * p["accuracy"]], recommended)  # final layout
    return fig


LAYERS_SHOWN = 20


def plot_layer_error(layers: dict[str, list[dict]], shown: int = LAYERS_SHOWN):
    """Per-layer SQNR (dB) of each searched file's probes, for the layers that cost the most.

    One row per layer (the shown layers with the lowest SQNR in any file, most sensitive on top),
    one bar per file, so the figure keeps its size whatever the network's depth.

    layers: {file name: [{"layer", "sqnr_db"}]} as the manifest records them, the layer names
    already matched across formats.
    """
    lowest = {}
    for scores in layers.values():
        for s in scores:
            lowest[s["layer"]] = min(lowest.get(s["layer"], np.inf), s["sqnr_db"])
    names = sorted(lowest, key=lowest.get)[:shown]
    prefix = os.path.commonprefix([n.rsplit("/", 1)[0] + "/" for n in names]) if len(names) > 1 else ""
    prefix = prefix[:prefix.rfind("/") + 1]
    height = 0.8 / len(layers)
    fig, ax = plt.subplots(figsize=(10, min(26, 0.28 * len(names) * len(layers) + 1.8)))
    for k, (file, scores) in enumerate(layers.items()):
        by_layer = {s["layer"]: s["sqnr_db"] for s in scores}
        ax.barh(np.arange(len(names)) + k * height, [by_layer.get(n, np.nan) for n in names], height, label=file)
    ax.set_yticks(np.arange(len(names)) + 0.4 - height / 2, [n[len(prefix):] for n in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("Output SQNR with only this layer quantized (dB)")
    hidden = len(lowest) - len(names)
    ax.set_title(f"Per-layer error: the {len(names)} most sensitive layers" + (f" of {len(lowest)}" if hidden else "")
                 + (f"\n(names under {prefix})" if prefix else ""), fontsize=10)
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def _label_points(fig, ax, points: list[dict], ringed: str | None = None) -> None:
    """Name each point with a leader line to it, at the first spot around it (nearest first) where the label
    covers no other label and no point (nor the ring around the recommended one): a label is never read as
    another point's."""
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    radius = 6  # pixels around a marker that a label may not cover
    centres = {id(p): ax.transData.transform((p["kb"], 100 * p["accuracy"])) for p in points}
    placed = [Bbox.from_extents(x - radius, y - radius, x + radius, y + radius) for x, y in centres.values()]
    placed += [Bbox.from_extents(x - 3 * radius, y - 3 * radius, x + 3 * radius, y + 3 * radius)
               for p in points if p["name"] == ringed for x, y in [centres[id(p)]]]
    spots = [(dx * step, dy * step) for step in (8, 16, 26, 38, 52) for dx, dy in
             ((1, 1), (1, -1.6), (-1, 1), (-1, -1.6), (0, 2), (0, -2.6), (1.6, 0), (-1.6, 0))]
    for p in sorted(points, key=lambda p: (p["kb"], p["accuracy"])):
        for dx, dy in spots:
            label = ax.annotate(p["name"], (p["kb"], 100 * p["accuracy"]), textcoords="offset points", xytext=(dx, dy),
                                fontsize=8, ha="left" if dx >= 0 else "right", va="center",
                                arrowprops={"arrowstyle": "-", "color": "0.45", "linewidth": 0.6, "shrinkA": 0,
                                            "shrinkB": 4})
            label.update_positions(renderer)
            box = Text.get_window_extent(label, renderer)  # the words alone, not the leader line
            if not any(box.overlaps(other) for other in placed):
                break
            label.remove()
        else:  # nowhere free: the first spot, its leader line still names the point
            label = ax.annotate(p["name"], (p["kb"], 100 * p["accuracy"]), textcoords="offset points",
                                xytext=spots[0], fontsize=8, va="center",
                                arrowprops={"arrowstyle": "-", "color": "0.45", "linewidth": 0.6, "shrinkB": 4})
            label.update_positions(renderer)
            box = Text.get_window_extent(label, renderer)
        placed.append(box)


def plot_latency(rows: list[dict]):
    """Single-image p50 latency per row (log scale), with p99 marked; Keras rows included.

    rows: dicts with name, p50_ms, p99_ms, format.
    """
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.4))
    names = [r["name"] for r in rows]
    y = np.arange(len(rows))
    ax.barh(y, [r["p50_ms"] for r in rows], color=[FORMAT_COLOURS[r["format"]] for r in rows], label="p50")
    ax.scatter([r["p99_ms"] for r in rows], y, marker="|", s=200, color="black", label="p99", zorder=3)
    for yi, r in zip(y, rows):
        # The value stands right of the p99 tick, so the two never overlap.
        ax.annotate(f"p50 {format_ms(r['p50_ms'])}", (max(r["p50_ms"], r["p99_ms"]), yi), textcoords="offset points",
                    xytext=(8, -3), fontsize=8)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    slowest = max(max(r["p50_ms"], r["p99_ms"]) for r in rows)
    ax.set_xlim(right=slowest * 20)  # room for the value labels
    ax.set_xlabel("Single-image latency (ms, log scale)")
    ax.set_title("Single-image latency: bar = median (p50), tick = p99")
    ax.grid(alpha=0.3, axis="x", which="both")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def plot_confusion(matrix, class_names, title: str):
    """Counts with true class on rows and predicted class on columns."""
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    shown = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04, label="Images")
    _label_cells(ax, matrix, lambda v: str(v) if v else "")
    _class_axes(ax, class_names, "Predicted class", "True class")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_changed_matrices(changed: dict[str, np.ndarray], class_names):
    """For each file, where its predicted class differs from Keras: Keras class (rows) -> file class (columns)."""
    count = len(changed)
    columns = min(2, count)
    rows = int(np.ceil(count / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(7 * columns, 6.2 * rows), squeeze=False)
    for ax, (name, matrix) in zip(axes.flat, changed.items()):
        ax.imshow(matrix, cmap="Oranges", vmin=0, vmax=max(1, matrix.max()))
        _label_cells(ax, matrix, lambda v: str(v) if v else "")
        _class_axes(ax, class_names, f"{name} class", "Keras class")
        ax.set_title(f"{name}: {int(matrix.sum())} images changed class")
    for ax in list(axes.flat)[count:]:
        ax.axis("off")
    fig.suptitle("Changed predictions against the Keras model")
    fig.tight_layout(rect=(0, 0, 1, 0.95))  # the subplot titles stay below the overall one
    return fig


def plot_per_class(accuracies: dict[str, list[float]], class_names):
    """Per-class accuracy of every model/file as an annotated heat map (rows: formats)."""
    names = list(accuracies)
    values = 100 * np.array([accuracies[n] for n in names])
    fig, ax = plt.subplots(figsize=(11, 0.5 * len(names) + 2.2))
    shown = ax.imshow(values, cmap="viridis", aspect="auto")
    fig.colorbar(shown, ax=ax, label="Accuracy (%)", fraction=0.03, pad=0.02)
    # viridis is dark at the low end: white text there, black on the bright high end.
    _label_cells(ax, values, lambda v: f"{v:.1f}", threshold=values.min() + 0.5 * (values.max() - values.min()),
                 dark_high=False)
    ax.set_xticks(range(len(class_names)), class_names, rotation=30, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("True class")
    ax.set_title("Per-class validation accuracy (%) by format")
    fig.tight_layout()
    return fig


def plot_samples(images, labels, class_names, per_class: int = 4, max_classes: int = 10):
    """A few validation images of each class (up to max_classes), one row per class."""
    classes = [c for c in range(len(class_names)) if np.any(labels == c)][:max_classes]
    fig, axes = plt.subplots(len(classes), per_class, figsize=(1.3 * per_class + 1.6, 1.3 * len(classes) + 0.4),
                             squeeze=False)
    for row, c in zip(axes, classes):
        picks = np.flatnonzero(labels == c)[:per_class]
        for ax in row:
            ax.axis("off")
        for ax, index in zip(row, picks):
            _show(ax, images[index])
        row[0].text(-0.1, 0.5, class_names[c], transform=row[0].transAxes, ha="right", va="center", fontsize=9)
    fig.tight_layout()
    return fig


def _show(ax, image) -> None:
    """A uint8 picture as the files saw it: grey 0 black and 255 white (not the tutorial's inverted binary map),
    colour as it is."""
    grey = image.ndim == 3 and image.shape[2] == 1
    ax.imshow(image[..., 0] if grey else image, cmap="gray", vmin=0, vmax=255)


def plot_flips(images, indices, keras_classes, file_classes, class_names, name: str, total: int):
    """Up to 12 validation images whose class the file changed: Keras class -> file class."""
    shown = len(indices)
    columns = min(6, max(1, shown))
    rows = max(1, int(np.ceil(shown / columns)))
    fig, axes = plt.subplots(rows, columns, figsize=(2.1 * columns, 2.5 * rows + 0.6), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, index, before, after in zip(axes.flat, indices, keras_classes, file_classes):
        _show(ax, images[index])
        ax.set_title(f"#{index}\nKeras: {class_names[before]}\n{name.split('.')[0]}: {class_names[after]}", fontsize=8)
    fig.suptitle(f"{name}: {total} validation images changed class" + (f" (first {shown} shown)" if total > shown else ""))
    fig.tight_layout()
    return fig


def _label_cells(ax, values, text, threshold=None, dark_high=True):
    """Write text(v) in each cell, white on dark cells and black on light ones."""
    values = np.asarray(values)
    threshold = values.max() / 2 if threshold is None else threshold
    for (i, j), v in np.ndenumerate(values):
        label = text(v)
        if label:
            dark = v > threshold if dark_high else v < threshold
            ax.text(j, i, label, ha="center", va="center", fontsize=7, color="white" if dark else "black")


def _class_axes(ax, class_names, xlabel, ylabel):
    ticks = range(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def format_ms(value: float) -> str:
    """Milliseconds as a person reads them: µs below one millisecond."""
    return f"{value * 1000:.0f} µs" if value < 1 else f"{value:.1f} ms"
