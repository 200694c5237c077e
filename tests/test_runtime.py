"""The runtime, as a device runs it, on real exported files.

That it never imports TensorFlow is proven in a fresh process (test_device_install.py), so
that the proof does not depend on which tests ran before.
"""

import json
import shutil
import threading

import numpy as np
import pytest
from PIL import Image

from edgeport import runtime
from edgeport.runtime.predictor import DEFAULT_BATCH_SIZE
from tests.conftest import FILES, run_cli, run_python

@pytest.fixture(scope="module")
def images(test_set):
    return test_set[0]


@pytest.fixture
def copy_of(exported, tmp_path):
    """Copy some exported files (and, on request, the manifest) into a fresh folder."""

    def make(*names, manifest=True):
        for name in names + (("manifest.json",) if manifest else ()):
            shutil.copy(exported / name, tmp_path / name)
        return tmp_path

    return make


# --- good input ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FILES))
def test_predict_one_matches_the_batch_and_the_keras_class(exported, images, name):
    predictor = runtime.load(exported / name)
    reference = np.load(exported / "reference_probs.npy")
    result = predictor.predict_one(images[0])
    assert result.label == int(reference[0].argmax()) == 9
    assert result.class_name == "Ankle boot"
    assert result.confidence == pytest.approx(float(result.probabilities.max()))
    np.testing.assert_allclose(result.probabilities, predictor.predict(images[:5])[0], atol=1e-6)
    assert predictor.num_classes == 10 and predictor.class_names == runtime.CLASS_NAMES
    assert predictor.size_bytes == (exported / name).stat().st_size


@pytest.mark.parametrize("name", ["model_fp32.tflite", "model_int8.tflite", "model.onnx", "model_int8.onnx"])
def test_every_accepted_input_form_gives_the_same_answer(exported, images, name):
    predictor = runtime.load(exported / name)
    batch = images[:4]
    expected = predictor.predict(batch)
    same = {
        "floats in [0, 1]": batch.astype(np.float64) / 255.0,
        "float32": batch.astype(np.float32) / 255.0,
        "int64 pixels": batch.astype(np.int64),
        "trailing channel": batch[..., None],
        "nested lists": batch.tolist(),
    }
    for label, variant in same.items():
        np.testing.assert_allclose(predictor.predict(variant), expected, atol=1e-5, err_msg=label)
    for single in (images[0], images[0][..., None], images[:1]):
        np.testing.assert_allclose(predictor.predict(single), expected[:1], atol=1e-6)


def test_empty_batch_gives_an_empty_result(exported):
    for name in ("model_int8.tflite", "model.onnx"):
        out = runtime.load(exported / name).predict(np.zeros((0, 28, 28), np.uint8))
        assert out.shape == (0, 10) and out.dtype == np.float32


def test_chunked_prediction_equals_one_call(exported, images):
    predictor = runtime.load(exported / "model_fp32.tflite")
    whole = predictor.predict(images[:2500], batch_size=2500)
    np.testing.assert_allclose(predictor.predict(images[:2500], batch_size=700), whole, atol=1e-6)


def test_tflite_resizes_only_when_the_batch_size_changes(exported, images):
    predictor = runtime.load(exported / "model_int8.tflite")
    calls = []
    real = predictor.engine._interpreter.resize_tensor_input
    predictor.engine._interpreter.resize_tensor_input = lambda *a, **k: (calls.append(a[1]), real(*a, **k))
    step = DEFAULT_BATCH_SIZE
    predictor.predict(images[:step])
    predictor.predict(images[step:2 * step])
    predictor.predict(images[:3 * step])  # three chunks of one engine call each: no resize at all
    assert calls == [[step, 28, 28]]
    predictor.predict_one(images[0])
    predictor.predict_one(images[1])
    assert calls == [[step, 28, 28], [1, 28, 28]]


def test_integer_model_dequantizes_itself(exported, images):
    predictor = runtime.load(exported / "model_int8.tflite")
    probs = predictor.predict(images[:100])
    assert predictor.quantization == "int8"
    assert probs.dtype == np.float32
    assert np.all(probs >= 0) and np.all(probs <= 1)
    # Softmax outputs sum to one, up to the int8 output step (1/256) per class.
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=10 / 256)


# --- bad arrays ------------------------------------------------------------------------


