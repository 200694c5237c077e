"""One data layer: every command reads the same sources the same way, fits pictures by one rule, and
says the same thing about the same bad input.

The expectations come from the seed model's files run directly on pictures read with Pillow
and fitted by runtime.read_picture (the rule a single picture gets), never from the command
under test.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from edgeport import runtime
from tests.conftest import edgeport, run_cli

MODEL = "model_int8.tflite"
PER_CLASS = 8


@pytest.fixture(scope="module")
def photos(test_set, tmp_path_factory):
    """80 Fashion-MNIST test images as 64x64 PNG class folders: enlarged, off-centre, on a grey floor."""
    images, labels = test_set
    root = tmp_path_factory.mktemp("photos") / "shelf"
    chosen = [int(i) for label in range(10) for i in np.flatnonzero(labels == label)[:PER_CLASS]]
    for n, i in enumerate(chosen):
        canvas = np.full((64, 64), 12, np.uint8)
        big = np.asarray(Image.fromarray(images[i]).resize((48, 48), Image.Resampling.BILINEAR))
        top, left = 3 + n % 10, 12 - n % 9
        canvas[top : top + 48, left : left + 48] = np.maximum(big, 12)
        folder = root / f"{labels[i]:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(canvas).save(folder / f"{i:05d}.png")
    return root, np.array([labels[i] for i in chosen])


def _expected(predictor, root):
    """Each picture through runtime.read_picture (the model's rule) and the file: {path: class}."""
    paths = sorted(root.rglob("*.png"))
    pixels = np.stack([runtime.read_picture(p, predictor.image_shape, predictor.background).pixels for p in paths])
    return dict(zip(map(str, paths), predictor.predict(pixels).argmax(1).tolist()))


def test_evaluate_predict_and_score_fit_pictures_by_one_rule(exported, photos, tmp_path):
    root, _ = photos
    predictor = runtime.load(exported / MODEL)
    assert predictor.background == "dark" and runtime.fit_rule(predictor.background) == "frame"
    expected = _expected(predictor, root)
    truth = {path: int(path.split("/")[-2]) for path in expected}
    accuracy = np.mean([expected[p] == truth[p] for p in expected])
    plain = np.stack([np.asarray(Image.open(p).resize((28, 28), Image.Resampling.BILINEAR)) for p in sorted(expected)])
    plain_accuracy = np.mean(predictor.predict(plain).argmax(1) == [truth[p] for p in sorted(expected)])
    assert accuracy != plain_accuracy  # the rule matters on these pictures, so agreeing below means something

    evaluated = json.loads(run_cli("evaluate", exported / MODEL, "--data", root, "--json").stdout)
    assert evaluated["n"] == 10 * PER_CLASS and evaluated["accuracy"] == pytest.approx(accuracy)
    scored = json.loads(run_cli("score", exported / MODEL, root, "--out", tmp_path / "s.parquet", "--json").stdout)
    rows = pq.read_table(tmp_path / "s.parquet").to_pydict()
    assert dict(zip(rows["path"], rows["class_index"])) == expected
    assert scored["accuracy"] == pytest.approx(accuracy)
    listed = json.loads(run_cli("predict", exported / MODEL, "--data", root, "--json", "--top", "1").stdout)
    assert [row["label"] for row in listed] == [expected[p] for p in sorted(expected)]


def _test_only_npz(folder, images, labels):
    np.savez(folder / "test_only.npz", x_test=images, y_test=labels, class_names=np.array(runtime.CLASS_NAMES))
    return folder / "test_only.npz"


def _parquet_store(folder, images, labels):
    encoded = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        encoded.append(buffer.getvalue())
    pq.write_table(pa.table({"image": encoded, "label": labels.astype(np.int64)}), folder / "store.parquet",
                   row_group_size=100)
    return folder / "store.parquet"


@pytest.mark.parametrize("make", [_test_only_npz, _parquet_store], ids=["npz with x_test only", "parquet"])
def test_evaluate_reads_every_source_that_score_reads(exported, test_set, tmp_path, make):
    images, labels = test_set[0][:300], test_set[1][:300]
    data = make(tmp_path, images, labels)
    predictor = runtime.load(exported / MODEL)
    expected = float(np.mean(predictor.predict(images).argmax(1) == labels))
    evaluated = json.loads(run_cli("evaluate", exported / MODEL, "--data", data, "--json").stdout)
    assert evaluated["split"] == ("test" if data.suffix == ".npz" else "all")
    assert evaluated["n"] == 300 and evaluated["accuracy"] == pytest.approx(expected)
    scored = json.loads(run_cli("score", exported / MODEL, data, "--out", tmp_path / "s.parquet", "--json").stdout)
    assert scored["accuracy"] == pytest.approx(expected)


def test_a_source_opens_to_its_splits_and_reads_in_pieces(photos, tmp_path, test_set):
    root, truth = photos
    source = runtime.open_source(root)
    assert source.kind == "folder" and list(source.splits) == ["all"] and len(source.class_names) == 10
    stream = source.stream()
    assert stream.count == 10 * PER_CLASS and stream.has_labels and stream.has_paths
    chunks = list(stream.chunks(30, (28, 28, 1), "dark"))
    assert [len(c) for c in chunks] == [30, 30, 20]
    assert np.concatenate([c.true_labels for c in chunks]).tolist() == sorted(truth.tolist())
    images, labels = test_set
    np.savez(tmp_path / "both.npz", x_train=images[:50], y_train=labels[:50], x_test=images[50:80],
             y_test=labels[50:80])
    split = runtime.open_source(tmp_path / "both.npz")
    assert list(split.splits) == ["train", "test"] and split.validation_split == "test"
    assert split.stream("train").count == 50 and split.stream().count == 30
    data = runtime.load_dataset(tmp_path / "both.npz", (28, 28, 1))
    np.testing.assert_array_equal(data.calibration[1].images[..., 0], images[:50])
    np.testing.assert_array_equal(data.validation[1].labels, labels[50:80])
    assert data.background == "dark"  # told from the pictures themselves: light objects on black


@pytest.mark.parametrize("command", [
    ("evaluate", "{model}", "--data", "{data}"),
    ("predict", "{model}", "--data", "{data}"),
    ("score", "{model}", "{data}", "--out", "{out}"),
])
@pytest.mark.parametrize("bad, message", [
    ("missing", "{data}: no such data: expected 'fashion-mnist', a folder of pictures"),
    ("empty", "{data}: no pictures (.png, .jpg,"),
    ("not-npz", "{data} is not a readable .npz file:"),
])
def test_the_same_bad_input_gets_the_same_line_from_every_command(exported, tmp_path, command, bad, message):
    data = tmp_path / {"missing": "nothing", "empty": "empty", "not-npz": "broken.npz"}[bad]
    if bad == "empty":
        data.mkdir()
    elif bad == "not-npz":
        data.write_bytes(b"not a zip archive")
    args = [a.format(model=exported / MODEL, data=data, out=tmp_path / "o.parquet") for a in command]
    result = run_cli(*args, check=False)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"edgeport {command[0]}: error: {message.format(data=data)}"), line
    assert not (tmp_path / "o.parquet").exists()


