"""What the recommendation weighs: a class the file hurts, timing noise, and what would settle it.

The per-class case is a real export of a tiny Keras model built so that 8-bit weights erase one rare class:
its weights are a tenth of the others', beside one large weight on a pixel that is always dark, so that the
int8 weight scale rounds them to zero while the float file is unchanged.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from edgeport import runtime
from tests.conftest import edgeport

CLASSES = ("left", "middle", "rare")


def stripe_pictures(counts, seed: int):
    """8x8 pictures: class k is a bright band of columns (0-2, 3-5, 6-7) below an always-dark first row."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), counts)
    images = rng.integers(0, 9, (len(labels), 8, 8)).astype(np.uint8)
    for label, columns in enumerate((slice(0, 3), slice(3, 6), slice(6, 8))):
        images[labels == label, 1:, columns] = 240
    images[:, 0, :] = 0
    return images, labels


def fragile_model(path):
    """Dense weights: 1.0 on the left and middle bands, 0.1 on the rare band, and 100 on the dark pixel (0, 0)."""
    import keras

    weights = np.zeros((8, 8, 3), np.float32)
    weights[:, 0:3, 0], weights[:, 3:6, 1], weights[:, 6:8, 2] = 1.0, 1.0, 0.1
    weights[0, 0, 2] = 100.0
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    model.layers[-1].set_weights([weights.reshape(64, 3), np.zeros(3, np.float32)])
    model.save(path)
    return path


@pytest.fixture(scope="module")
def fragile(tmp_path_factory):
    root = tmp_path_factory.mktemp("fragile")
    (x_train, y_train), (x_test, y_test) = stripe_pictures((200, 200, 3), 1), stripe_pictures((300, 300, 4), 2)
    np.savez(root / "data.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
             class_names=np.array(CLASSES))
    return {"model": fragile_model(root / "model.keras"), "npz": root / "data.npz", "labels": y_test}


def test_a_file_that_erases_a_rare_class_is_not_recommended_and_the_headline_names_the_class(fragile, tmp_path):
    out = tmp_path / "out"
    result = edgeport("export", fragile["model"], "--data", fragile["npz"], "--out", out, "--formats", "fp32,int8",
                      "--budget", "1")
    manifest = runtime.read_manifest(out)
    int8 = manifest.files["model_int8.tflite"].validation
    # Independently of edgeport: the 4 rare pictures are lost, and nothing else changes.
    labels = fragile["labels"]
    assert int8.accuracy_change == pytest.approx(-4 / len(labels)) and int8.agreement == pytest.approx(1 - 4 / 604)
    assert -100 * int8.accuracy_change < 1 and int8.agreement >= 0.985  # within the overall budget and bar
    assert (int8.worst_class, int8.worst_class_change) == ("rare", -1.0)
    assert int8.worst_class_interval[1] < -0.02  # wholly beyond the class budget (twice the 1 pt budget)
    assert int8.balanced_accuracy == pytest.approx(2 / 3) and int8.reference_balanced_accuracy == 1.0
    [miss] = [m for m in int8.misses if m.kind == "class"]
    assert miss.verdict == "fail" and miss.bar == pytest.approx(0.02)
    fp32 = manifest.files["model_fp32.tflite"].validation
    assert fp32.worst_class_change == 0.0 and fp32.balanced_accuracy == 1.0
    assert manifest.recommended.overall == "model_fp32.tflite" and manifest.recommended.class_budget_pt == 2.0
    assert "not recommended, for the class each hurts beyond the 2 pt per-class budget: model_int8.tflite (rare " \
           "-100.00 pt, 95 % " in result.stdout
    # A class budget that allows it: the smaller file is within it (as report --class-budget remakes the choice),
    # and an export with it recommends that file (by size: on so small a model int8 may time slower than float).
    from edgeport.export.recommend import within_budget

    entry = manifest.files["model_int8.tflite"]
    assert within_budget(entry, 1.0, 100.0) and not within_budget(entry, 1.0) and not within_budget(entry, 1.0, 2.0)
    again = edgeport("export", fragile["model"], "--data", fragile["npz"], "--out", tmp_path / "lenient",
                     "--formats", "fp32,int8", "--budget", "1", "--class-budget", "100", "--objective", "size")
    lenient = runtime.read_manifest(tmp_path / "lenient")
    assert lenient.recommended.overall == "model_int8.tflite" and lenient.recommended.class_budget_pt == 100
    # The report keeps the export's class budget at the export's budget, unless told another.
    from edgeport.export.report import recommend as report_choice

    assert report_choice(lenient, 1.0) == "model_int8.tflite" and report_choice(lenient, 1.0, 2.0) == "model_fp32.tflite"
    assert "per-class budget" not in again.stdout
    bad = edgeport("export", fragile["model"], "--class-budget", "-1", check=False)
    assert bad.returncode == 2 and "argument --class-budget: expected points >= 0; got -1" in bad.stderr


