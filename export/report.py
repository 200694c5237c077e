"""report.md: which file to ship, and what each format trades in size, accuracy and speed.

Every number comes from manifest.json (export and validation) or bench.json (benchmark);
nothing here measures or validates anything itself.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Callable

import numpy as np

from edgeport import runtime
from edgeport.export import report_plots as rp
from edgeport.export.loading import model_bytes
from edgeport.export.pipeline import keras_model_path
from edgeport.export.plan import DEFAULT_BUDGET_PT, Objective, class_budget
from edgeport.export.recommend import objective_words, settle_line, within_budget
from edgeport.export.recommend import recommend as choose
from edgeport.export.report_devices import markdown_table, micro_table, phone_table, web_note
from edgeport.export.verdict import figures_words, interval_words, verdict_cell
from edgeport.runtime.evaluate import confusion_matrix
from edgeport.runtime.files import write_text_atomic
from edgeport.runtime.manifest import LEGACY_OBJECTIVE, FileEntry, Manifest, Verdict, validation_data

REPORT_NAME = "report.md"
FLIPS_SHOWN = 12
TUTORIAL_PICTURES = (("training_curves.png", "Training and validation accuracy and loss per epoch"),
                     ("predictions.png", "The seed model's predictions on the first test images"))


def recommend(manifest: Manifest, budget_pt: float = DEFAULT_BUDGET_PT, class_budget_pt: float | None = None
              ) -> str | None:
    """The file within its bar and the budgets that the manifest's objective picks (the manifest's own choice
    when the budgets are the same; class_budget_pt None: the export's own at its budget, else twice budget_pt).

    Returns:
        The file name, or None when no file qualifies.
    """
    return _choice(manifest, budget_pt, class_budget_pt).overall


def _choice(manifest: Manifest, budget_pt: float, class_budget_pt: float | None = None):
    """The manifest's Recommendation, or the same choice (integer-only, objective) remade for other budgets."""
    recorded = manifest.recommended
    same = recorded is not None and recorded.budget_pt == budget_pt
    if class_budget_pt is None:  # the export's own class budget at its budget, else the default for this one
        class_budget_pt = recorded.class_budget_pt if same and recorded.class_budget_pt is not None \
            else class_budget(budget_pt)
    if same and recorded.class_budget_pt in (None, class_budget_pt):
        return recorded
    return choose(manifest.files, budget_pt, recorded.integer_only if recorded else False,
                  recorded.objective if recorded else LEGACY_OBJECTIVE, recorded.board if recorded else None,
                  class_budget_pt)


def build_report(folder: str | os.PathLike, budget_pt: float = DEFAULT_BUDGET_PT, bench: bool = True, data=None,
                 progress: Callable[[str], None] | None = None, rounds: int = 5, output: str | None = None,
                 custom_objects=(), model: str | os.PathLike | None = None, trust_code: bool = False,
                 class_budget_pt: float | None = None) -> Path:
    """Write folder/report.md and its plots from manifest.json and bench.json.

    Args:
        folder: an export folder.
        budget_pt: the accuracy drop (points) the recommended file may cost.
        class_budget_pt: the recall drop (points) it may cost any one class (default: twice budget_pt).
        bench: run the benchmark first (writes bench.json); False reuses bench.json if present.
        data: the Dataset the manifest was validated on (default: loaded from the manifest's
            record), for the benchmark and the pictures of changed predictions.
        progress: called with progress lines; None for silence.
        rounds: the benchmark's interleaved rounds (export.benchmark.run_benchmark).
        output, custom_objects, trust_code: how to read the Keras model for its benchmark rows (run_benchmark).
        model: the Keras model the files were exported from, when it is neither beside the manifest nor
            where it was exported from (export.keras_model_path).

    Raises:
        FileNotFoundError: no manifest.json in folder, or no model at the path given.
        ModelFileError: a model given that is not the one the files were exported from.
    """
    folder = Path(folder)
    manifest = runtime.read_manifest(folder)
    if manifest is None:
        raise FileNotFoundError(f"{folder}/manifest.json: nothing to report on (run 'edgeport export' first)")
    keras_model = keras_model_path(folder, manifest, model)
    data = data or validation_data(manifest, validation_only=True)
    if bench:
        from edgeport.export.benchmark import run_benchmark

        run_benchmark(folder, rounds=rounds, data=data, progress=progress, output=output,
                      custom_objects=custom_objects, model=keras_model, trust_code=trust_code)
    latency = _latency_rows(folder, manifest)
    plots = _draw_plots(folder, manifest, latency, data.validation[1], budget_pt, class_budget_pt)
    text = render(manifest, latency, plots, budget_pt, folder, keras_model, class_budget_pt)
    path = folder / REPORT_NAME
    write_text_atomic(path, text)
    return path