@pytest.mark.parametrize("bad, error, message", [
    (np.zeros((32, 32), np.uint8), ValueError, r"expected images of 28x28 pixels; got 32x32 \(array shape \(32, 32\)\)"),
    (np.zeros((5, 28, 28, 3), np.uint8), ValueError, r"expected 1 channel; got 3"),
    (np.zeros((28, 28, 3), np.uint8), ValueError, r"expected 1 channel; got 3"),
    (np.zeros(784, np.uint8), ValueError, r"got an array of shape \(784,\) \(rank 1\)"),
    (np.zeros((1, 1, 28, 28, 1), np.uint8), ValueError, r"\(rank 5\)"),
    (np.full((28, 28), "a"), TypeError, r"images must be numeric .* got dtype <U1"),
    (np.zeros((28, 28), bool), TypeError, r"got dtype bool"),
    (np.full((28, 28), np.nan, np.float32), ValueError, r"images contain NaN or inf"),
    (np.full((28, 28), np.inf), ValueError, r"images contain NaN or inf"),
    (np.full((28, 28), 2.0), ValueError, r"float images must be in \[0, 1\]; got values in \[2, 2\] \(pass uint8"),
    (np.full((28, 28), -1, np.int32), ValueError, r"integer images must be pixels in 0..255; got values in \[-1, -1\]"),
    (np.full((28, 28), 256, np.int64), ValueError, r"integer images must be pixels in 0..255"),
])
@pytest.mark.parametrize("name", ["model_int8.tflite", "model.onnx"])
def test_bad_arrays_are_refused_with_what_was_expected(exported, name, bad, error, message):
    predictor = runtime.load(exported / name)
    with pytest.raises(error, match=message) as caught:
        predictor.predict(bad)
    assert name in str(caught.value)


def test_predict_one_refuses_a_batch_and_predict_a_bad_batch_size(exported, images):
    predictor = runtime.load(exported / "model.onnx")
    with pytest.raises(ValueError, match="predict_one takes one image; got a batch of 2: use predict"):
        predictor.predict_one(images[:2])
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="batch_size must be a positive whole number"):
            predictor.predict(images[:3], batch_size=bad)


# --- files that are not what they claim ------------------------------------------------

PROBE = """
import sys, numpy as np
from edgeport import runtime
try:
    p = runtime.load(sys.argv[1], verify=sys.argv[2] == "verify")
    p.predict(np.zeros(p.input_shape[1:], np.uint8))
    print("LOADED")
except (ValueError, FileNotFoundError) as e:
    print("REFUSED", type(e).__name__, e)
"""


def probe(path, verify=True):
    """Load and run path in a fresh process, so that a crash shows as a crash."""
    result = run_python("-c", PROBE, str(path), "verify" if verify else "no", check=False)
    assert result.returncode == 0, f"{path.name}: the process died ({result.returncode}): {result.stderr[-500:]}"
    return result.stdout.strip()


