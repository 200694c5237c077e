"""Score a data set of any size with an exported file: one process, streamed, to Parquet.

The rows (one per image) and the summary are the same whether the job runs here or on Ray
(edgeport.scale): both build their tables with `rows_table` and their summary with `Tally`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from edgeport.runtime.errors import WorkerError
from edgeport.runtime.files import atomic_path
from edgeport.runtime.sources import (
    FOLDER,
    PARQUET,
    Chunk,
    Piece,
    Stream,
    open_source,
    read_piece,
)
from edgeport.runtime.parquet_source import pyarrow_parquet

DEFAULT_CHUNK = 1000
DEFAULT_TOP = 3


def default_top(top: int | None, num_classes: int) -> int:
    """top, or when None DEFAULT_TOP classes, fewer for a model with fewer classes (a two-class model lists 2)."""
    return min(DEFAULT_TOP, num_classes) if top is None else top


def check_options(batch_size, top, num_classes: int) -> None:
    """Refuse a batch size or top-k that is not a positive whole number (top at most the classes)."""
    for name, value in (("batch_size", batch_size), ("top", top)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive whole number; got {value!r}")
    if top > num_classes:
        raise ValueError(f"top is {top} but the model has only {num_classes} classes")


def output_schema(has_paths: bool, has_labels: bool):
    """The Parquet schema of scored rows: index, [path], class_index, class_name, confidence, top_class_indices,
    top_confidences, [true_class_index], error. A row that could not be read has nulls and an error.

    class_index is the class's index in the model's outputs, not a folder's or a data set's label: for numbered
    class folders ("0".."11", in Keras's string order) the two differ, and class_name is the folder's name."""
    import pyarrow as pa

    fields = [pa.field("index", pa.int64(), nullable=False)]
    if has_paths:
        fields.append(pa.field("path", pa.string()))
    fields += [pa.field("class_index", pa.int32()), pa.field("class_name", pa.string()),
               pa.field("confidence", pa.float32()), pa.field("top_class_indices", pa.list_(pa.int32())),
               pa.field("top_confidences", pa.list_(pa.float32()))]
    if has_labels:
        fields.append(pa.field("true_class_index", pa.int32()))
    fields.append(pa.field("error", pa.string()))
    return pa.schema(fields)


def rows_table(chunk: Chunk, probabilities: np.ndarray, class_names, top: int, has_paths: bool, has_labels: bool):
    """One chunk's rows as a pyarrow Table of output_schema.

    Every column is made from numpy buffers (pyarrow.Array.from_buffers): pyarrow's array() from
    Python or numpy objects imports pandas on its first call, 0.3 s of every scoring command's start.

    Args:
        probabilities: (number of readable images, classes), in the order of chunk.ok's True rows.
    """
    import pyarrow as pa

    n, ok = len(chunk), np.asarray(chunk.ok, bool)
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :top].astype(np.int32)
    best = order[:, 0] if len(order) else np.empty(0, np.int32)
    labels = np.zeros(n, np.int32)
    labels[ok] = best
    confidence = np.zeros(n, np.float32)
    confidence[ok] = probabilities[np.arange(len(best)), best]
    # The top classes as list columns over flat values: a row that could not be read is a null list,
    # one that could has `top` entries.
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(np.where(ok, order.shape[1], 0), out=offsets[1:])
    top_conf = np.take_along_axis(probabilities, order, axis=1).astype(np.float32)
    columns = {"index": _numbers(np.asarray(chunk.index, np.int64), pa.int64())}
    if has_paths:
        columns["path"] = _strings(chunk.paths if chunk.paths is not None else [None] * n)
    names = [str(name) for name in class_names]
    columns.update(
        class_index=_numbers(labels, pa.int32(), ok),
        class_name=_strings([names[label] if good else None for label, good in zip(labels.tolist(), ok.tolist())]),
        confidence=_numbers(confidence, pa.float32(), ok),
        top_class_indices=_lists(offsets, _numbers(order.reshape(-1), pa.int32()), ok),
        top_confidences=_lists(offsets, _numbers(top_conf.reshape(-1), pa.float32()), ok),
    )
    if has_labels:
        true = np.asarray(chunk.true_labels if chunk.true_labels is not None else np.full(n, -1), np.int64)
        columns["true_class_index"] = _numbers(np.where(true < 0, 0, true).astype(np.int32), pa.int32(), true >= 0)
    columns["error"] = _strings(chunk.errors)
    return pa.table(columns, schema=output_schema(has_paths, has_labels))


def _validity(valid: np.ndarray | None):
    """An Arrow validity bitmap (None: every value is there)."""
    import pyarrow as pa

    if valid is None or valid.all():
        return None
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def _numbers(values: np.ndarray, kind, valid: np.ndarray | None = None):
    import pyarrow as pa

    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(kind, len(values), [_validity(valid), pa.py_buffer(values)])


def _strings(texts: list):
    """A string column; None is a null."""
    import pyarrow as pa

    encoded = [b"" if text is None else text.encode() for text in texts]
    offsets = np.zeros(len(encoded) + 1, np.int32)
    np.cumsum(np.fromiter(map(len, encoded), np.int32, len(encoded)), out=offsets[1:])
    valid = np.fromiter((text is not None for text in texts), bool, len(texts))
    return pa.Array.from_buffers(pa.string(), len(encoded),
                                 [_validity(valid), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])


def _lists(offsets: np.ndarray, values, valid: np.ndarray):
    import pyarrow as pa

    return pa.Array.from_buffers(pa.list_(values.type), len(offsets) - 1, [_validity(valid), pa.py_buffer(offsets)],
                                 children=[values])


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
        if "true_class_index" in table.column_names:
            label, true = table.column("class_index"), table.column("true_class_index")
            self.labelled += pc.sum(pc.and_(pc.is_valid(label), pc.is_valid(true))).as_py() or 0
            self.correct += pc.sum(pc.equal(label, true)).as_py() or 0
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


def score(model, data, out: str | os.PathLike, batch_size: int = DEFAULT_CHUNK, top: int | None = None,
          threads: int | None = None, verify: bool = True, progress: Callable[[dict], None] | None = None,
          workers: int | None = None) -> dict:
    """Predict every image of a data set with one exported file, streaming, and write one Parquet row per image.

    Memory stays bounded by batch_size: the data are read, decoded and predicted one chunk at a
    time and each chunk's rows are appended to the file. A picture that cannot be read is a row
    with an error, never a failed job. The file appears whole at the end, or not at all.

    Pictures (a folder, Parquet) are decoded by `workers` processes, each with its own copy of the
    model, a few chunks ahead of the writer; the rows come out in the source's order and are the
    same whatever the number of workers. Arrays need no decoding: this process scores them, with
    the engine's own threads.

    Args:
        model: a Predictor, or a .tflite / .onnx path (runtime.load with threads and verify).
        data: any source of the data layer (runtime.open_source): "fashion-mnist", a folder of
            pictures (class sub-folders give true labels), an .npz / .npy file, or a Parquet file
            or folder with encoded image bytes in `image` (optional `label`, `path`); its test
            split when it has one, else all of it.
        out: the .parquet file to write.
        batch_size: images per chunk (read, decode, predict, write).
        top: classes listed per row in top_class_indices / top_confidences (default: 3, or every class of a
            model with fewer).
        threads: engine threads (with workers, each worker's; default 1 there).
        progress: called after each chunk with {"images", "errors", "chunk"} so far.
        workers: processes that decode pictures (default: the CPUs this process may use; 1 scores
            everything in this process).

    Returns:
        The summary: images, errors, seconds, images_per_second, labelled, accuracy (None without
        labels), out, model, chunks, batch_size, workers (the processes that scored).

    Raises:
        DataError (a ValueError): the data cannot be opened (or an array chunk is malformed). ValueError: bad
        options or model. FileNotFoundError: no model file.
    """
    from edgeport.runtime.predictor import Predictor, load

    check_workers(workers)
    predictor = model if isinstance(model, Predictor) else load(model, threads=threads, verify=verify)
    top = default_top(top, predictor.num_classes)
    check_options(batch_size, top, predictor.num_classes)
    out = check_out(out, (data, predictor.path))
    kind, stream, has_labels = scoring_stream(data, predictor)
    job = Job(batch_size, top, stream.has_paths, has_labels)
    processes = _processes(stream, batch_size, default_workers() if workers is None else workers)
    _warm_up(predictor, job)  # here, once: forked workers inherit it
    tally = Tally()
    if processes > 1:
        scored = _in_pool(predictor, stream, job, processes, threads)
    else:
        scored = (item for piece in stream.pieces(batch_size) for item in score_piece(predictor, piece, job))
    with parquet_writer(out, stream.has_paths, has_labels) as write:
        for chunk, probabilities in scored:
            table = rows_table(chunk, probabilities, predictor.class_names, top, stream.has_paths, has_labels)
            write(table)
            tally.add(table)
            if progress is not None:
                progress({"images": tally.images, "errors": tally.errors, "chunk": table.num_rows})
    return tally.summary(out=str(out), model=str(predictor.path), chunks=tally.chunks, batch_size=batch_size,
                         source=kind, split=stream.split, workers=processes)


class Job(NamedTuple):
    """What every chunk of a scoring job is read and written with."""

    batch_size: int
    top: int
    has_paths: bool
    has_labels: bool


def score_piece(predictor, piece: Piece, job: Job) -> list[tuple[Chunk, np.ndarray]]:
    """One piece of a stream read, fitted and predicted: each chunk (its pixels dropped) with its probabilities,
    what rows_table turns into rows."""
    scored = []
    for chunk in read_piece(piece, job.batch_size, predictor.image_shape, predictor.fitting):
        probabilities = predictor.predict(chunk.images, batch_size=job.batch_size)
        chunk.images = None  # not carried to the writer (nor across processes)
        scored.append((chunk, probabilities))
    return scored


def _warm_up(predictor, job: Job) -> None:
    """Pay the libraries' first-call costs once, before the clock starts: pyarrow's import and first
    table, Pillow's format plugins (about 0.06 s)."""
    from PIL import Image

    Image.preinit()
    empty = Chunk(np.empty(0, np.int64), np.empty((0, *predictor.image_shape), np.uint8), np.empty(0, bool), [],
                  [] if job.has_paths else None, np.empty(0, np.int64) if job.has_labels else None)
    rows_table(empty, np.empty((0, predictor.num_classes), np.float32), predictor.class_names, job.top,
               job.has_paths, job.has_labels)


def default_workers() -> int:
    """The CPUs this process may run on (its affinity, which a container or taskset may narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_workers(workers) -> None:
    if workers is not None and (not isinstance(workers, (int, np.integer)) or isinstance(workers, bool)
                                or workers < 1):
        raise ValueError(f"workers must be a positive whole number; got {workers!r}")


def _processes(stream: Stream, batch_size: int, workers: int) -> int:
    """How many processes score a stream: pictures are decoded by up to `workers`, one piece each at a
    time; arrays, and a stream of one piece, in this process."""
    if stream.kind not in (FOLDER, PARQUET):
        return 1
    pieces = sum(1 for _ in stream.pieces(batch_size)) if stream.kind == PARQUET else -(-stream.count // batch_size)
    return max(1, min(workers, pieces))


def _in_pool(predictor, stream: Stream, job: Job, processes: int, threads: int | None):
    """Each piece's chunks and probabilities, in the stream's order, scored by worker processes that each load
    the model once.

    Pieces go out on one queue, a few per worker ahead of the writer, so memory stays flat however
    long the stream; results come back tagged with their piece's number and are put back in order.
    Workers are forked where the system can (they start in milliseconds) and load their own engine,
    never the parent's. They ignore SIGINT: the parent ends them, however it stops. A worker that
    dies (a decoder crash, the OOM killer) ends the job with an error, never a hang.
    """
    import itertools
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    context = multiprocessing.get_context(method)
    tasks, results = context.Queue(), context.Queue()
    workers = [context.Process(target=_worker, args=(predictor.file, threads or 1, job, tasks, results, os.getpid()),
                               name=f"edgeport-score-{i}", daemon=True) for i in range(processes)]
    pieces = enumerate(stream.pieces(job.batch_size))
    finished = False
    try:
        for worker in workers:
            worker.start()
        sent = 0
        for number, piece in itertools.islice(pieces, 2 * processes):
            tasks.put((number, piece))
            sent += 1
        done, waiting = 0, {}
        while done < sent:
            while done not in waiting:
                number, result = _next_result(results, workers)
                waiting[number] = result
            yield from _scored(waiting.pop(done))
            done += 1
            for number, piece in itertools.islice(pieces, 1):
                tasks.put((number, piece))
                sent += 1
        for _ in workers:
            tasks.put(None)  # no more pieces: each worker returns
        finished = True
    finally:
        for worker in workers:
            if worker.pid is not None:  # started
                worker.join(timeout=5 if finished else 0)
            if worker.is_alive():
                worker.terminate()
                worker.join()
        tasks.cancel_join_thread()  # pieces still queued for workers that are gone are dropped
        tasks.close()
        results.close()


def _next_result(results, workers) -> tuple:
    """The next (piece number, result) from any worker; an error if a worker died before sending it."""
    import queue

    while True:
        try:
            return results.get(timeout=0.5)
        except queue.Empty:
            for worker in workers:
                if worker.exitcode not in (None, 0):
                    how = f"signal {-worker.exitcode}" if worker.exitcode < 0 else f"exit status {worker.exitcode}"
                    raise WorkerError(f"a scoring worker process died ({how})") from None


def _worker(file, threads: int, job: Job, tasks, results, parent: int) -> None:
    """A worker process: start an engine on the parent's model bytes (never the path again: the file may have
    changed since the parent checked it), then score pieces until told to stop (None), or until the parent is
    gone, however it died."""
    for number in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if number is not None:
            signal.signal(number, signal.SIG_DFL)  # not the parent's handlers, inherited by fork
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which ends the workers
    _die_with(parent)
    from edgeport.runtime.predictor import from_file

    try:
        predictor, failed = from_file(file, threads), None
    except Exception as e:  # said for every piece, so the parent raises it at the first
        predictor, failed = None, _portable(e)
    while (task := _next_task(tasks, parent)) is not None:
        number, piece = task
        if failed is not None:
            results.put((number, failed))
            continue
        try:
            results.put((number, ("scored", score_piece(predictor, piece, job))))
        except Exception as e:
            results.put((number, _portable(e)))


def _die_with(parent: int) -> None:
    """Have the kernel kill this worker when its parent dies, even by SIGKILL (Linux's parent-death signal);
    elsewhere _next_task notices within a second."""
    from edgeport.runtime.children import die_with_parent

    die_with_parent()
    if os.getppid() != parent:  # it died before the signal was asked for
        os._exit(1)


def _next_task(tasks, parent: int):
    """The next piece for this worker, or None when there are no more or the parent is gone."""
    import queue

    while True:
        try:
            return tasks.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:
                os._exit(1)  # nobody reads the results: leave without flushing them


def _portable(error: Exception) -> tuple:
    """An error as it crosses back to the parent: itself when it survives pickling (edgeport's errors
    do), else a WorkerError naming it."""
    from edgeport.runtime.children import portable

    return "error", portable(error, lambda text: WorkerError(f"a scoring worker failed: {text}"))


def _scored(result: tuple) -> list:
    status, payload = result
    if status == "error":
        raise payload
    return payload


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


OUTPUT_GROUP_ROWS = 65_536  # rows of a row group of score's output (rows are small: no pixels)


@contextlib.contextmanager
def parquet_writer(out: Path, has_paths: bool, has_labels: bool):
    """Yield a function that appends tables to a Parquet file written beside out, renamed onto it at the end."""
    import pyarrow as pa

    pq = pyarrow_parquet()
    held, rows = [], 0

    def flush() -> None:
        nonlocal rows
        if held:
            writer.write_table(pa.concat_tables(held))
            held.clear()
            rows = 0

    def write(table) -> None:
        # Small chunks are gathered into row groups of OUTPUT_GROUP_ROWS: the writer keeps every row group's
        # metadata until it closes, so one row group per chunk grew with the number of chunks.
        nonlocal rows
        held.append(table)
        rows += table.num_rows
        if rows >= OUTPUT_GROUP_ROWS:
            flush()

    with atomic_path(out) as tmp:
        writer = pq.ParquetWriter(str(tmp), output_schema(has_paths, has_labels))
        try:
            yield write
            flush()
        finally:
            writer.close()