def _latency_rows(folder: Path, manifest: Manifest) -> dict[str, dict]:
    """bench.json rows by name, leaving out files that changed since they were measured."""
    path = folder / "bench.json"
    if not path.is_file():
        return {}
    bench = json.loads(path.read_text())
    measured = bench.get("manifest_sha256", {})
    return {
        row["name"]: row for row in bench["rows"]
        if row["file"] is None or (row["file"] in manifest.files
                                   and measured.get(row["file"]) == manifest.files[row["file"]].sha256)
    }


def render(manifest: Manifest, latency: dict, plots: dict, budget_pt: float, folder: Path,
           keras_model: Path | None = None, class_budget_pt: float | None = None) -> str:
    """The markdown text of the report (keras_model: the Keras model's path, looked up when None)."""
    files, source = manifest.files, manifest.source
    keras_model = keras_model or keras_model_path(folder, manifest)
    keras_bytes = model_bytes(keras_model) if keras_model else None
    data_name = Path(manifest.data.source).name
    lines = [f"# edgeport report: `{source.file}` on `{data_name}`", "",
             _recommendation(manifest, latency, budget_pt, keras_bytes, class_budget_pt), ""]
    lines += ["## Every format at a glance", "", *_table(manifest, latency, keras_bytes), ""]
    lines += [
        f"Validation data: {_data_line(manifest)}. Agreement: share of images whose "
        f"top class equals the Keras model's. Brackets: 95 % intervals, paired with the Keras model on the same "
        f"images. Bars: each file's bar in manifest.json (agreement, accuracy change, max difference; 8-bit files at "
        f"most {100 * manifest.bars['max_int8_size_ratio']:.0f} % of float32 plus "
        f"{manifest.bars['size_allowance_bytes'] // 1024} KiB); a file FAILs a bar only when its interval lies beyond "
        f"it, and \"cannot tell\" when its estimate misses but its interval still reaches. "
        f"Latency: one image, median (p50) and p99 after warm-up, all rows measured interleaved in one process "
        f"(a microcontroller's file is timed in TFLM: see On microcontrollers).", "",
    ]
    lines += _ladder_notes(manifest)
    lines += phone_table(manifest)
    lines += micro_table(folder, manifest)
    lines += web_note(folder, manifest)
    for key, title, caption in (
        ("size_vs_accuracy", "The frontier: size against accuracy",
         f"Each point is one file; the dashed line is the Keras model, the shaded band the {budget_pt:g} pt budget, "
         f"and the circled point the recommended file. Filled points are within their bar and the budget; hollow "
         f"circles missed one, hollow diamonds cannot tell yet (their estimate misses, their interval still "
         f"reaches)."),
        ("layer_error", "Per-layer error",
         "For each searched rung, the output SQNR (dB, higher is better) when that layer alone is quantized, measured "
         "on the tuning images: the lowest bars are the layers that cost accuracy, and the ones kept wider."),
        ("latency", "Latency", "Single-image latency per file and for the Keras model's two call paths."),
        ("per_class", "Per-class accuracy", "Where accuracy changes between formats, class by class."),
        ("confusion", "Confusion matrix of the Keras model", "True class on rows, predicted class on columns."),
        ("samples", "The validation data", "A few validation images of each class, as the files saw them."),
        ("changed", "Changed predictions", "For each compressed file that changed any, the Keras class (rows) of "
                                           "every validation image whose class it changed, against its own class "
                                           "(columns)."),
    ):
        if key in plots:
            lines += [f"## {title}", "", caption, "", f"![{title}]({plots[key]})", ""]
    compressed = [name for name, entry in files.items() if entry.quantization != "none"]
    if compressed:
        lines += ["## Flip forensics", "", "Test images whose predicted class a compressed file changed, "
                  f"with the Keras class and the file's class (up to {FLIPS_SHOWN} per file).", ""]
        for name in compressed:
            count, seen = len(files[name].validation.changed.indices), files[name].validation.images
            of = f" of the {seen:,} its validation saw" if _fewer_images(files[name], manifest) else ""
            png = plots.get(f"flips:{name}")
            lines += [f"### {name}: {count} image{'s' if count != 1 else ''}{of} changed class", "",
                      f"![{name} flips]({png})" if png else "No image changed class.", ""]
    tutorial = [(png, caption) for png, caption in TUTORIAL_PICTURES if (folder / png).is_file()]
    if tutorial:
        lines += ["## How the Keras model was trained", ""]
        for png, caption in tutorial:
            lines += [f"{caption}:", "", f"![{caption}]({png})", ""]
    versions = ", ".join(f"{k} {v}" for k, v in manifest.versions.items() if v)
    lines += ["---", "", f"Source model `{source.file}` (sha256 `{source.sha256[:12]}…`, {source.params:,} "
              f"parameters), exported {manifest.created} with {versions}."]
    return "\n".join(lines) + "\n"


