"""The report on a real exported set: every row, the manifest's numbers, every plot, the choice."""

import json
import shutil
import re

import numpy as np
import pytest
from PIL import Image

from edgeport import runtime
from edgeport.export.report import recommend, render
from edgeport.runtime.manifest import (
    Bar,
    CalibrationRecord,
    Changed,
    DataRecord,
    FileEntry,
    Manifest,
    Miss,
    ModelSource,
    Recommendation,
    Validation,
)
from edgeport.runtime.modelinfo import ModelInfo
from tests.conftest import FILES, edgeport, seen


@pytest.fixture(scope="module")
def reported(exported, tmp_path_factory):
    folder = tmp_path_factory.mktemp("reported") / "export"
    shutil.copytree(exported, folder)  # the shared export stays as export wrote it
    edgeport("report", str(folder), "--rounds", "1")
    manifest = runtime.read_manifest(folder)
    bench = json.loads((folder / "bench.json").read_text())
    return folder, (folder / "report.md").read_text(), manifest, bench


def table_rows(markdown: str) -> dict[str, list[str]]:
    """Table cells by row name: the file name, or 'model.keras <call>' for the Keras rows."""
    rows = {}
    for line in markdown.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            name, call = re.fullmatch(r"`([^`]+)`(?: \((.+)\))?", cells[0]).groups()
            rows.setdefault(f"{name} {call}" if call else name, cells)  # the main table's (the micro table follows)
    return rows


def test_every_file_and_the_keras_model_have_a_row(reported):
    _, markdown, _, _ = reported
    rows = table_rows(markdown)
    assert set(FILES) <= set(rows)
    assert "model.keras model.predict" in rows and "model.keras model(x)" in rows


def test_table_numbers_are_the_manifests_and_the_benchmarks(reported, test_set):
    folder, markdown, manifest, bench = reported
    rows = table_rows(markdown)
    latency = {row["name"]: row for row in bench["rows"]}
    keras_classes, labels = np.load(folder / "reference_probs.npy").argmax(1), test_set[1]
    for name, entry in manifest.files.items():
        cells, v = rows[name], entry.validation
        assert float(cells[3].replace(",", "")) == pytest.approx(entry.bytes / 1024, abs=0.05)
        accuracy, *fewer = cells[5].split(" (on ")
        assert float(accuracy) == pytest.approx(v.accuracy, abs=5e-5)
        # A file that a look of the sequential validation settled says on how many images; its figures are on the
        # first ones of one seeded order, and its classes' changes are against Keras's on those images.
        chosen = seen(v, len(labels))
        assert fewer == ([] if v.images == len(labels) else [f"{v.images:,} images)"])
        keras_recall = [np.mean(keras_classes[chosen][labels[chosen] == c] == c) for c in range(10)]
        change, change_interval = cells[6].split(" ", 1)
        assert float(change) == pytest.approx(100 * v.accuracy_change, abs=5e-3)
        low, high = v.accuracy_change_interval  # the 95 % intervals, in the table as in the manifest
        assert low <= v.accuracy_change <= high and change_interval == f"[{100 * low:+.2f}, {100 * high:+.2f}]"
        agreement, agreement_interval = cells[7].split(" % ", 1)
        assert float(agreement) == pytest.approx(100 * v.agreement, abs=5e-3)
        low, high = v.agreement_interval
        assert low <= v.agreement <= high and agreement_interval == f"[{100 * low:.2f}, {100 * high:.2f}]"
        matrix = np.array(v.confusion_matrix)  # balanced accuracy: the mean of the classes' recalls
        assert float(cells[8]) == pytest.approx(np.mean(np.diag(matrix) / matrix.sum(1)), abs=5e-5)
        # The worst class: the largest drop of a class's recall from the Keras model's, with its interval.
        changes = np.array(v.per_class_accuracy) - np.array(keras_recall)
        named, value = cells[9].split(" [")[0].rsplit(" ", 1)
        assert float(value) == pytest.approx(100 * changes.min(), abs=5e-3)
        assert changes[manifest.info.class_names.index(named)] == pytest.approx(changes.min(), abs=1e-9)
        assert float(cells[10]) == pytest.approx(v.max_abs_diff, rel=0.05)
        # A bar the point estimate misses is "cannot tell" unless its interval lies beyond it (4-bit files can
        # cost one class more than twice the budget: that is a failure of the per-class bar).
        kinds = {m.kind: m.verdict for m in v.misses if m.verdict != "advisory"}
        assert cells[14] == ("pass" if not kinds else "**FAIL**" if "fail" in kinds.values() else "cannot tell")
        assert set(kinds) <= {"class"}, v.misses  # the seed's files meet every other bar
        if entry.micro is not None:  # a microcontroller's file is timed in TFLM, in its own table
            assert name not in latency and cells[11:14] == ["—", "—", "—"]
            continue
        assert float(cells[11]) == pytest.approx(latency[name]["single"]["p50_ms"], abs=5e-4)
        assert float(cells[13].replace(",", "")) == pytest.approx(latency[name]["batch"]["images_per_s"], abs=0.5)
    keras = rows["model.keras model.predict"]
    assert float(keras[5]) == pytest.approx(manifest.source.accuracy, abs=5e-5)


