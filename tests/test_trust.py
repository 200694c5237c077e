"""Trust, third round: children that import nothing from the working folder, bounded reads of Parquet and
arrays, names that print as data (the SavedModel probe is tested in test_probe.py).

Each attack is built here for real (TensorFlow SavedModels, Parquet files, planted Python modules) and
run through the installed `edgeport` command or the library; the evidence is what it would have
written, how long it ran, or the one line it ended with.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import EDGEPORT, ENV, run_cli

# Modules a child could import from the working folder: each leaves a mark and fails if it ever runs.
PLANTED = ("json", "numpy", "edgeport", "ethosu", "tflite_micro", "pyarrow")


def plant(folder: Path) -> Path:
    """A working folder holding a json.py and packages named like the children's imports."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in PLANTED:
        code = f"open({str(folder / ('ran-' + name))!r}, 'w').close()\nraise ImportError('planted {name}')\n"
        if name == "json":
            (folder / "json.py").write_text(code)
        else:
            (folder / name).mkdir(exist_ok=True)
            (folder / name / "__init__.py").write_text(code)
    return folder


def marks(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("ran-*"))


def tiny_savedmodel(path: Path) -> Path:
    """An untrained 8x8 classifier of four classes, saved as a SavedModel (Keras's model.export)."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(4, activation="softmax")])
    model.export(str(path), verbose=False)
    return path


def signing_keys(folder: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    (folder / "pub.pem").write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                                   serialization.PublicFormat.SubjectPublicKeyInfo))
    return folder / "key.pem", folder / "pub.pem"


def test_no_child_imports_code_from_the_working_folder(quadrants, tmp_path):
    """The SavedModel probe, TFLM's arena measurer, Vela and score's workers, each started from a folder that
    holds a json.py and packages named like their imports."""
    work = plant(tmp_path / "work")
    model = tiny_savedmodel(tmp_path / "saved")
    key, public = signing_keys(tmp_path)
    out = tmp_path / "out"
    result = run_cli("export", model, "--data", quadrants["npz"], "--out", out, "--formats", "micro-int8",
                     "--micro", "--npu", "ethos-u55-128", "--sign", key, "--no-emulator", cwd=work, check=False)
    assert marks(work) == [], result.stderr
    from edgeport import runtime

    entry = runtime.read_manifest(out).files["model_micro_int8.tflite"]
    assert entry.micro.runs and entry.micro.arena_bytes > 0 and entry.micro.npu.npu_operators >= 1  # each child ran
    assert not list(out.glob(".vela-*"))  # Vela's scratch folder was inside the export's and is gone
    # The Vela file is signed as the manifest lists it; the kit is said to be unsigned.
    listing = run_cli("verify", out, "--trust", public).stdout
    assert "model_micro_int8.vela.tflite" in listing and "micro/ is the firmware kit" in listing
    with open(out / "model_micro_int8.vela.tflite", "r+b") as f:
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 1]))
    tampered = run_cli("verify", out, "--trust", public, check=False)
    assert tampered.returncode == 1 and "(changed: model_micro_int8.vela.tflite)" in tampered.stderr
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    from PIL import Image

    for i, image in enumerate(quadrants["x_test"][:40]):
        Image.fromarray(image[:, :, 0]).save(pictures / f"{i:02d}.png")
    run_cli("score", tmp_path / "out" / "model_micro_int8.tflite", pictures, "--out", tmp_path / "s.parquet",
            "--workers", "2", "--batch-size", "10", cwd=work)
    assert marks(work) == []


def test_a_parquet_dictionary_bomb_is_read_once_per_value_and_bad_image_columns_are_one_line(tmp_path):
    """1,000 rows naming one 20 MB dictionary value in a 1 KB file: the footer counts the value once, and a plain
    read materialised it for every row (6.8 GB before, then a traceback)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.conftest import dress_model, with_peak

    model = dress_model(tmp_path / "dress.onnx")
    value = b"\0" * (20 * 2**20)
    image = pa.DictionaryArray.from_arrays(pa.array(np.zeros(1000, np.int32)), pa.array([value], pa.binary()))
    pq.write_table(pa.table({"image": image}), tmp_path / "bomb.parquet", compression="zstd", compression_level=22)
    assert (tmp_path / "bomb.parquet").stat().st_size < 4096
    peak, result = with_peak(EDGEPORT, "score", model, tmp_path / "bomb.parquet", "--out", tmp_path / "s.parquet",
                             "--no-verify", "--workers", "1")
    assert result.returncode == 0 and result.stdout.startswith("Scored 1,000 images: 1,000 errors"), result.stderr
    assert peak < 1024, f"peak {peak:.0f} MiB"
    # An image column of integers is one line, from score and from evaluate alike.
    pq.write_table(pa.table({"image": pa.array([1, 2, 3])}), tmp_path / "ints.parquet")
    for args in (("score", model, tmp_path / "ints.parquet", "--out", tmp_path / "i.parquet"),
                 ("evaluate", model, "--data", tmp_path / "ints.parquet")):
        result = run_cli(*args, "--no-verify", check=False)
        assert result.returncode == 1 and result.stderr.strip().endswith(
            "ints.parquet: its 'image' column holds int64; expected encoded picture bytes (binary)"), result.stderr