def _ladder_notes(manifest: Manifest) -> list[str]:
    """Which layers stayed in float or at 8 bits, how candidates were chosen, and which rungs were skipped."""
    files, lines = manifest.files, []
    for name, entry in files.items():
        kept = [f"kept in float: {', '.join(f'`{n}`' for n in entry.float_layers)}" if entry.float_layers else "",
                f"kept at 8-bit weights: {', '.join(f'`{n}`' for n in entry.wide_layers)}"
                if entry.wide_layers else "",
                f"calibration method: {entry.calibration_method}" if entry.calibration_method else "",
                f"weights: {entry.weight_type}" if entry.weight_type else "",
                f"4-bit block size: {entry.block_size}" if entry.block_size else ""]
        kept = [k for k in kept if k]
        if kept:
            lines.append(f"- `{name}`: {'; '.join(kept)} (chosen on the tuning images)")
    for name, why in manifest.skipped.items():
        lines.append(f"- `{name}` was not built: {why}, so it could not be recommended")
    for name, why in manifest.failed.items():
        kept = " (the file of an earlier export of this model is kept)" if name in files else ""
        lines.append(f"- `{name}` failed to build: {why}{kept}")
    chosen = manifest.recommended
    if chosen:
        lines.append(f"- Recommended per format within {chosen.budget_pt:g} pt"
                     f"{' (integer-only files)' if chosen.integer_only else ''}: TFLite "
                     f"`{chosen.tflite}`, ONNX `{chosen.onnx}`")
    return ["## The ladder", "", *lines, ""] if lines else []


def _data_line(manifest: Manifest) -> str:
    """Which images the figures come from, and which calibrated the int8 files."""
    data, calibration = manifest.data, manifest.calibration
    line = f"{data.images:,} images of `{data.source}` ({data.split} split)"
    if calibration and calibration.overlaps_validation:
        line += (f"; the int8 files were calibrated on a seeded sample of {calibration.images:,} images of the same "
                 f"data, which has no train split, so calibration and validation images may overlap")
    elif calibration:
        line += f"; int8 calibration: {calibration.images:,} images of `{calibration.source}` ({calibration.split})"
    return line