def test_the_microcontroller_table_holds_tflms_figures_and_names_the_kit(reported):
    _, markdown, manifest, _ = reported
    name = manifest.recommended.micro
    entry = manifest.files[name]
    v, m = entry.validation, entry.micro
    section = markdown.split("## On microcontrollers", 1)[1].split("\n## ", 1)[0]
    cells = table_rows(section)[f"{name} recommended"]
    assert cells[1] == f"{100 * v.accuracy:.2f} %" and cells[2].startswith(f"{100 * v.accuracy_change:+.2f} pt [")
    assert cells[3].startswith(f"{100 * v.agreement:.2f} % [")
    # The session's export ran with --no-emulator: no Cortex-M4 figures, and the section says why.
    assert cells[4] == f"(not built) / {m.arena_bytes:,}" and cells[6] == cells[7] == "" and m.m4 is None
    assert f"{name}: not built on the Cortex-M4 (not built: --no-emulator)." in section
    assert float(cells[5]) == pytest.approx(m.flash_bytes / 1024, abs=0.05)
    assert cells[8] == "Reshape, FullyConnected, Softmax"
    assert cells[9] == f"{100 * m.reference_agreement:.2f} % / {100 * m.xnnpack_agreement:.2f} %"
    assert f"Firmware kit: `micro/` holds `{name}`" in section


def test_every_plot_in_the_markdown_is_a_real_png(reported):
    folder, markdown, _, _ = reported
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert len(pictures) >= 7
    for png in pictures:
        with Image.open(folder / png) as image:
            image.verify()
            assert image.format == "PNG" and max(image.size) <= 3000, (png, image.size)  # readable at any depth
    for expected in ("report_size_vs_accuracy.png", "report_latency.png", "report_confusion.png", "report_changed.png",
                     "report_per_class.png", "training_curves.png", "predictions.png"):
        assert expected in pictures


def test_flip_forensics_counts_match_the_manifest(reported):
    _, markdown, manifest, _ = reported
    quantized = [name for name, entry in manifest.files.items() if entry.quantization != "none"]
    assert {"model_int8.tflite", "model_int8.onnx", "model_dynamic.tflite"} <= set(quantized)  # never vacuous
    for name in quantized:
        count = len(manifest.files[name].validation.changed.indices)
        assert f"### {name}: {count} image" in markdown


def test_benchmark_has_every_row_with_positive_figures(reported):
    _, _, manifest, bench = reported
    names = [row["name"] for row in bench["rows"]]
    assert names[:2] == ["Keras model.predict", "Keras model(x)"]
    assert sorted(names[2:]) == sorted(n for n, e in manifest.files.items() if e.micro is None)  # micro: TFLM's time
    for row in bench["rows"]:
        assert 0 < row["single"]["p50_ms"] <= row["single"]["p99_ms"], row["name"]
        assert row["batch"]["images"] == 2_000 and row["batch"]["images_per_s"] > 0  # the first 2,000 of 10,000
    assert bench["machine"]["cpu_count"] >= 1
    assert bench["versions"]["onnxruntime"] and bench["versions"]["ai-edge-litert"]