HOSTILE_NAMES = ['quote " and \\ backslash', "close */ comment", 'line\n#include "/etc/passwd"', "tri??/",
                 "??=??(??)??<??>??!??'??-", "nul\0byte", "\x1b[31mansi\u202ebidi", "x" * 100_000,
                 "caf\udce9 (Latin-1 bytes)"]


@pytest.mark.parametrize("standard", ["c++11", "c++14", "c++17"])
def test_class_names_in_the_kit_are_data_in_every_c_mode(standard, tmp_path):
    """Each name the probe tried, as the kit writes it, compiles with -trigraphs -Werror and prints its own bytes."""
    from edgeport.export.microkit import _c_string

    arrays = "".join(f"static const char n{i}[] = {_c_string(name)};\n" for i, name in enumerate(HOSTILE_NAMES))
    prints = "".join(f"  fwrite(n{i}, 1, sizeof(n{i}) - 1, stdout); fputc(0xff, stdout);\n"
                     for i in range(len(HOSTILE_NAMES)))
    source = tmp_path / "names.cc"
    source.write_text(f"#include <cstdio>\n{arrays}int main() {{\n{prints}  return 0;\n}}\n")
    subprocess.run(["g++", f"-std={standard}", "-trigraphs", "-Wall", "-Werror", str(source), "-o", str(tmp_path / "n")],
                   check=True, capture_output=True)
    printed = subprocess.run([str(tmp_path / "n")], capture_output=True, check=True).stdout
    assert printed.split(b"\xff")[:-1] == [name.encode("utf-8", "surrogateescape") for name in HOSTILE_NAMES]


@pytest.mark.parametrize("flag, value", [("--ram", "0.5"), ("--ram", "0"), ("--flash", "1" + "0" * 400),
                                         ("--ram", "1.5"), ("--flash", "1.2KiB.")])
def test_sizes_under_one_byte_or_beyond_reason_are_refused_before_anything_loads(flag, value, tmp_path):
    result = run_cli("export", tmp_path / "absent.keras", "--micro", flag, value, check=False)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f"{flag} must be a" in result.stderr and "Traceback" not in result.stderr


def test_a_name_cannot_print_a_line_of_its_own_or_an_8_bit_control(tmp_path):
    from PIL import Image

    from tests.conftest import dress_model

    model = dress_model(tmp_path / "dress.onnx")
    folder = tmp_path / "pictures"
    folder.mkdir()
    picture = np.zeros((28, 28), np.uint8)
    Image.fromarray(picture).save(folder / "a\nb.png: T-shirt (100.0 %).png")
    Image.fromarray(picture).save(os.fsdecode(bytes(folder) + b"/c\x9b31m.png"))
    result = subprocess.run([EDGEPORT, "predict", str(model), str(folder), "--no-verify"], capture_output=True,
                            env=ENV, stdin=subprocess.DEVNULL)
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and len(lines) == 2, result
    assert b"\x9b" not in result.stdout and b"\\udc9b" in result.stdout
    assert lines[0].endswith(b"/a\\nb.png: T-shirt (100.0 %).png: 3 (100.0 %)  top 3: 3 100.0 %, 9 0.0 %, 8 0.0 %")


