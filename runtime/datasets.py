"""A labelled data set in memory: what export and evaluate hold, read through the data layer.

A Dataset is a view of a source opened by runtime/sources.py: each split's stream read whole,
fitted to the model by its picture rule. There is no second reader here. numpy and Pillow only,
so that a device can evaluate too.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np

from edgeport.runtime.errors import DataError
from edgeport.runtime.images import Fitting, fitting, image_background
from edgeport.runtime.sources import ALL, FASHION_MNIST, TRAIN, Source, Stream, open_source, text_name

AUTO = "auto"  # tell the fitting rule from the data's own pictures (what export does)
_READ_CHUNK = 1000
_BACKGROUND_SAMPLE = 200


@dataclass(frozen=True)
class Split:
    """Images uint8 (N, H, W, C) and their labels int64 (N,); unreadable: pictures skipped, each one's error."""

    images: np.ndarray
    labels: np.ndarray
    unreadable: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Dataset:
    """A labelled data set, as export and evaluate take it.

    Attributes:
        source: what was read ("fashion-mnist", or the resolved path of a folder or file).
        kind: "fashion-mnist", "folder", "npz", "npy" or "parquet".
        splits: {"train": Split, "test": Split}, either alone, or {"all": Split}.
        class_names: from the source (folder names, the npz's class_names, Fashion-MNIST's), else None.
        background: the training-style background its pictures were fitted by ("dark" or "mixed";
            None: fitted by a plain resize, the rule for a model that records none).
        fit: the rule that fitted its pictures ("frame" or "resize"; None: the background's default).
        fit_found: why that rule, when export chose it between the two on the model's own answers.
    """

    source: str
    kind: str
    splits: dict
    class_names: tuple[str, ...] | None
    background: str | None = None
    fit: str | None = None
    fit_found: str | None = None

    @property
    def fitting(self) -> Fitting:
        """The rule and background its pictures were fitted by (a Fitting)."""
        return fitting(self.background, self.fit)

    @property
    def validation(self) -> tuple[str, Split]:
        """(split name, split) that validation runs on: the test split, else the only one there is."""
        name = "test" if "test" in self.splits else next(iter(self.splits))
        return name, self.splits[name]

    @property
    def calibration(self) -> tuple[str, Split]:
        """(split name, split) that calibrates quantized files: the train split, else the only one there is."""
        name = TRAIN if TRAIN in self.splits else next(iter(self.splits))
        return name, self.splits[name]

    @property
    def unreadable(self) -> int:
        """How many unreadable pictures the splits read left out."""
        return sum(len(split.unreadable) for split in self.splits.values())

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(next(iter(self.splits.values())).images.shape[1:])

    def check_classes(self, num_classes: int) -> None:
        """Refuse data whose labels or class names do not fit a model with num_classes outputs.

        Raises:
            DataError: a class count or a label that the model cannot have.
        """
        if self.class_names is not None and len(self.class_names) != num_classes:
            shown = ", ".join(self.class_names[:12]) + (", ..." if len(self.class_names) > 12 else "")
            raise DataError(f"{self.source} has {len(self.class_names)} classes ({shown}) but the model has "
                            f"{num_classes} outputs: pass the data the model was trained on")
        for name, split in self.splits.items():
            if len(split) and (split.labels.min() < 0 or split.labels.max() >= num_classes):
                raise DataError(f"{self.source} ({name}): labels must be in 0..{num_classes - 1} for a model with "
                                f"{num_classes} outputs; got values in [{split.labels.min()}, {split.labels.max()}]")