def test_the_recommendation_is_the_smallest_file_within_the_budget_and_twice_the_fastest_time(reported):
    """The default objective, balanced: of the files within budget (no class losing over twice the budget in
    recall), the smallest whose single-image time is at most twice the fastest's beyond the timing's noise:
    the low end of its median's 95 % interval at most twice the high end of the fastest's."""
    _, markdown, manifest, _ = reported
    choice = recommend(manifest, 0.5)
    within = {n: e for n, e in manifest.files.items()
              if e.micro is None and e.validation.passed and -100 * e.validation.accuracy_change <= 0.5
              and -100 * e.validation.worst_class_change <= 1.0}
    for entry in within.values():
        low, high = entry.latency_interval_us
        assert low <= entry.latency_us <= high
    fastest = min(within.values(), key=lambda e: e.latency_us)
    quick = {n: e.bytes for n, e in within.items() if e.latency_interval_us[0] <= 2 * fastest.latency_interval_us[1]}
    assert manifest.recommended.objective == "balanced" and choice == min(quick, key=quick.get)
    assert f"**Ship `{choice}`.** Of the files whose accuracy stays within the 0.5 pt budget, it is the smallest at " \
           f"most 2x slower than the fastest, beyond the timing's noise" in markdown


def _constructed_manifest(drop: float | None = None) -> Manifest:
    """Five files of known sizes and accuracy changes (all of them `drop` when given); one missed its bar."""
    def entry(fmt, quantization, size, change, passed=True):
        two_sided = quantization in ("none", "float16")
        bar = Bar(0.999 if two_sided else 0.985, 0.001 if two_sided else 0.005, two_sided, None)
        change = change if drop is None else drop
        agreement = 0.9996 if two_sided else 0.99  # within the bar: the verdict below is the figures'
        missed = [Miss("agreement", 0.985, 0.90, [0.88, 0.92], "fail", "agreement 90 % < 98.5 %")]
        validation = Validation(0.87 + change, 0.87, change, agreement, 0.01, [0.87] * 10, [], Changed([], []), size,
                                None, None, bar, [] if passed else [missed[0].text], passed,
                                misses=None if passed else missed)
        return FileEntry(fmt, quantization, size, "0" * 64, ModelInfo(tuple("abcdefghij")), validation=validation)

    return Manifest(
        created="2026-01-01T00:00:00+00:00",
        source=ModelSource("model.keras", "f" * 64, params=1, accuracy=0.87),
        data=DataRecord("fashion-mnist", "fashion-mnist", "test", 10_000),
        calibration=CalibrationRecord("fashion-mnist", "train", 500, 0, False),
        bars={"max_int8_size_ratio": 0.3, "size_allowance_bytes": 16384},
        versions={"python": "3.11"},
        files={
            "big.tflite": entry("tflite", "none", 400_000, 0.0),
            "half.tflite": entry("tflite", "float16", 200_000, -0.001),
            "small.tflite": entry("tflite", "int8", 100_000, -0.004),
            "tiny.onnx": entry("onnx", "int8", 90_000, -0.008),
            "broken.onnx": entry("onnx", "int8", 50_000, 0.0, passed=False),
        },
    )


@pytest.mark.parametrize("budget, expected", [
    (1.0, "tiny.onnx"), (0.5, "small.tflite"), (0.2, "half.tflite"), (0.0, "big.tflite"),
])
def test_recommendation_follows_the_budget_and_skips_failing_files(budget, expected):
    assert recommend(_constructed_manifest(), budget) == expected


def test_no_file_within_budget_says_so(tmp_path):
    manifest = _constructed_manifest(drop=-0.02)
    assert recommend(manifest, 0.5) is None
    text = render(manifest, {}, {}, 0.5, tmp_path)
    assert text.splitlines()[2].startswith("**No exported file stays within 0.5 pt")


def test_report_cli_errors_are_one_line(tmp_path):
    bad = edgeport("report", str(tmp_path), "--budget", "-1", check=False)
    assert bad.returncode == 2 and "expected points >= 0" in bad.stderr
    empty = edgeport("report", str(tmp_path), "--no-bench", check=False)
    assert empty.returncode == 1
    assert empty.stderr.strip().splitlines() == [
        f"edgeport report: error: {tmp_path}/manifest.json: nothing to report on (run 'edgeport export' first)"]