def test_arrays_whose_headers_lie_are_one_line(tmp_path):
    """An .npy of shape (-1, 28, 28) gave predict a traceback and score '0 images' with exit 0; an .npz whose labels
    declare 10^12 entries tried to allocate 7.28 TiB."""
    import io
    import zipfile

    from tests.conftest import dress_model

    model = dress_model(tmp_path / "dress.onnx")
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((1, 28, 28), np.uint8))
    (tmp_path / "negative.npy").write_bytes(buffer.getvalue().replace(b"(1, 28, 28)", b"(-1, 28, 28)"))
    labels = io.BytesIO()
    np.save(labels, np.zeros(3, np.int64))
    images = io.BytesIO()
    np.save(images, np.zeros((3, 28, 28), np.uint8))
    with zipfile.ZipFile(tmp_path / "labels.npz", "w") as archive:
        archive.writestr("x.npy", images.getvalue())
        archive.writestr("y.npy", labels.getvalue().replace(b"(3,)", b"(1000000000000,)"))
    for args, message in [
        (("predict", model, tmp_path / "negative.npy"), "negative.npy is not a readable .npy array"),
        (("score", model, tmp_path / "negative.npy", "--out", tmp_path / "s.parquet"),
         "negative.npy: its header declares the shape (-1, 28, 28), which no array has"),
        (("evaluate", model, "--data", tmp_path / "labels.npz"), "labels.npz: x has 3 images but y has 1000000000000 "
                                                                 "labels"),
    ]:
        result = run_cli(*args, "--no-verify", check=False)
        assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert message in result.stderr and not (tmp_path / "s.parquet").exists()


def test_a_non_utf8_file_name_is_one_error_row_not_a_failed_job(tmp_path):
    import pyarrow.parquet as pq
    from PIL import Image

    from tests.conftest import dress_model

    model = dress_model(tmp_path / "dress.onnx")
    folder = tmp_path / "pictures"
    folder.mkdir()
    for name in (b"a.png", b"\xff.png"):
        Image.fromarray(np.zeros((28, 28), np.uint8)).save(os.fsdecode(bytes(folder) + b"/" + name))
    result = run_cli("score", model, folder, "--out", tmp_path / "s.parquet", "--no-verify", "--workers", "1")
    assert result.stdout.startswith("Scored 2 images: 1 errors")
    table = pq.read_table(tmp_path / "s.parquet").to_pydict()
    assert table["path"] == [f"{folder}/a.png", f"{folder}/\\xff.png"]
    assert table["error"] == [None, f"{folder}/\\xff.png: the file name is not UTF-8 (its other bytes shown as \\x "
                                    f"escapes): rename it"]


def test_a_non_utf8_class_folder_is_refused_before_export_writes_anything(tmp_path):
    """A class folder whose name is not UTF-8 made `export --micro` fail after publishing, with no kit, and every
    picture in it was skipped. Its name becomes a class name: one line says which folder, and nothing is written."""
    import keras
    from PIL import Image

    from tests.conftest import edgeport

    for split in ("train", "test"):
        for name in (b"cat", b"d\xffg"):
            folder = os.fsdecode(b"/".join([bytes(tmp_path), b"data", split.encode(), name]))
            os.makedirs(folder)
            for i in range(3):
                Image.fromarray(np.full((8, 8), 60 * i, np.uint8)).save(os.path.join(folder, f"{i}.png"))
    keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                      keras.layers.Dense(2, activation="softmax")]).save(tmp_path / "m.keras")
    result = edgeport("export", tmp_path / "m.keras", "--data", tmp_path / "data", "--out", tmp_path / "out",
                     "--formats", "micro-int8", "--micro", "--no-emulator", check=False)
    assert result.returncode == 1 and result.stderr.strip().splitlines() == [
        f"edgeport export: error: {tmp_path / 'data'}: the class folder d\\xffg is not UTF-8 (its other bytes shown "
        f"as \\x escapes): rename it, as its name becomes a class name"]
    assert not (tmp_path / "out").exists()


