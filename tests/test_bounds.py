"""Hostile files end in one line (or one error row) with memory bounded: each is built here, small on disk,
and run through the real command in a child process whose peak RSS is measured.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np
import pytest

from tests.conftest import EDGEPORT, edgeport, with_peak

GIB = 1 << 30
PEAK_MIB = 1024  # every case below must stay under it


def _zeros_deflated(size: int, prefix: bytes = b"") -> tuple[bytes, int]:
    """A raw deflate stream of prefix (a stored block) and size zero bytes, made in milliseconds, and its CRC-32.

    After a full flush a deflate stream depends on nothing before it, so 16 MiB of zeros compressed once
    and repeated is a valid stream of any multiple of 16 MiB.
    """
    block = bytes(16 << 20)
    assert size % len(block) == 0 and len(prefix) < 1 << 16
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    piece = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    stored = struct.pack("<BHH", 0, len(prefix), len(prefix) ^ 0xFFFF) + prefix if prefix else b""
    crc = zlib.crc32(prefix)
    for _ in range(size // len(block)):
        crc = zlib.crc32(block, crc)
    return stored + piece * (size // len(block)) + compressor.flush(), crc


def _zip(path, members) -> None:
    """Write a zip by hand: members are (name, data as stored, method, declared size, crc)."""
    out, central = bytearray(), bytearray()
    for name, data, method, declared, crc in members:
        encoded = name.encode()
        offset = len(out)
        out += struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(data), declared, len(encoded),
                           0) + encoded + data
        central += struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, method, 0, 0, crc, len(data), declared,
                               len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    out += central + struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(out), 0)
    path.write_bytes(bytes(out))


def _stored(name, data: bytes):
    return name, data, zipfile.ZIP_STORED, len(data), zlib.crc32(data)


def _npy(shape, dtype="|u1", body: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + body


def _refused(peak, result, *fragments):
    assert peak < PEAK_MIB, f"peak {peak:.0f} MiB"
    (line,) = result.stderr.strip().splitlines()
    assert result.returncode == 1 and all(fragment in line for fragment in fragments), line
    return line


# --- .keras models -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_parts(exported):
    with zipfile.ZipFile(exported / "model.keras") as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_weights_that_declare_gigabytes_are_refused_unread(keras_parts, tmp_path):
    import h5py

    weights = tmp_path / "weights.h5"
    weights.write_bytes(keras_parts["model.weights.h5"])
    with h5py.File(weights, "a") as f:  # the first kernel re-declared as 2 GiB of chunks never written
        del f["layers/dense/vars/0"]
        f["layers/dense/vars"].create_dataset("0", shape=(1 << 19, 1024), dtype="f4", chunks=(1024, 1024),
                                              compression="gzip")
    bomb = tmp_path / "bomb.keras"
    _zip(bomb, [_stored(name, weights.read_bytes() if name == "model.weights.h5" else data)
                for name, data in keras_parts.items()])
    assert bomb.stat().st_size < 2 << 20
    peak, result = with_peak(EDGEPORT, "export", bomb, "--out", tmp_path / "out", "--formats", "fp32")
    _refused(peak, result, f"{bomb} would inflate to 2,1", "model.weights.h5:layers/dense/vars/0: 2,147,483,648",
             "refused as a compression bomb")
    assert not (tmp_path / "out").exists()


def test_a_member_that_inflates_past_its_declared_size_is_refused(keras_parts, tmp_path):
    data, crc = _zeros_deflated(GIB)
    bomb = tmp_path / "liar.keras"
    _zip(bomb, [_stored(name, keras_parts[name]) for name in ("metadata.json", "config.json")]
         + [("model.weights.h5", data, zipfile.ZIP_DEFLATED, 5 << 20, crc)])
    peak, result = with_peak(EDGEPORT, "export", bomb, "--out", tmp_path / "out", "--formats", "fp32")
    _refused(peak, result, f"{bomb} is not a loadable Keras model: model.weights.h5 declares 5,242,880 bytes and "
                           f"inflates to more: a compression bomb")
    assert not (tmp_path / "out").exists()


# --- arrays ------------------------------------------------------------------------------------


def test_an_npz_that_deflates_a_thousandfold_is_refused_before_it_inflates(exported, tmp_path):
    count = GIB // 784
    header = _npy((count, 28, 28))
    data, crc = _zeros_deflated(GIB, prefix=header)  # a real array member: its header, then 1 GiB of pixels
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(count, np.uint8))
    bomb = tmp_path / "zeros.npz"
    _zip(bomb, [("x_test.npy", data, zipfile.ZIP_DEFLATED, len(header) + GIB, crc),
                _stored("y_test.npy", buffer.getvalue())])
    assert bomb.stat().st_size < 4 << 20
    for command in (("evaluate", exported / "model_int8.onnx", "--data", bomb),
                    ("score", exported / "model_int8.onnx", bomb, "--out", tmp_path / "s.parquet")):
        peak, result = with_peak(EDGEPORT, *command)
        _refused(peak, result, f"{bomb} would inflate to 1,0", "refused as a compression bomb")
    assert not (tmp_path / "s.parquet").exists()


def test_array_headers_that_declare_terabytes_are_refused(exported, tmp_path):
    huge = tmp_path / "huge.npy"
    huge.write_bytes(_npy((100_000, 4096, 4096), body=bytes(1000)))
    model = exported / "model_int8.onnx"
    peak, result = with_peak(EDGEPORT, "predict", model, huge)
    _refused(peak, result, f"{huge} is not a readable .npy array")
    peak, result = with_peak(EDGEPORT, "score", model, huge, "--out", tmp_path / "s.parquet")
    _refused(peak, result, f"{huge}: the array declares 100,000 images of 4096x4096 (1,677,721,600,000 bytes) but "
                           f"holds 1,000: a truncated or malformed array")
    stored = tmp_path / "huge.npz"
    _zip(stored, [_stored("x.npy", _npy((100_000, 4096, 4096), body=bytes(1000)))])
    peak, result = with_peak(EDGEPORT, "score", model, stored, "--out", tmp_path / "s.parquet")
    _refused(peak, result, f"{stored}: x declares 100,000 images")
    wide = tmp_path / "wide.npy"
    wide.write_bytes(_npy((1, 10_000, 10_000), body=bytes(100_000_000)))
    result = edgeport("score", model, wide, "--out", tmp_path / "s.parquet", check=False)
    assert result.returncode == 1 and "images of 10000x10000 pixels, over the limit of 40,000,000" in result.stderr
    assert not (tmp_path / "s.parquet").exists()


# --- Parquet -----------------------------------------------------------------------------------


def _png(pixels) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_huge_row_and_a_huge_row_group_are_error_rows_with_memory_bounded(exported, test_set, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    images, _ = test_set
    small = [_png(image) for image in images[:4]]
    data = tmp_path / "data"
    data.mkdir()
    # One row group of two pictures and a 300 MB value (zeros: zstd keeps the file at 10 KB), then a row group
    # of ordinary pictures. Reading the first took 5 times its size.
    with pq.ParquetWriter(data / "shelf.parquet", pa.schema([("image", pa.binary())]), compression="zstd",
                          write_statistics=False) as writer:
        writer.write_table(pa.table({"image": [small[0], bytes(300 << 20), small[1]]}))
        writer.write_table(pa.table({"image": small[2:]}))
    peak, result = with_peak(EDGEPORT, "score", exported / "model_int8.onnx", data / "shelf.parquet", "--out",
                             tmp_path / "s.parquet", "--workers", "1")
    assert result.returncode == 0 and peak < PEAK_MIB, (peak, result.stderr)
    rows = pq.read_table(tmp_path / "s.parquet").to_pylist()
    assert [row["error"] is None for row in rows] == [False, False, False, True, True]
    assert rows[0]["error"] == rows[1]["error"] == rows[2]["error"]
    assert rows[0]["error"].startswith(f"{data / 'shelf.parquet'}: row group 0 holds 314,5")
    assert rows[0]["error"].endswith(" bytes of pictures, over the 134,217,728 read at once: rewrite it with smaller "
                                     "row groups")


def test_a_picture_over_the_byte_limit_is_an_error_row(exported, test_set, tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from edgeport import runtime

    images, _ = test_set
    monkeypatch.setenv("EDGEPORT_MAX_PIXELS", "1000")  # 4,000 bytes a picture
    pq.write_table(pa.table({"image": [_png(images[0]), _png(images[1]) + bytes(5000)]}), tmp_path / "p.parquet")
    predictor = runtime.load(exported / "model_int8.onnx")
    runtime.score(predictor, tmp_path / "p.parquet", tmp_path / "s.parquet", workers=1)
    errors = pq.read_table(tmp_path / "s.parquet").column("error").to_pylist()
    assert errors[0] is None and errors[1].endswith("bytes of picture, over the limit of 4,000 (EDGEPORT_MAX_PIXELS "
                                                    "sets it, in pixels)")


def test_a_parquet_file_is_opened_once_however_many_row_groups_it_has(exported, test_set, tmp_path, monkeypatch):
    """Each piece (a row group) used to open the file and parse its footer again: quadratic in the row groups."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from edgeport import runtime

    images, _ = test_set
    pq.write_table(pa.table({"image": [_png(image) for image in images[:300]]}), tmp_path / "p.parquet",
                   row_group_size=1)
    opened = []
    real = pq.ParquetFile
    monkeypatch.setattr(pq, "ParquetFile", lambda *a, **k: opened.append(a[0]) or real(*a, **k))
    predictor = runtime.load(exported / "model_int8.onnx")
    summary = runtime.score(predictor, tmp_path / "p.parquet", tmp_path / "s.parquet", workers=1)
    assert summary["images"] == 300 and summary["errors"] == 0
    assert len(opened) <= 2, f"opened {len(opened)} times"  # the index, then the reader