def test_phone_accelerators_table_shows_each_copy_and_its_verdicts(reported):
    _, markdown, manifest, _ = reported
    section = markdown.split("## Phone accelerators", 1)[1].split("\n## ", 1)[0]
    rows = table_rows(section)
    assert set(rows) == set(manifest.mobile) and rows
    for name, entry in manifest.mobile.items():
        cells = rows[name]
        assert cells[1] == f"`{entry.source}`"
        assert float(cells[2].replace(",", "")) == pytest.approx(entry.bytes / 1024, abs=0.05 + 1e-9)  # shown to 0.1
        for cell, key in zip(cells[4:], ("nnapi", "coreml_mlprogram", "coreml_neuralnetwork")):
            verdict = entry.accelerators[key]
            assert cell.startswith(f"**{verdict.verdict}** ({verdict.supported_nodes}/{verdict.nodes} nodes")


def test_the_report_names_the_file_its_web_page_runs(reported, tmp_path):
    _, _, manifest, _ = reported
    folder = tmp_path / "artifacts"
    (folder / "web").mkdir(parents=True)
    assert "## In the browser" not in render(manifest, {}, {}, 0.5, folder)
    marker = folder / "web" / ".edgeport-web"
    marker.write_text(json.dumps({"model": "model_int8.onnx", "sha256": manifest.files["model_int8.onnx"].sha256}))
    assert "`web/index.html` runs `model_int8.onnx`" in render(manifest, {}, {}, 0.5, folder)
    marker.write_text(json.dumps({"model": "model_int8.onnx", "sha256": "0" * 64}))  # a page for other bytes
    assert "holds a page for another file" in render(manifest, {}, {}, 0.5, folder)


def test_another_budget_keeps_the_objective_and_names_files_measured_or_not(tmp_path):
    """Latency is measured at export for files within that export's budget only; a report at another budget
    keeps the export's objective and still names a smallest file that has no latency."""
    from dataclasses import replace

    manifest = _constructed_manifest()
    files = dict(manifest.files)
    files["big.tflite"] = replace(files["big.tflite"], latency_us=9.0)
    files["small.tflite"] = replace(files["small.tflite"], latency_us=30.0)
    manifest = replace(manifest, files=files, recommended=Recommendation(0.5, False, "big.tflite", "big.tflite", None,
                                                                         "speed", "small.tflite", "big.tflite"))
    assert recommend(manifest, 1.0) == "big.tflite"  # still the fastest, not the smallest (tiny.onnx)
    headline = render(manifest, {}, {}, 1.0, tmp_path).splitlines()[2]
    assert "smallest: `tiny.onnx` (87.9 KB), fastest: `big.tflite` (390.6 KB, 9 µs per image)" in headline


def test_keras_rows_come_from_where_the_model_was_exported_from_or_from_model(exported, tmp_path):
    """README's own example exports with --out elsewhere: the report finds the model where export read it
    (its sha256 checked), or takes --model; another model given is refused in one line."""
    import shutil
    from dataclasses import replace

    from edgeport.export.pipeline import keras_model_path

    out = tmp_path / "out"
    out.mkdir()
    for name in ("manifest.json", "model_fp32.tflite", "reference_probs.npy"):  # an export that went elsewhere
        shutil.copy(exported / name, out / name)
    manifest = runtime.read_manifest(out)
    assert keras_model_path(out, manifest) == exported / "model.keras"
    keras_row = table_rows(render(manifest, {}, {}, 0.5, out))["model.keras model.predict"]
    assert float(keras_row[3].replace(",", "")) == pytest.approx((exported / "model.keras").stat().st_size / 1024,
                                                                abs=0.05 + 1e-9)

    moved = tmp_path / "moved.keras"
    shutil.copy(exported / "model.keras", moved)
    other = tmp_path / "other.keras"
    other.write_bytes((exported / "model.keras").read_bytes() + b"\0")  # another file: another digest
    manifest = replace(manifest, source=replace(manifest.source, path=str(other)))
    assert keras_model_path(out, manifest) is None  # a path whose digest differs is not followed
    assert keras_model_path(out, manifest, moved) == moved
    refused = edgeport("report", out, "--no-bench", "--model", other, check=False)
    assert refused.returncode == 1 and refused.stderr.strip().splitlines() == [
        f"edgeport report: error: {other} is not the model these files were exported from (model.keras, sha256 "
        f"{manifest.source.sha256[:12]}...): give that one to --model"]


