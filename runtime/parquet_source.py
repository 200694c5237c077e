"""Parquet sources: encoded pictures in an `image` column (optional `label`, `path`), read by row groups with
memory bounded however the file was written (runtime/sources.py's data layer dispatches here)."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Iterator

import numpy as np

from edgeport.runtime.errors import DataError, MissingExtraError
from edgeport.runtime.images import MAX_PIXELS_ENV, decode_picture, fitting
from edgeport.runtime.sources import (
    ALL,
    CHUNK_BYTES,
    PARQUET,
    Chunk,
    Piece,
    Source,
    Stream,
    _channels,
    _fitted,
    picture_byte_limit,
)

MAX_GROUP_BYTES = 128 * 1024 * 1024  # pyarrow reads a row group's column whole, at about 5x its size: at most this much
# pyarrow parses a Parquet footer whole, into about 11x its bytes (200,000 one-row groups: 17.9 MB, parsed 204 MB),
# in each process that reads the file: a footer over this is refused before it is parsed.
MAX_FOOTER_BYTES = 32 * 1024 * 1024


def parquet_pieces(row_groups, size: int, has_labels: bool, has_paths: bool) -> Iterator[Piece]:
    """Parquet pieces: each row group, with the small ones that follow it in the same file joined to it up to
    size rows (a file of 200,000 one-row groups made 200,000 pieces, each with its own read and output)."""
    columns = ("image", *(["label"] if has_labels else []), *(["path"] if has_paths else []))
    start = 0
    for file, rows in row_groups:
        first = 0
        while first < len(rows):
            # the groups from first whose rows, together, stay within size (at least one group)
            count = max(1, int(np.searchsorted(np.cumsum(rows[first:first + size]), size, side="right")))
            rows_in = int(rows[first:first + count].sum())
            yield Piece(PARQUET, file, start, start + rows_in, row_group=first, row_group_count=count,
                        columns=columns)
            start, first = start + rows_in, first + count


def open_parquet(spec: str, path: Path) -> Source:
    pq = pyarrow_parquet()
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    groups, columns = [], None
    try:
        for file in files:
            _check_footer(file)
            meta = pq.ParquetFile(file).metadata
            names = set(meta.schema.names)
            if "image" not in names:
                raise DataError(f"{file}: no column 'image' (encoded image bytes); it has {', '.join(sorted(names))}")
            if columns is not None and names != columns:
                raise DataError(f"{file}: its columns differ from the other Parquet files' in {path}")
            _check_image_column(file, meta.schema.to_arrow_schema().field("image").type)
            columns = names
            groups.append((str(file), np.fromiter((meta.row_group(g).num_rows for g in range(meta.num_row_groups)),
                                                  np.int64, meta.num_row_groups)))
            del meta  # its parsed footer: up to 11x MAX_FOOTER_BYTES
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
        if isinstance(e, DataError):
            raise
        raise DataError(f"{path} is not a readable Parquet data set: {' '.join(str(e).split())}") from e
    count = sum(int(rows.sum()) for _, rows in groups)
    stream = Stream(PARQUET, str(path), count, "path" in columns, "label" in columns,
                    row_groups=tuple(groups))
    return Source(spec, str(path.resolve()), PARQUET, {ALL: stream})


def _check_footer(file: Path) -> None:
    """Refuse a file whose footer is over MAX_FOOTER_BYTES, from its last 8 bytes, before pyarrow parses it."""
    with open(file, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - 8))
        tail = f.read(8)
    if len(tail) < 8 or tail[4:] != b"PAR1":
        return  # not Parquet: pyarrow says so in its own words
    footer = int.from_bytes(tail[:4], "little")
    if footer > MAX_FOOTER_BYTES:
        raise DataError(f"{file}: its footer (the index of its row groups) is {footer:,} bytes, over the "
                        f"limit of {MAX_FOOTER_BYTES:,}: rewrite it with fewer, larger row groups (pyarrow: "
                        f"write_table(..., row_group_size=100_000))")


def _check_image_column(file: Path, kind) -> None:
    """Refuse an image column that cannot hold encoded pictures (bytes, or a dictionary of them)."""
    import pyarrow as pa

    values = kind.value_type if pa.types.is_dictionary(kind) else kind
    if not (pa.types.is_binary(values) or pa.types.is_large_binary(values)):
        raise DataError(f"{file}: its 'image' column holds {kind}; expected encoded picture bytes (binary)")


def read_parquet(piece: Piece, size: int, image_shape, background) -> Iterator[Chunk]:
    """A piece's rows in chunks of at most `size` images and about CHUNK_BYTES of picture bytes.

    pyarrow reads a whole row group's column at once: a row group with more picture bytes than
    MAX_GROUP_BYTES is not read, and each of its rows is an error row that says so; a picture over
    picture_byte_limit() is an error row too. The piece's other row groups are read together, in one call
    for as many consecutive groups as MAX_GROUP_BYTES holds. The image column is read as a dictionary (each
    distinct value held once, as the file stores a dictionary-encoded column), so rows that repeat one large
    value cost its bytes once, and the bytes a batch decodes to are counted as it is read: a batch over
    MAX_GROUP_BYTES becomes error rows. Each process opens a file once (_parquet_file).
    """
    start, held = piece.start, []
    for groups, stored, count in _group_runs(piece):
        for chunk in _read_groups(piece, groups, stored, count, start, size, image_shape, background):
            start += len(chunk)
            held.append(chunk)  # the small row groups of one piece make one chunk, not one each
            if sum(map(len, held)) >= size:
                yield _joined(held)
                held = []
    if held:
        yield _joined(held)


def _group_runs(piece: Piece) -> Iterator[tuple[list[int], int, int]]:
    """The piece's row groups in runs read at once, with their stored picture bytes and their rows: consecutive
    groups whose stored bytes together stay within MAX_GROUP_BYTES, and each group over it alone."""
    metadata = _parquet_file(piece.location).metadata
    run, held, rows = [], 0, 0
    for number in range(piece.row_group, piece.row_group + piece.row_group_count):
        group = metadata.row_group(number)
        stored = next((group.column(i).total_uncompressed_size for i in range(group.num_columns)
                       if group.column(i).path_in_schema == "image"), 0)
        if run and (held + stored > MAX_GROUP_BYTES or stored > MAX_GROUP_BYTES):
            yield run, held, rows
            run, held, rows = [], 0, 0
        run.append(number)
        held, rows = held + stored, rows + group.num_rows
    if run:
        yield run, held, rows


def _joined(chunks: list[Chunk]) -> Chunk:
    """Consecutive chunks of one source as one."""
    if len(chunks) == 1:
        return chunks[0]
    first = chunks[0]
    return Chunk(np.concatenate([c.index for c in chunks]), np.concatenate([c.images for c in chunks]),
                 np.concatenate([c.ok for c in chunks]), [e for c in chunks for e in c.errors],
                 None if first.paths is None else [p for c in chunks for p in c.paths],
                 None if first.true_labels is None else np.concatenate([c.true_labels for c in chunks]))


def _read_groups(piece: Piece, groups: list[int], stored: int, count: int, start: int, size: int, image_shape,
                 background) -> Iterator[Chunk]:
    """Consecutive row groups (count rows, the first at source row start) in chunks, as _read_parquet describes."""
    parquet, matte_for = _parquet_file(piece.location), fitting(background).background
    named = f"row group {groups[0]}" if len(groups) == 1 else f"row groups {groups[0]}-{groups[-1]}"
    if stored > MAX_GROUP_BYTES:
        reason = (f"{piece.location}: {named} holds {stored:,} bytes of pictures, over the "
                  f"{MAX_GROUP_BYTES:,} read at once: rewrite it with smaller row groups")
        yield Chunk(np.arange(start, start + count, dtype=np.int64),
                    _fitted([], image_shape, background), np.zeros(count, bool), [reason] * count,
                    None, np.full(count, -1, np.int64) if "label" in piece.columns else None)
        return
    rows = max(1, min(size, CHUNK_BYTES * count // max(1, stored)))
    limit = picture_byte_limit()
    for batch in parquet.iter_batches(batch_size=rows, row_groups=groups, columns=list(piece.columns)):
        paths = batch.column("path").to_pylist() if "path" in piece.columns else None
        names = paths or [f"{piece.location}[{start + i}]" for i in range(batch.num_rows)]
        images, ok, errors = [], [], []
        column = batch.column("image")
        if column.nbytes > MAX_GROUP_BYTES:  # what the batch really decoded to, whatever the footer said
            too_large = (f"{piece.location}: {named} decodes to {column.nbytes:,} bytes of "
                         f"pictures in {batch.num_rows} rows, over the {MAX_GROUP_BYTES:,} read at once")
            column = pa_nulls(batch.num_rows)
        else:
            too_large = None
        dictionary = column.dictionary
        for code, name in zip(column.indices.fill_null(-1).to_numpy(), names):
            try:
                if too_large is not None:
                    raise ValueError(too_large)
                if code < 0 or not dictionary[code].is_valid:
                    raise ValueError(f"{name}: no image bytes")
                data = dictionary[code].as_buffer()  # where pyarrow holds the bytes, not a copy
                if data.size > limit:
                    raise ValueError(f"{name}: {data.size:,} bytes of picture, over the limit of {limit:,} "
                                     f"({MAX_PIXELS_ENV} sets it, in pixels)")
                images.append(decode_picture(_buffer_reader(data), _channels(image_shape), name=name,
                                             background=matte_for))
                ok.append(True)
                errors.append(None)
            except ValueError as e:
                ok.append(False)
                errors.append(" ".join(str(e).split()))
        labels = None
        if "label" in piece.columns:
            labels = np.array([-1 if v is None else v for v in batch.column("label").to_pylist()], np.int64)
        index = np.arange(start, start + batch.num_rows, dtype=np.int64)
        yield Chunk(index, _fitted(images, image_shape, background), np.array(ok, bool), errors, paths, labels)
        start += batch.num_rows


@functools.lru_cache(maxsize=4)
def _open_parquet_file(file: str, stamp: tuple):
    return pyarrow_parquet().ParquetFile(file, read_dictionary=["image"])


def pa_nulls(count: int):
    """count null rows of a dictionary column of bytes."""
    import pyarrow as pa

    return pa.DictionaryArray.from_arrays(pa.nulls(count, pa.int32()), pa.array([], pa.binary()))


def _parquet_file(file: str):
    """The file's reader, its footer parsed once per process while the file is unchanged (a file of 5,000 row
    groups parsed it 5,000 times)."""
    info = os.stat(file)
    return _open_parquet_file(file, (info.st_mtime_ns, info.st_size, info.st_ino))


def _buffer_reader(data):
    """A file object over a pyarrow buffer, for Pillow to read without a copy of the bytes."""
    import pyarrow as pa

    return pa.BufferReader(data)


def pyarrow_parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingExtraError("reading and writing Parquet needs pyarrow", "score") from None
    return pq