def test_export_refuses_the_same_bad_data_in_the_same_words(exported, tmp_path):
    result = edgeport("export", exported / "model.keras", "--data", tmp_path / "nothing", "--out", tmp_path / "out",
                      "--formats", "fp32", check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"edgeport export: error: {tmp_path / 'nothing'}: no such data: expected "
                                     f"'fashion-mnist', a folder of pictures (class folders give labels), an .npz or "
                                     f".npy file, or a .parquet file or folder")
    assert not (tmp_path / "out").exists()


def test_a_folder_holding_only_test_is_the_validation_split(test_set, tmp_path):
    """test/ alone was read as one class named "test" (evaluate: "has 1 classes (test)"); score then wrote rows
    without labels. It is the validation split, labelled by its class folders."""
    from tests.conftest import dress_model

    images, labels = test_set
    names = [f"c{k}" for k in range(10)]
    for k, name in enumerate(names):
        folder = tmp_path / "data" / "test" / name
        folder.mkdir(parents=True)
        for i in np.flatnonzero(labels == k)[:2]:
            Image.fromarray(images[i]).save(folder / f"{i}.png")
    data = runtime.load_dataset(tmp_path / "data", (28, 28, 1))
    assert list(data.splits) == ["test"] and data.class_names == tuple(names)
    assert data.validation[0] == "test" and sorted(data.validation[1].labels.tolist()) == sorted(list(range(10)) * 2)
    model = dress_model(tmp_path / "dress.onnx")  # answers class 3 to everything: 2 of the 20 pictures
    result = run_cli("evaluate", model, "--data", tmp_path / "data", "--no-verify", "--json")
    assert json.loads(result.stdout)["accuracy"] == pytest.approx(0.1)
    run_cli("score", model, tmp_path / "data", "--out", tmp_path / "s.parquet", "--no-verify")
    rows = pq.read_table(tmp_path / "s.parquet").to_pydict()
    assert len(rows["class_index"]) == 20 and None not in rows["class_index"]