@pytest.mark.parametrize("latencies, expected", [
    ({"big.tflite": 2_700.0, "half.tflite": 3_000.0, "tiny.onnx": 40_000.0}, "half.tflite"),  # 14.8x: not a trade
    ({"big.tflite": 2_700.0, "half.tflite": 9_000.0, "tiny.onnx": 5_000.0}, "tiny.onnx"),  # 1.9x
    ({"big.tflite": 7.0, "half.tflite": 9.0, "tiny.onnx": 600.0}, "half.tflite"),  # 86x: 0.6 ms is no longer noise
    ({"big.tflite": 26.0, "half.tflite": 30.0, "tiny.onnx": 474.0}, "half.tflite"),  # 18x, which 1 ms let through
])
def test_balanced_takes_the_smallest_file_at_most_twice_slower(latencies, expected):
    """Medians without intervals (older manifests) compare as they are: at most twice the fastest's."""
    from dataclasses import replace

    from edgeport.export.recommend import recommend as recommend_files

    manifest = _constructed_manifest()
    files = {name: replace(entry, latency_us=latencies.get(name)) for name, entry in manifest.files.items()}
    chosen = recommend_files(files, 1.0, objective="balanced")
    assert (chosen.overall, chosen.smallest) == (expected, "tiny.onnx")
    assert chosen.fastest == "big.tflite"


def test_the_report_shows_pictures_as_the_files_saw_them():
    """The samples and changed-class plots drew grey pictures with the tutorial's binary map: white objects on
    black came out black on white. Pixel 255 is white now, 0 black; colour is drawn as it is."""
    from edgeport.export import report_plots as rp

    images = np.zeros((8, 6, 6, 1), np.uint8)
    images[:, 2:4, 2:4] = 255
    labels = np.array([0, 1] * 4)
    for fig in (rp.plot_samples(images, labels, ["a", "b"]),
                rp.plot_flips(images, [0, 1], [0, 1], [1, 0], ["a", "b"], "m.tflite", 2)):
        shown = [im for ax in fig.axes for im in ax.images]
        assert shown
        for im in shown:
            rgba = im.to_rgba(np.array([[0.0, 255.0]]), bytes=True)
            assert rgba[0, 0, :3].tolist() == [0, 0, 0] and rgba[0, 1, :3].tolist() == [255, 255, 255]
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_each_frontier_label_has_a_leader_line_to_its_own_point_and_covers_no_other():
    """The seed's crowded frontier: labels sat up to 37 points from their point with nothing joining them, and
    model_int8.onnx and model_dynamic.tflite read as each other's. Sizes and accuracies of a seed export."""
    import matplotlib.pyplot as plt
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    from edgeport.export import report_plots as rp

    seed = {"model_fp32.tflite": (400.4, 0.8704), "model.onnx": (399.0, 0.8704), "model_fp16.tflite": (202.2, 0.8704),
            "model_dynamic.tflite": (104.4, 0.8705), "model_int8.tflite": (106.1, 0.8702),
            "model_int8.onnx": (107.2, 0.8697), "model_w4.tflite": (55.8, 0.8699), "model_w4.onnx": (67.5, 0.8700)}
    points = [{"name": name, "format": name.rsplit(".", 1)[1], "kb": kb, "accuracy": accuracy, "passed": True}
              for name, (kb, accuracy) in seed.items()]
    fig = rp.plot_size_vs_accuracy(points, 0.8704, 0.5, "model_dynamic.tflite")
    fig.canvas.draw()
    ax, renderer = fig.axes[0], fig.canvas.get_renderer()
    labels = {text.get_text(): text for text in ax.texts if text.get_text() in seed}
    assert sorted(labels) == sorted(seed)
    centres = {name: ax.transData.transform((kb, 100 * accuracy)) for name, (kb, accuracy) in seed.items()}
    boxes = {name: Text.get_window_extent(label, renderer) for name, label in labels.items()}  # words, not line
    for name, label in labels.items():
        assert label.arrow_patch is not None and tuple(label.xy) == (seed[name][0], 100 * seed[name][1])
        for other, (x, y) in centres.items():  # no label covers a point (its own included)
            assert not boxes[name].overlaps(Bbox.from_extents(x - 4, y - 4, x + 4, y + 4)), (name, other)
        assert not any(boxes[name].overlaps(boxes[other]) for other in labels if other != name), name
    plt.close(fig)
