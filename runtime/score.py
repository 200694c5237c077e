"""Score a data set of any size with an exported file: one process, streamed, to Parquet.

The rows (one per image) and the summary are the same whether the job runs here or on Ray
(edgeport.scale): both build their tables with `rows_table` and their summary with `Tally`.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np

from edgeport.runtime.files import atomic_path
from edgeport.runtime.sources import Chunk, Stream, open_source, pyarrow_parquet

DEFAULT_CHUNK = 1000
DEFAULT_TOP = 3


def check_options(batch_size, top, num_classes: int) -> None:
    """Refuse a batch size or top-k that is not a positive whole number (top at most the classes)."""
    for name, value in (("batch_size", batch_size), ("top", top)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive whole number; got {value!r}")
    if top > num_classes:
        raise ValueError(f"top is {top} but the model has only {num_classes} classes")


def output_schema(has_paths: bool, has_labels: bool):
    """The Parquet schema of scored rows: index, [path], label, class_name, confidence, top_labels,
    top_confidences, [true_label], error. A row that could not be read has nulls and an error."""
    import pyarrow as pa

    fields = [pa.field("index", pa.int64(), nullable=False)]
    if has_paths:
        fields.append(pa.field("path", pa.string()))
    fields += [pa.field("label", pa.int32()), pa.field("class_name", pa.string()), pa.field("confidence", pa.float32()),
               pa.field("top_labels", pa.list_(pa.int32())), pa.field("top_confidences", pa.list_(pa.float32()))]
    if has_labels:
        fields.append(pa.field("true_label", pa.int32()))
    fields.append(pa.field("error", pa.string()))
    return pa.schema(fields)


def rows_table(chunk: Chunk, probabilities: np.ndarray, class_names, top: int, has_paths: bool, has_labels: bool):
    """One chunk's rows as a pyarrow Table of output_schema.

    Args:
        probabilities: (number of readable images, classes), in the order of chunk.ok's True rows.
    """
    import pyarrow as pa

    n, ok = len(chunk), chunk.ok
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :top]
    best = order[:, 0] if len(order) else np.empty(0, np.int64)
    labels = np.full(n, -1, np.int64)
    labels[ok] = best
    confidence = np.zeros(n, np.float32)
    confidence[ok] = probabilities[np.arange(len(best)), best]
    top_labels, top_conf = [None] * n, [None] * n
    for row, k in zip(np.flatnonzero(ok), range(len(order))):
        top_labels[row] = order[k].tolist()
        top_conf[row] = probabilities[k, order[k]].tolist()
    names = np.asarray(class_names, dtype=object)
    columns = {"index": pa.array(chunk.index, pa.int64())}
    if has_paths:
        columns["path"] = pa.array(chunk.paths if chunk.paths is not None else [None] * n, pa.string())
    columns.update(
        label=pa.array(labels, pa.int32(), mask=~ok),
        class_name=pa.array(np.where(ok, names[np.maximum(labels, 0)], None), pa.string()),
        confidence=pa.array(confidence, pa.float32(), mask=~ok),
        top_labels=pa.array(top_labels, pa.list_(pa.int32())),
        top_confidences=pa.array(top_conf, pa.list_(pa.float32())),
    )
    if has_labels:
        true = chunk.true_labels if chunk.true_labels is not None else np.full(n, -1, np.int64)
        columns["true_label"] = pa.array(true, pa.int32(), mask=true < 0)
    columns["error"] = pa.array(chunk.errors, pa.string())
    return pa.table(columns, schema=output_schema(has_paths, has_labels))


class Tally:
    """Running totals of a scoring job, for its summary."""

    def __init__(self):
        self.images = self.errors = self.labelled = self.correct = self.chunks = 0
        self.started = time.perf_counter()

    def add(self, table) -> None:
        """Count one output table's rows (from this process or from a Ray actor)."""
        import pyarrow.compute as pc

        self.images += table.num_rows
        self.errors += table.num_rows - table.column("error").null_count
        if "true_label" in table.column_names:
            label = pc.fill_null(table.column("label"), -1).to_numpy()
            true = pc.fill_null(table.column("true_label"), -1).to_numpy()
            known = (true >= 0) & (label >= 0)
            self.labelled += int(known.sum())
            self.correct += int((label[known] == true[known]).sum())
        self.chunks += 1

    def summary(self, **facts) -> dict:
        seconds = time.perf_counter() - self.started
        return {
            "images": self.images, "errors": self.errors, "seconds": round(seconds, 3),
            "images_per_second": round(self.images / seconds, 1) if seconds > 0 else None,
            "labelled": self.labelled,
            "accuracy": round(self.correct / self.labelled, 6) if self.labelled else None,
            **facts,
        }