def test_a_parquet_footer_over_the_limit_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    """pyarrow parses a footer whole, into about 11x its bytes, in every process that reads the file: 200,000
    one-row groups took 265 MB in each. A footer over the limit is one line, before pyarrow reads it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from edgeport.runtime import parquet_source, sources
    from edgeport.runtime.errors import DataError

    pq.write_table(pa.table({"image": pa.array([b"x"] * 2000, pa.binary())}), tmp_path / "g.parquet",
                   row_group_size=1)
    footer = pq.ParquetFile(tmp_path / "g.parquet").metadata.serialized_size
    assert footer > 100_000
    parsed = []
    real = pq.ParquetFile
    monkeypatch.setattr(pq, "ParquetFile", lambda *a, **k: parsed.append(a[0]) or real(*a, **k))
    monkeypatch.setattr(parquet_source, "MAX_FOOTER_BYTES", footer - 1)
    with pytest.raises(DataError) as refused:
        sources.open_source(tmp_path / "g.parquet")
    assert str(refused.value) == (f"{tmp_path / 'g.parquet'}: its footer (the index of its row groups) is "
                                  f"{footer:,} bytes, over the limit of {footer - 1:,}: rewrite it with fewer, larger "
                                  f"row groups (pyarrow: write_table(..., row_group_size=100_000))")
    assert parsed == []
    monkeypatch.setattr(parquet_source, "MAX_FOOTER_BYTES", footer)
    assert sources.open_source(tmp_path / "g.parquet").stream().count == 2000


def test_many_small_row_groups_are_read_and_written_in_few_pieces(tmp_path, monkeypatch):
    """200,000 one-row groups took 227 s and 3.0 GB: a piece, a chunk and an output row group for each."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    from edgeport import runtime
    from edgeport.runtime.sources import open_source
    from tests.conftest import dress_model

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(buffer, format="PNG")
    pq.write_table(pa.table({"image": pa.array([buffer.getvalue()] * 5000, pa.binary()),
                             "label": pa.array(np.arange(5000) % 10)}), tmp_path / "groups.parquet", row_group_size=1)
    stream = open_source(tmp_path / "groups.parquet").stream()
    pieces = list(stream.pieces(1000))
    assert [(p.start, p.stop, p.row_group, p.row_group_count) for p in pieces] == [
        (k * 1000, (k + 1) * 1000, k * 1000, 1000) for k in range(5)]
    model = dress_model(tmp_path / "dress.onnx")
    reads = []
    real = pq.ParquetFile.iter_batches
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", lambda self, *a, **k: reads.append(k) or real(self, *a, **k))
    summary = runtime.score(runtime.load(model, verify=False), tmp_path / "groups.parquet", tmp_path / "i.parquet",
                            batch_size=1000, workers=1)
    assert summary["images"] == 5000 and summary["errors"] == 0
    assert [len(k["row_groups"]) for k in reads] == [1000] * 5  # a piece's groups in one read, not 5,000 reads
    run_cli("score", model, tmp_path / "groups.parquet", "--out", tmp_path / "s.parquet", "--no-verify",
            "--batch-size", "1000")
    scores = pq.ParquetFile(tmp_path / "s.parquet")
    assert scores.metadata.num_rows == 5000 and scores.metadata.num_row_groups == 1
    table = scores.read().to_pydict()
    assert table["index"] == list(range(5000)) and table["true_class_index"] == [i % 10 for i in range(5000)]
    assert set(table["class_index"]) == {3} and table["error"] == [None] * 5000