def load_dataset(spec: str | os.PathLike, image_shape: tuple[int, int, int] | None = None,
                 data_dir: str | os.PathLike | None = None, background=AUTO,
                 class_names=None, validation_only: bool = False, fit: str | None = None) -> Dataset:
    """Read a labelled data set whole, through the data layer (runtime.open_source).

    Args:
        spec: "fashion-mnist", a folder of class folders (or with train/ and test/ folders of
            them), an .npz with x/y, x_train/y_train and/or x_test/y_test (optionally
            class_names), or a Parquet data set with `image` and `label` columns.
        image_shape: the model's (height, width, channels); images are converted and fitted to
            it. None keeps the source's own size (a folder's first picture decides).
        data_dir: where the Fashion-MNIST files are (default: the usual search path).
        background: the model's recorded background ("dark" or "mixed"), whose default rule fits the
            pictures (runtime.fit_rule), or a Fitting (a predictor's .fitting); "auto" (the default)
            tells it from the data's own pictures, as export does; None fits by a plain resize (a
            file that records no background).
        class_names: the model's; class folders named after them are labelled by name.
        validation_only: read only the split that validation runs on (what evaluate needs).
        fit: the rule that fits pictures, "frame" or "resize", instead of the background's default.

    Returns:
        A Dataset.

    Raises:
        DataError: no such source, no images, no labels, an unreadable picture or array (named).
    """
    if str(spec) == FASHION_MNIST and image_shape is not None and tuple(image_shape) != (28, 28, 1):
        h, w, c = image_shape
        raise DataError(f"the model takes {h}x{w}x{c} images but Fashion-MNIST's are 28x28x1: give the model's own "
                        f"data (--data on the command line: a folder of class folders, an .npz or a Parquet file)")
    source = open_source(spec, class_names, data_dir)
    _check_class_names(source)
    if isinstance(background, str) and background == AUTO:
        background = image_background(_sample(source, _BACKGROUND_SAMPLE))
    try:
        rule = fitting(background, fit)
    except ValueError as e:
        raise DataError(str(e)) from None
    if image_shape is None:
        image_shape = _own_shape(_sample(source, 1)[0])
    wanted = [source.validation_split] if validation_only else list(source.splits)
    read = {name: _read_split(source, source.splits[name], tuple(image_shape), rule) for name in wanted}
    return Dataset(source.location, source.kind, read, source.class_names, rule.background, rule.rule)


def _check_class_names(source: Source) -> None:
    """Refuse a class folder whose name is not UTF-8: the names go into the manifest, the report and the
    firmware kit's C strings, and its pictures would all be skipped (score makes them error rows instead)."""
    for name in source.class_names or ():
        if text_name(name) != name:
            raise DataError(f"{source.spec}: the class folder {text_name(name)} is not UTF-8 (its other bytes shown as "
                            f"\\x escapes): rename it, as its name becomes a class name")


def _sample(source: Source, count: int) -> list[np.ndarray]:
    """Up to count images of the validation split at their own size; none readable: why the first is not."""
    sample = source.stream().sample(count)
    if not sample:
        chunk = next(source.stream().chunks(1, None))
        raise DataError(chunk.errors[0] or f"{source.spec}: no readable image in it")
    return sample


def _own_shape(pixels: np.ndarray) -> tuple[int, int, int]:
    """The size of an image, grey when its pixels are."""
    grey = pixels.shape[2] == 1 or bool((pixels == pixels[..., :1]).all())
    return (*pixels.shape[:2], 1 if grey else 3)


def _read_split(source: Source, stream: Stream, image_shape, background) -> Split:
    if not stream.has_labels:
        raise DataError(f"{source.spec}: no labels in it ({_HOW_TO_LABEL.get(source.kind, _HOW_TO_LABEL[''])})")
    images, labels, unreadable = [], [], []
    for chunk in stream.chunks(_READ_CHUNK, image_shape, background):
        for i in np.flatnonzero(~chunk.ok):  # skipped, as score makes them error rows
            unreadable.append(chunk.errors[i])
            warnings.warn(f"{chunk.errors[i]}: skipped", stacklevel=3)
        images.append(chunk.images)
        labels.append(chunk.true_labels[chunk.ok])
    if unreadable and len(unreadable) == stream.count:
        raise DataError(f"{source.spec} ({stream.split}): none of its {stream.count:,} pictures is readable; the first: "
                        f"{unreadable[0]}")
    return Split(np.concatenate(images), np.concatenate(labels), tuple(unreadable))


_HOW_TO_LABEL = {
    "folder": "put each class's pictures in a sub-folder named after it",
    "npz": "expected x and y, or x_train and y_train and/or x_test and y_test, and optionally class_names",
    "npy": "an .npy file holds images only: use an .npz with x and y",
    "parquet": "add a 'label' column of class indices",
    "": "a labelled source is needed",
}


__all__ = ["ALL", "AUTO", "FASHION_MNIST", "TRAIN", "Dataset", "Split", "load_dataset"]