def score(model, data, out: str | os.PathLike, batch_size: int = DEFAULT_CHUNK, top: int = DEFAULT_TOP,
          threads: int | None = None, verify: bool = True, progress: Callable[[dict], None] | None = None) -> dict:
    """Predict every image of a data set with one exported file, streaming, and write one Parquet row per image.

    Memory stays bounded by batch_size: the data are read, decoded and predicted one chunk at a
    time and each chunk's rows are appended to the file. A picture that cannot be read is a row
    with an error, never a failed job. The file appears whole at the end, or not at all.

    Args:
        model: a Predictor, or a .tflite / .onnx path (runtime.load with threads and verify).
        data: any source of the data layer (runtime.open_source): "fashion-mnist", a folder of
            pictures (class sub-folders give true labels), an .npz / .npy file, or a Parquet file
            or folder with encoded image bytes in `image` (optional `label`, `path`); its test
            split when it has one, else all of it.
        out: the .parquet file to write.
        batch_size: images per chunk (read, decode, predict, write).
        top: classes listed per row in top_labels / top_confidences.
        progress: called after each chunk with {"images", "errors", "chunk"} so far.

    Returns:
        The summary: images, errors, seconds, images_per_second, labelled, accuracy (None without
        labels), out, model, chunks, batch_size.

    Raises:
        DataError (a ValueError): the data cannot be opened (or an array chunk is malformed). ValueError: bad
        options or model. FileNotFoundError: no model file.
    """
    from edgeport.runtime.predictor import Predictor, load

    predictor = model if isinstance(model, Predictor) else load(model, threads=threads, verify=verify)
    check_options(batch_size, top, predictor.num_classes)
    out = check_out(out, (data, predictor.path))
    kind, stream, has_labels = scoring_stream(data, predictor)
    tally = Tally()
    with parquet_writer(out, stream.has_paths, has_labels) as write:
        for chunk in stream.chunks(batch_size, predictor.image_shape, predictor.background):
            probabilities = predictor.predict(chunk.images, batch_size=batch_size)
            table = rows_table(chunk, probabilities, predictor.class_names, top, stream.has_paths, has_labels)
            write(table)
            tally.add(table)
            if progress is not None:
                progress({"images": tally.images, "errors": tally.errors, "chunk": len(chunk)})
    return tally.summary(out=str(out), model=str(predictor.path), chunks=tally.chunks, batch_size=batch_size,
                         source=kind, split=stream.split)


def scoring_stream(data, predictor) -> tuple[str, Stream, bool]:
    """What score reads of a data source: its validation split (test, else all of it).

    Returns:
        (the source's kind, the stream, whether its labels are the model's classes: class
        folders or class names that do not fit the model's classes are not taken as true labels).
    """
    source = open_source(data, predictor.class_names)
    stream = source.stream()
    fits = source.class_names is None or len(source.class_names) == predictor.num_classes
    return source.kind, stream, stream.has_labels and fits


def check_out(out, inputs=()) -> Path:
    """The output path, refused unless it is a .parquet file in an existing folder and none of the inputs.

    Args:
        inputs: the paths the job reads (the model, the data): the output may not be one of them,
            nor lie inside a data folder, where it would replace or join the data.
    """
    out = Path(out)
    if out.suffix.lower() != ".parquet":
        raise ValueError(f"the output must be a .parquet file; got {str(out)!r}")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"{out.parent}: no such folder to write {out.name} in")
    target = out.resolve()
    for given in inputs:
        source = Path(given).resolve()
        if target == source or (source.is_dir() and source in target.parents):
            raise ValueError(f"{out} is {'inside ' if target != source else ''}an input of this job ({given}): "
                             f"write the scores to another file")
    return out


@contextlib.contextmanager
def parquet_writer(out: Path, has_paths: bool, has_labels: bool):
    """Yield a function that appends tables to a Parquet file written beside out, renamed onto it at the end."""
    pq = pyarrow_parquet()
    with atomic_path(out) as tmp:
        writer = pq.ParquetWriter(str(tmp), output_schema(has_paths, has_labels))
        try:
            yield writer.write_table
        finally:
            writer.close()