def _timed(entry, median, low, high):
    return replace(entry, latency_us=median, latency_interval_us=[low, high])


def test_balanced_weighs_timing_intervals_not_a_fixed_millisecond(fragile, tmp_path):
    """A file 18x slower than the fastest is not a fair trade, however few microseconds apart; one whose
    timing overlaps twice the fastest's is."""
    from edgeport.export.recommend import recommend

    edgeport("export", fragile["model"], "--data", fragile["npz"], "--out", tmp_path, "--formats", "fp32,fp16",
             "--budget", "1")
    files = runtime.read_manifest(tmp_path).files
    fp32, fp16 = files["model_fp32.tflite"], files["model_fp16.tflite"]
    assert fp16.bytes < fp32.bytes
    # The measured figures are a median inside its interval.
    for entry in (fp32, fp16):
        low, high = entry.latency_interval_us
        assert 0 < low <= entry.latency_us <= high
    # 474 us against 26 us (18x): the 1 ms clause let it through; now the fastest is kept.
    slow = {"model_fp32.tflite": _timed(fp32, 26, 25, 27), "model_fp16.tflite": _timed(fp16, 474, 470, 480)}
    assert recommend(slow, 1.0).overall == "model_fp32.tflite"
    # 55 us against 26 us: more than 2x by the medians, but the intervals reach (50 <= 2 x 27): noise.
    noisy = {"model_fp32.tflite": _timed(fp32, 26, 24, 27), "model_fp16.tflite": _timed(fp16, 55, 50, 61)}
    assert recommend(noisy, 1.0).overall == "model_fp16.tflite"
    # Surely over twice: 60 us (interval 58-62) against 26 us (25-27).
    surely = {"model_fp32.tflite": _timed(fp32, 26, 25, 27), "model_fp16.tflite": _timed(fp16, 60, 58, 62)}
    assert recommend(surely, 1.0).overall == "model_fp32.tflite"
    assert recommend(surely, 1.0, objective="size").overall == "model_fp16.tflite"


def test_the_settle_line_gives_each_file_its_own_count_the_recommended_first(fragile, tmp_path):
    from edgeport.export.recommend import settle_line
    from edgeport.runtime.manifest import Verdict

    edgeport("export", fragile["model"], "--data", fragile["npz"], "--out", tmp_path, "--formats", "fp32,fp16",
             "--budget", "1")
    files = runtime.read_manifest(tmp_path).files
    fp32, fp16 = files["model_fp32.tflite"], files["model_fp16.tflite"]
    unsure = replace(fp16.validation, verdict=Verdict.CANNOT_TELL, images_to_settle=69_000)
    chosen = replace(fp32.validation, bar=replace(fp32.validation.bar, two_sided=False),
                     accuracy_change_interval=[-0.02, 0.01], images_to_settle=430)
    line = settle_line({"model_fp32.tflite": replace(fp32, validation=chosen),
                        "model_fp16.tflite": replace(fp16, validation=unsure)}, "model_fp32.tflite", 1.0, 604)
    assert line == ("604 validation images cannot settle model_fp32.tflite (about 430 would), model_fp16.tflite "
                    "(about 69,000 would) against their bars and the 1 pt budget")