def _recommendation(manifest: Manifest, latency: dict, budget_pt: float, keras_bytes: int | None,
                    class_budget_pt: float | None = None) -> str:
    files, source = manifest.files, manifest.source
    choice = recommend(manifest, budget_pt, class_budget_pt)
    if choice is None:
        best = max(files, key=lambda n: files[n].validation.accuracy)
        return (f"**No exported file stays within {budget_pt:g} pt of the Keras model's accuracy while passing its "
                f"bars.** The most accurate is `{best}` ({100 * files[best].validation.accuracy:.2f} %); raise "
                f"the budget (`--budget`) or re-export with more calibration images.")
    entry, v = files[choice], files[choice].validation
    float32 = _float32_bytes(files, entry.format)
    saves = [f"{float32 / entry.bytes:.1f}x smaller than the float32 {entry.format.upper() if entry.format == 'onnx' else 'TFLite'} file"]
    if keras_bytes:
        saves.append(f"{keras_bytes / entry.bytes:.1f}x smaller than `{source.file}` ({keras_bytes / 1024:,.0f} KB)")
    objective = Objective(manifest.recommended.objective if manifest.recommended else LEGACY_OBJECTIVE)
    text = (
        f"**Ship `{choice}`.** Of the files whose accuracy stays within the {budget_pt:g} pt budget, it is the "
        f"{objective_words(objective)}{'' if objective is Objective.SIZE else ' (one image, on the exporting machine)'}: "
        f"{entry.bytes / 1024:,.1f} KB, {' and '.join(saves)}. It scores {100 * v.accuracy:.2f} % on the validation data "
        f"against {100 * source.accuracy:.2f} % for Keras; {figures_words(entry.validation)}."
    )
    text += _other_objective(manifest, budget_pt, class_budget_pt)
    settle = settle_line(files, choice, budget_pt, manifest.data.images)
    if settle:
        text += f" **{settle}.**"
    mine, keras_predict, keras_call = latency.get(choice), latency.get("Keras model.predict"), latency.get("Keras model(x)")
    if mine and keras_predict and keras_call:
        p50 = mine["single"]["p50_ms"]
        text += (
            f" One image takes {rp.format_ms(p50)} (p50) on this machine, against {rp.format_ms(keras_predict['single']['p50_ms'])} for "
            f"Keras's `model.predict` ({keras_predict['single']['p50_ms'] / p50:,.0f}x slower) and "
            f"{rp.format_ms(keras_call['single']['p50_ms'])} for `model(x)`, and it needs no TensorFlow to run."
        )
    return text


def _other_objective(manifest: Manifest, budget_pt: float, class_budget_pt: float | None = None) -> str:
    """' Within the budget, smallest: ..., fastest: ...', with how much slower the smallest is, when the two
    are different files."""
    chosen = _choice(manifest, budget_pt, class_budget_pt)
    smallest, fastest = chosen.smallest, chosen.fastest
    if smallest is None or fastest is None or smallest == fastest:
        return ""
    files = manifest.files

    def figures(name: str) -> str:
        # Latency is measured at export for files within that export's budget: another budget may name one without.
        entry = files[name]
        speed = f", {entry.latency_us:,.0f} µs per image" if entry.latency_us is not None else ""
        if name != fastest and entry.latency_us is not None and files[fastest].latency_us:
            speed += f", {entry.latency_us / files[fastest].latency_us:.1f}x slower than the fastest"
        return f"`{name}` ({entry.bytes / 1024:,.1f} KB{speed})"

    others = {"balanced": "`--objective size` recommends the smallest, `--objective speed` the fastest",
              "size": "`edgeport export --objective speed` recommends the fastest",
              "speed": "`edgeport export --objective size` recommends the smallest"}[chosen.objective]
    return f" Within the budget, smallest: {figures(smallest)}, fastest: {figures(fastest)}, measured at export ({others})."


def _fewer_images(entry: FileEntry, manifest: Manifest) -> bool:
    """Whether a file's figures are on fewer than all the validation images: a look of the sequential validation
    settled it (export.sequential), and its accuracy is that sample's (its change is paired, on the same images)."""
    images = entry.validation.images
    return images is not None and manifest.data is not None and images < manifest.data.images


def _float32_bytes(files: dict[str, FileEntry], fmt: str) -> int | None:
    return next((e.bytes for e in files.values() if e.format == fmt and e.quantization == "none"), None)


