"""Prove an exported file predicts what the Keras model predicts, through runtime.load.

Every verdict is read back from the bar the file was judged by (recorded in its Validation), so a
manifest's choices can be remade with another budget without the plan that wrote it.
"""

from __future__ import annotations

from dataclasses import replace

from edgeport import runtime
from edgeport.export.common import Quantization
from edgeport.export.plan import DEFAULT_BUDGET_PT, ExportPlan
from edgeport.runtime.errors import ValidationError  # noqa: F401 (part of this module's API)
from edgeport.runtime.manifest import Bar, Changed, FileEntry, Recommendation, Validation


def validate_file(path, images, labels, reference, quantization, float32_bytes: int | None = None,
                  plan: ExportPlan | None = None) -> Validation:
    """Run path through the runtime on images and check it against the Keras reference.

    Args:
        path: the exported file, or a runtime Predictor already loaded from it.
        images, labels: the validation images (uint8 pixels) and labels.
        reference: the Keras model's probabilities on images.
        quantization: the file's Quantization, which picks its bar.
        float32_bytes: the float32 file of the same format, for the size bar of 8- and 4-bit files.
        plan: the bars, the budget and the size bar (default: ExportPlan()).

    Returns:
        The file's Validation: accuracy, agreement, max difference, per class, the images whose
        class changed, size against float32, the bar, every failure as a readable string, passed,
        and the batch size the figures hold for.
    """
    plan = plan or ExportPlan()
    predictor = path if isinstance(path, runtime.Predictor) else runtime.load(path, verify=False)
    path = predictor.path
    mode = Quantization.parse(quantization)
    result = runtime.evaluate(predictor, images, labels, reference=reference)
    changed = result["changed_indices"]
    size = path.stat().st_size
    limit = (int(plan.size_ratio * float32_bytes) + plan.size_allowance_bytes
             if float32_bytes and mode.bits <= 8 else None)
    figures = Validation(
        accuracy=result["accuracy"], reference_accuracy=result["reference_accuracy"],
        accuracy_change=result["accuracy_change"], agreement=result["agreement"], max_abs_diff=result["max_abs_diff"],
        per_class_accuracy=result["per_class_accuracy"], confusion_matrix=result["confusion_matrix"],
        changed=Changed(changed, result["predictions"][changed].tolist()), bytes=size,
        size_ratio=size / float32_bytes if float32_bytes else None, size_limit_bytes=limit,
        bar=plan.bar_for(mode), failures=[], passed=True, batch=figures_batch(predictor))
    failures = check_bar(path.name, figures, figures.bar, plan.size_ratio, plan.size_allowance_bytes)
    return replace(figures, failures=failures, passed=not failures)


def figures_batch(predictor: runtime.Predictor) -> int | str:
    """The batch size a file's figures hold for: 1 when its answers depend on the batch (the runtime then runs it
    one image at a time, as a phone does), else "any"."""
    return 1 if predictor.batch_dependent else "any"


def check_bar(name: str, figures, bar: Bar, size_ratio: float | None = None, allowance: int = 0) -> list[str]:
    """Every way figures (a Validation, or anything with agreement, accuracy_change, max_abs_diff and
    optionally bytes, size_limit_bytes) miss bar, as readable strings."""
    failures = []
    if figures.agreement < bar.min_agreement:
        failures.append(f"{name}: agreement {100 * figures.agreement:.2f} % < {100 * bar.min_agreement:.2f} %")
    change = figures.accuracy_change
    missed = abs(change) > bar.max_accuracy_change if bar.two_sided else change < -bar.max_accuracy_change
    if missed:
        failures.append(
            f"{name}: accuracy change {100 * change:+.2f} pt beyond {'±' if bar.two_sided else '-'}"
            f"{100 * bar.max_accuracy_change:.2f} pt"
        )
    if bar.max_abs_diff is not None and figures.max_abs_diff > bar.max_abs_diff:
        failures.append(f"{name}: max abs probability difference {figures.max_abs_diff:.2e} > {bar.max_abs_diff:.0e}")
    limit = getattr(figures, "size_limit_bytes", None)
    if limit is not None and figures.bytes > limit:
        failures.append(f"{name}: {100 * figures.size_ratio:.1f} % of the float32 size, over "
                        f"{100 * size_ratio:.0f} % + {allowance // 1024} KiB ({limit:,} bytes)")
    return failures


def within_budget(entry: FileEntry, budget_pt: float = DEFAULT_BUDGET_PT) -> bool:
    """Whether a manifest entry is within its bar with this budget.

    The stored verdict stands for every bar that the budget does not move (agreement, size,
    float files' bars); a quantized file's accuracy change is re-checked against budget_pt.
    """
    figures = entry.validation
    if not figures.passed and not all("accuracy change" in f for f in figures.failures or [""]):
        return False
    if figures.bar.two_sided and not figures.passed:
        return False
    return -figures.accuracy_change <= budget_pt / 100 + 1e-12  # no file may lose more than the budget


def recommend(files: dict[str, FileEntry], budget_pt: float = DEFAULT_BUDGET_PT,
              integer_only: bool = False) -> Recommendation:
    """The smallest file within budget, overall and per format (None where none qualifies).

    Args:
        files: the manifest's files.
        budget_pt: the accuracy points a quantized file may lose.
        integer_only: choose only among files whose arithmetic is all integer.
    """
    within = sorted((entry.bytes, name, entry.format) for name, entry in files.items()
                    if within_budget(entry, budget_pt) and (entry.integer_only or not integer_only))
    per_format = {fmt: next((name for _, name, f in within if f == fmt), None) for fmt in ("tflite", "onnx")}
    return Recommendation(budget_pt, integer_only, within[0][1] if within else None, **per_format)


def best_miss(files: dict[str, FileEntry], integer_only: bool = False) -> str | None:
    """The file that came closest to its bar (highest agreement over the bar), to name when nothing is within budget."""
    candidates = [(entry.validation.agreement - entry.validation.bar.min_agreement, -entry.bytes, name)
                  for name, entry in files.items() if entry.integer_only or not integer_only]
    return max(candidates)[2] if candidates else None