def _corrupt_cases(exported):
    tflite = (exported / "model_int8.tflite").read_bytes()
    onnx = (exported / "model.onnx").read_bytes()
    rng = np.random.default_rng(7)
    return {
        "empty.tflite": b"",
        "empty.onnx": b"",
        "text.tflite": b"this is not a model at all, just a sentence\n",
        "text.onnx": b"this is not a model at all, just a sentence\n",
        "random.tflite": rng.bytes(50_000),
        "random.onnx": rng.bytes(50_000),
        "header-only.tflite": tflite[:64],
        "truncated-half.tflite": tflite[: len(tflite) // 2],
        "truncated-end.tflite": tflite[:-100],
        "truncated-half.onnx": onnx[: len(onnx) // 2],
        "truncated-start.onnx": onnx[:200],
        "bad-identifier.tflite": tflite[:4] + b"XXXX" + tflite[8:],
        "flipped-header.tflite": bytes(b ^ 0xFF if i < 32 else b for i, b in enumerate(tflite)),
        "flipped-header.onnx": bytes(b ^ 0xFF if i < 32 else b for i, b in enumerate(onnx)),
        # Valid protobuf, but a metadata string that is not UTF-8 (onnxruntime prints a banner here).
        "bad-utf8-metadata.onnx": onnx.replace(b"Ankle boot", b"Ankle\x97boot"),
    }


def test_malformed_files_are_refused_by_name_without_crashing(exported, tmp_path):
    for name, data in _corrupt_cases(exported).items():
        path = tmp_path / name
        path.write_bytes(data)
        outcome = probe(path)
        assert outcome.startswith("REFUSED ModelFileError"), f"{name}: {outcome}"
        assert name in outcome, outcome


def test_randomly_flipped_bytes_never_crash_the_process(exported, tmp_path):
    # Without a manifest a flip in the weights still makes a runnable model; what must never
    # happen is a segfault or abort. Flips near structure usually end in a clean refusal.
    rng = np.random.default_rng(11)
    outcomes = []
    for source in ("model_int8.tflite", "model_fp16.tflite", "model_int8.onnx"):
        data = bytearray((exported / source).read_bytes())
        for trial in range(4):
            flipped = bytearray(data)
            for i in rng.integers(0, len(data), 16):
                flipped[i] ^= 0xFF
            path = tmp_path / f"flip{trial}-{source}"
            path.write_bytes(bytes(flipped))
            outcomes.append(probe(path).split()[0])
    assert set(outcomes) <= {"LOADED", "REFUSED"}


def test_missing_file_unsupported_suffix_and_directory(exported, tmp_path):
    assert probe(tmp_path / "absent.tflite") == f"REFUSED FileNotFoundError {tmp_path / 'absent.tflite'}: no such model file"
    shutil.copy(exported / "model.onnx", tmp_path / "model.pb")
    assert "expected a path ending in '.tflite', '.onnx' or '.ort'" in probe(tmp_path / "model.pb")
    (tmp_path / "folder.onnx").mkdir()
    assert probe(tmp_path / "folder.onnx") == f"REFUSED ModelFileError {tmp_path / 'folder.onnx'} is not a file"


def _with_external_data(exported, folder, location):
    """model.onnx with its weights moved to an external file named `location`."""
    script = (
        "import onnx, sys\n"
        "m = onnx.load(sys.argv[1])\n"
        "onnx.save_model(m, sys.argv[2] + '/ext.onnx', save_as_external_data=True, location='weights.bin', size_threshold=1024)\n"
        "m = onnx.load(sys.argv[2] + '/ext.onnx', load_external_data=False)\n"
        "for t in m.graph.initializer:\n"
        "    for e in t.external_data:\n"
        "        if e.key == 'location': e.value = sys.argv[3]\n"
        "onnx.save(m, sys.argv[2] + '/ext.onnx')\n"
    )
    run_python("-c", script, str(exported / "model.onnx"), str(folder), location)
    return folder / "ext.onnx"


def test_onnx_external_data_inside_its_folder_loads(exported, tmp_path):
    path = _with_external_data(exported, tmp_path, "weights.bin")
    assert probe(path) == "LOADED"


@pytest.mark.parametrize("where", ["escape", "absolute", "symlink"])
def test_onnx_external_data_outside_its_folder_is_refused(exported, tmp_path, where):
    inside = tmp_path / "model"
    inside.mkdir()
    path = _with_external_data(exported, inside, "weights.bin")
    secret = tmp_path / "secret.bin"
    shutil.move(inside / "weights.bin", secret)
    location = {"escape": "../secret.bin", "absolute": str(secret), "symlink": "link.bin"}[where]
    if where == "symlink":
        (inside / "link.bin").symlink_to(secret)
    path = _with_external_data(exported, inside, location)
    outcome = probe(path)
    assert outcome.startswith("REFUSED ModelFileError ext.onnx refers to external data outside its own folder"), outcome


# --- integrity -------------------------------------------------------------------------


def test_tampered_file_is_refused_unless_verify_is_off(copy_of, images):
    folder = copy_of("model_int8.tflite")
    path = folder / "model_int8.tflite"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, deep in the weights: still a runnable model
    path.write_bytes(bytes(data))
    with pytest.raises(runtime.IntegrityError, match=r"model_int8.tflite does not match manifest.json: sha256 "
                                                     r"[0-9a-f]{64} expected [0-9a-f]{64}; re-export it, or load it "
                                                     r"with verify=False to run it anyway$"):
        runtime.load(path)
    assert runtime.load(path, verify=False).predict(images[:2]).shape == (2, 10)


def test_class_names_come_from_the_manifest_then_from_the_file_itself(copy_of, tmp_path):
    folder = copy_of("model_int8.tflite", "model.onnx")
    manifest = json.loads((folder / "manifest.json").read_text())
    for name in ("model.onnx", "model_int8.tflite"):
        manifest["files"][name]["class_names"] = [f"c{i}" for i in range(10)]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert runtime.load(folder / "model.onnx").class_names[0] == "c0"
    assert runtime.load(folder / "model_int8.tflite").class_names[0] == "c0"
    (folder / "manifest.json").unlink()
    for name in ("model.onnx", "model_int8.tflite"):  # a lone copy: the file's own metadata
        alone = runtime.load(folder / name)
        assert alone.class_names == runtime.CLASS_NAMES and alone.background == "dark"
        assert alone.preprocessing == runtime.Preprocessing.unit() and alone.output == "probabilities"
    assert runtime.load(folder / "model_int8.tflite").quantization == "int8"


def test_a_broken_manifest_is_a_clear_error(copy_of):
    folder = copy_of("model.onnx")
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"manifest.json is not valid JSON .* re-run 'edgeport export'"):
        runtime.load(folder / "model.onnx")
    # With verification off, the broken manifest is ignored with a warning; the file's own metadata serves.
    with pytest.warns(UserWarning, match=r"manifest.json is not valid JSON .*; ignored because verification is off"):
        predictor = runtime.load(folder / "model.onnx", verify=False)
    assert predictor.class_names == runtime.CLASS_NAMES and predictor.background == "dark"


def test_quantization_is_detected_without_a_manifest(copy_of):
    folder = copy_of("model_fp16.tflite", "model_dynamic.tflite", "model_int8.tflite", manifest=False)
    assert [runtime.load(folder / n).quantization for n in ("model_fp16.tflite", "model_dynamic.tflite", "model_int8.tflite")] == [
        "float16", "dynamic", "int8"]


# --- threads ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["model_int8.tflite", "model_fp32.tflite", "model.onnx"])
def test_one_predictor_from_eight_threads_equals_serial(exported, images, name):
    predictor = runtime.load(exported / name, threads=1)
    per_thread, threads = 500, 8
    serial = predictor.predict(images[: per_thread * threads], batch_size=1)
    results = np.zeros_like(serial)
    errors = []

    def work(t):
        try:
            for i in range(t * per_thread, (t + 1) * per_thread):
                # Alternate single images and small batches: both paths share the interpreter.
                if i % 2:
                    results[i] = predictor.predict_one(images[i]).probabilities
                else:
                    results[i] = predictor.predict(images[i : i + 1])[0]
        except Exception as e:  # surfaced below; a thread's exception is otherwise lost
            errors.append(e)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    np.testing.assert_array_equal(results, serial)


def test_threads_must_be_positive(exported):
    with pytest.raises(ValueError, match="threads must be a positive whole number or None; got 0"):
        runtime.load(exported / "model.onnx", threads=0)
    assert runtime.load(exported / "model.onnx", threads=2).predict(np.zeros((28, 28), np.uint8)).shape == (1, 10)


# --- evaluation ------------------------------------------------------------------------


def test_evaluate_scores_against_labels_and_reference(exported, test_set):
    images, labels = test_set
    reference = np.load(exported / "reference_probs.npy")
    predictor = runtime.load(exported / "model_int8.onnx")
    result = runtime.evaluate(predictor, images, labels, reference=reference)
    predicted = predictor.predict(images).argmax(1)
    assert result["accuracy"] == pytest.approx(np.mean(predicted == labels))
    matrix = np.array(result["confusion_matrix"])
    assert matrix.sum() == 10_000 and matrix.sum(axis=1).tolist() == [1000] * 10
    assert np.trace(matrix) / 10_000 == pytest.approx(result["accuracy"])
    assert result["per_class_accuracy"][1] == pytest.approx(np.mean(predicted[labels == 1] == 1))
    changed = np.flatnonzero(predicted != reference.argmax(1))
    assert result["changed_indices"] == changed.tolist()
    assert result["agreement"] == pytest.approx(1 - len(changed) / 10_000)
    assert result["max_abs_diff"] == pytest.approx(np.abs(predictor.predict(images) - reference).max())
    with pytest.raises(ValueError, match="got 10 images but 9 labels"):
        runtime.evaluate(predictor, images[:10], labels[:9])


# --- command line ----------------------------------------------------------------------


def test_cli_predict_png_and_npy(exported, images, tmp_path):
    Image.fromarray(images[0]).save(tmp_path / "boot.png")
    # A bigger colour picture of the same thing: converted to grey and resized to 28x28.
    Image.fromarray(images[1]).convert("RGB").resize((84, 84), Image.Resampling.NEAREST).save(tmp_path / "big.jpg", quality=95)
    np.save(tmp_path / "three.npy", images[2:5])
    result = run_cli("predict", str(exported / "model_int8.tflite"),
                     str(tmp_path / "boot.png"), str(tmp_path / "big.jpg"), str(tmp_path / "three.npy"), "--json")
    rows = json.loads(result.stdout)
    reference = np.load(exported / "reference_probs.npy").argmax(1)
    assert [r["image"] for r in rows] == [str(tmp_path / "boot.png"), str(tmp_path / "big.jpg")] + [
        f"{tmp_path / 'three.npy'}[{i}]" for i in range(3)]
    assert rows[0]["class_name"] == "Ankle boot" and len(rows[0]["top"]) == 3
    assert rows[1]["label"] == reference[1]
    assert [r["label"] for r in rows[2:]] == reference[2:5].tolist()
    text = run_cli("predict", str(exported / "model.onnx"), str(tmp_path / "boot.png"))
    assert text.stdout.startswith(f"{tmp_path / 'boot.png'}: Ankle boot (") and "top 3: Ankle boot" in text.stdout


def test_cli_evaluate_reports_the_manifest_accuracy(exported):
    """The recommended file's: its manifest figures are on every validation image (another file's may be on
    the images that settled it)."""
    manifest = runtime.read_manifest(exported)
    recommended = manifest.recommended.overall
    result = run_cli("evaluate", str(exported / recommended), "--json")
    figures = json.loads(result.stdout)
    recorded = manifest.files[recommended].validation
    assert recorded.images == manifest.data.images
    assert figures["accuracy"] == pytest.approx(recorded.accuracy)
    assert figures["agreement"] == pytest.approx(recorded.agreement)
    text = run_cli("evaluate", str(exported / "model.onnx")).stdout
    assert "model.onnx: accuracy 0." in text and "agreement with Keras 100.00 %" in text


def test_cli_bench_prints_latency_and_throughput(exported):
    result = run_cli("bench", str(exported / "model_int8.tflite"), "--runs", "50", "--warmup", "5",
                     "--batch", "500", "--json")
    figures = json.loads(result.stdout)
    assert 0 < figures["single"]["p50_ms"] <= figures["single"]["p99_ms"]
    assert figures["batch"]["images"] == 500 and figures["batch"]["images_per_s"] > 0


@pytest.mark.parametrize("args, message", [
    (["predict", "{dir}/missing.onnx", "{dir}/x.png"], "missing.onnx: no such model file"),
    (["predict", "{exported}/model.onnx", "{dir}/nope.png"], "nope.png: no such file"),
    (["predict", "{exported}/model.onnx", "{dir}/junk.png"], "junk.png is not a readable picture"),
    # An array of another size is fitted by the model's rule, as evaluate fits it; one that holds no pixels is not.
    (["predict", "{exported}/model.onnx", "{dir}/wrong.npy"], "wrong.npy: expected uint8 pixels or floats in [0, 1]; "
                                                              "got float64 values in [7.0, 7.0]"),
    (["predict", "{exported}/model.onnx", "{dir}/notes.txt"], "expected a picture (.png"),
    (["evaluate", "{exported}/model.onnx", "--data-dir", "{dir}"], "Fashion-MNIST not found in"),
    (["bench", "{exported}/model.onnx", "--runs", "0"], "argument --runs: expected a number >= 1; got 0"),
    (["classify", "x"], "invalid choice: 'classify'"),
])
def test_cli_errors_are_one_line(exported, tmp_path, args, message):
    (tmp_path / "junk.png").write_bytes(b"not a png")
    (tmp_path / "notes.txt").write_text("hello")
    np.save(tmp_path / "wrong.npy", np.full((10, 10), 7.0))
    result = run_cli(*[a.format(dir=tmp_path, exported=exported) for a in args], check=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_a_failed_write_names_the_file_and_keeps_the_old_one(tmp_path):
    import errno

    from edgeport.runtime.files import atomic_path

    target = tmp_path / "model.onnx"
    target.write_bytes(b"the previous file")
    with pytest.raises(OSError) as info:
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half of a new file")
            raise OSError(errno.ENOSPC, "No space left on device")  # what a full disk raises: no file name
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert target.read_bytes() == b"the previous file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]