def _table(manifest: Manifest, latency: dict, keras_bytes: int | None) -> list[str]:
    files, source = manifest.files, manifest.source
    header = ["File", "Format", "Quantization", "Size (KB)", "x float32", "Accuracy", "Change (pt) [95 %]",
              "Agreement [95 %]", "Balanced accuracy", "Worst class (pt) [95 %]", "Max abs diff", "p50 (ms)",
              "p99 (ms)", "Images/s", "Bars"]
    rows = []
    keras_balanced = next((f"{e.validation.reference_balanced_accuracy:.4f}" for e in files.values()
                           if e.validation.reference_balanced_accuracy is not None
                           and not _fewer_images(e, manifest)), "—")
    for name in ("Keras model.predict", "Keras model(x)"):
        size = f"{keras_bytes / 1024:,.1f}" if keras_bytes else "—"
        rows.append([f"`{source.file}` ({name.split(' ', 1)[1]})", "Keras", "none", size, "—",
                     f"{source.accuracy:.4f}", "—", "—", keras_balanced, "—", "—", *_speed(latency.get(name)),
                     "reference"])
    for name, entry in files.items():
        v = entry.validation
        float32 = _float32_bytes(files, entry.format)
        rows.append([
            f"`{name}`", entry.format, entry.quantization, f"{entry.bytes / 1024:,.1f}",
            f"{entry.bytes / float32:.2f}" if float32 else "—",
            f"{v.accuracy:.4f}" + (f" (on {v.images:,} images)" if _fewer_images(entry, manifest) else ""),
            f"{100 * v.accuracy_change:+.2f}{interval_words(v.accuracy_change_interval, 'pt', 'bracket')}",
            f"{100 * v.agreement:.2f} %{interval_words(v.agreement_interval, '%', 'bracket')}",
            "—" if v.balanced_accuracy is None else f"{v.balanced_accuracy:.4f}", _worst_class_cell(v),
            f"{v.max_abs_diff:.1e}",
            *_speed(latency.get(name)), verdict_cell(v),
        ])
    return markdown_table(header, rows)


def _worst_class_cell(v) -> str:
    """The class whose recall the file changed most for the worse: 'Shirt -4.60 [-6.10, -3.10]'."""
    if v.worst_class_change is None:
        return "—"
    return f"{v.worst_class} {100 * v.worst_class_change:+.2f}{interval_words(v.worst_class_interval, 'pt', 'bracket')}"


def _speed(row: dict | None) -> list[str]:
    if row is None:
        return ["—", "—", "—"]
    return [f"{row['single']['p50_ms']:.3f}", f"{row['single']['p99_ms']:.3f}", f"{row['batch']['images_per_s']:,.0f}"]


def _matched_layers(folder: Path, layer_errors: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The probes with each ONNX layer named as its TFLite twin, so that one row of the plot is one layer.

    TFLite names a layer by its fused output (conv_bn/batchnorm, re_lu_3) and tf2onnx by its node, which
    it may rename (Conv__327): the twins are found by their weights in the two float32 files (per-channel
    sums, the same in both layouts), then, among the rest, by shape in graph order. Each pair takes the
    ONNX node's name unless tf2onnx made it up.
    """
    tflite, onnx_file = folder / "model_fp32.tflite", folder / "model.onnx"
    if not (tflite.is_file() and onnx_file.is_file()) or not any(n.endswith(".onnx") for n in layer_errors):
        return layer_errors
    from edgeport.export import litert, onnx_quant

    try:
        twins = layer_twins(litert.layer_weights(tflite), onnx_quant.layer_weights(onnx_file))
    except Exception:  # an unreadable file: keep each format's own names
        return layer_errors
    onnx_names = {o: (o if not _MADE_UP.match(o.rsplit("/", 1)[-1]) else t) for t, o in twins.items()}
    tflite_names = {t: onnx_names[o] for t, o in twins.items()}
    return {file: [s | {"layer": (onnx_names if file.endswith(".onnx") else tflite_names).get(s["layer"], s["layer"])}
                   for s in scores] for file, scores in layer_errors.items()}


_MADE_UP = re.compile(r"^[A-Za-z]+__\d+$")  # tf2onnx's own node names: Conv__327


def layer_twins(tflite: dict[str, np.ndarray], onnx: dict[str, np.ndarray]) -> dict[str, str]:
    """{TFLite layer: ONNX layer} for the same layer in both files, from their weights (channels first)."""
    def signature(w):
        return (w.size, len(w))

    def sums(w):
        return np.abs(w.reshape(len(w), -1)).sum(1)

    twins, left = {}, dict(onnx)
    for name, w in tflite.items():
        same = [o for o, v in left.items() if signature(v) == signature(w) and np.allclose(sums(v), sums(w), rtol=1e-4,
                                                                                           atol=1e-6)]
        if len(same) == 1:
            twins[name] = same[0]
            del left[same[0]]
    for name, w in tflite.items():  # the rest (folded differently in the two files): by shape, in graph order
        if name not in twins:
            same = next((o for o, v in left.items() if signature(v) == signature(w)), None)
            if same is not None:
                twins[name] = same
                del left[same]
    return twins


def _draw_plots(folder: Path, manifest: Manifest, latency: dict, validation, budget_pt: float,
                class_budget_pt: float | None = None) -> dict[str, str]:
    """Draw every plot the numbers allow; returns {key: PNG file name}."""
    files, source = manifest.files, manifest.source
    class_names = list(manifest.info.class_names) if files else [str(i) for i in range(len(source.per_class_accuracy))]
    figures = {}
    if files:
        # Each file at the Keras model's accuracy plus its paired change: the same figure as its own accuracy for a
        # file validated on every image, and the comparable one for a file a look settled on fewer.
        points = [{"name": n, "format": e.format, "kb": e.bytes / 1024,
                   "accuracy": source.accuracy + e.validation.accuracy_change,
                   "passed": within_budget(e, budget_pt, class_budget_pt),
                   "unsettled": e.validation.verdict is Verdict.CANNOT_TELL} for n, e in files.items()]
        figures["size_vs_accuracy"] = rp.plot_size_vs_accuracy(points, source.accuracy, budget_pt,
                                                               recommend(manifest, budget_pt, class_budget_pt))
    layer_errors = {n: e.layers for n, e in files.items() if e.layers}
    if layer_errors:
        figures["layer_error"] = rp.plot_layer_error(_matched_layers(folder, layer_errors))
    if latency:
        rows = [{"name": name, "p50_ms": row["single"]["p50_ms"], "p99_ms": row["single"]["p99_ms"],
                 "format": files[row["file"]].format if row["file"] else "keras"} for name, row in latency.items()]
        figures["latency"] = rp.plot_latency(rows)
    accuracies = {"Keras": source.per_class_accuracy} | {
        n + (f" ({e.validation.images:,} images)" if _fewer_images(e, manifest) else ""): e.validation.per_class_accuracy
        for n, e in files.items()}
    figures["per_class"] = rp.plot_per_class(accuracies, class_names)
    figures["confusion"] = rp.plot_confusion(source.confusion_matrix, class_names, "Keras model: validation data")
    figures["samples"] = rp.plot_samples(validation.images, validation.labels, class_names)
    images = validation.images
    compressed = {n: e for n, e in files.items() if e.quantization != "none"}
    reference_path = folder / manifest.data.reference
    if compressed and reference_path.is_file():
        keras_classes = np.load(reference_path).argmax(1)
        changed = {}
        for name, entry in compressed.items():
            idx = np.array(entry.validation.changed.indices, dtype=np.int64)
            predicted = np.array(entry.validation.changed.predicted, dtype=np.int64)
            changed[name] = confusion_matrix(keras_classes[idx], predicted, len(class_names))
            if len(idx):
                figures[f"flips:{name}"] = rp.plot_flips(images, idx[:FLIPS_SHOWN], keras_classes[idx[:FLIPS_SHOWN]],
                                                        predicted[:FLIPS_SHOWN], class_names, name, len(idx))
        changed = {name: matrix for name, matrix in changed.items() if matrix.sum()}  # no empty panels
        if changed:
            figures["changed"] = rp.plot_changed_matrices(changed, class_names)
    names = {}
    for key, fig in figures.items():
        png = f"report_{key.replace('flips:', 'flips_').replace('.', '_')}.png"
        rp.save_figure(fig, folder / png)
        names[key] = png
    return names
