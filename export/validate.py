"""Prove an exported file predicts what the Keras model predicts, through runtime.load."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from edgeport import runtime
from edgeport.export.common import Quantization

# An 8-bit file may be at most 30 % of the float32 file of its format, plus a fixed allowance for
# the graph itself (names, quantize/dequantize nodes), which weighs the same whatever the weights.
MAX_INT8_SIZE_RATIO = 0.30
SIZE_ALLOWANCE_BYTES = 16 * 1024
DEFAULT_BUDGET_PT = 0.5  # accuracy points the recommended file may cost


@dataclass(frozen=True)
class Bar:
    """What a file must meet on the test set, against the Keras model."""

    min_agreement: float
    max_accuracy_change: float  # points as a fraction: 0.0005 = 0.05 pt
    two_sided: bool  # float files must not change accuracy either way; int8 may only not drop
    max_abs_diff: float | None  # None: reported, not checked


BARS = {
    Quantization.NONE: Bar(0.9995, 0.0005, True, 1e-4),
    Quantization.FLOAT16: Bar(0.999, 0.001, True, 5e-3),
    Quantization.DYNAMIC: Bar(0.985, 0.005, False, None),
    Quantization.INT8: Bar(0.985, 0.005, False, None),
    Quantization.INT16: Bar(0.985, 0.005, False, None),
    Quantization.MIXED: Bar(0.985, 0.005, False, None),
    Quantization.INT4: Bar(0.97, 0.005, False, None),
}


def bar_for(mode: Quantization, budget_pt: float = DEFAULT_BUDGET_PT) -> Bar:
    """A file's bar: float files' are fixed; a quantized file may lose at most the budget (points)."""
    bar = BARS[mode]
    return bar if bar.two_sided else Bar(bar.min_agreement, budget_pt / 100, False, bar.max_abs_diff)


def compressed(mode: Quantization) -> bool:
    """Whether the size bar (a fraction of the float32 file) applies: every 8-bit and 4-bit file."""
    return mode.bits <= 8


class ValidationError(Exception):
    """One or more exported files missed their bars; failures lists each file and figure."""

    def __init__(self, failures: list[str], summary: str | None = None):
        self.failures = failures
        self.summary = summary or f"{len(failures)} validation failure(s)"
        super().__init__(f"{self.summary}: " + "; ".join(failures) if failures else self.summary)


def validate_file(path, images, labels, reference, quantization, float32_bytes: int | None = None,
                  budget_pt: float = DEFAULT_BUDGET_PT) -> dict:
    """Run path through the runtime on images and check it against the Keras reference.

    Args:
        path: the exported file, or a runtime Predictor already loaded from it.
        images, labels: the test set (uint8 pixels and labels).
        reference: the Keras model's probabilities on images.
        quantization: the file's Quantization, which picks its bar.
        float32_bytes: the float32 file of the same format, for the size bar of compressed files.
        budget_pt: the accuracy points a quantized file may lose.

    Returns:
        Figures for the manifest: accuracy, reference_accuracy, accuracy_change, agreement,
        max_abs_diff, per_class_accuracy, confusion_matrix, changed (indices and the file's
        classes there), bytes, size_ratio, size_limit_bytes (8- and 4-bit files: 30 % of
        float32 plus 16 KiB), bar, failures (readable strings) and passed.
    """
    predictor = path if isinstance(path, runtime.Predictor) else runtime.load(path, verify=False)
    path = predictor.path
    mode = Quantization.parse(quantization)
    result = runtime.evaluate(predictor, images, labels, reference=reference)
    changed = result["changed_indices"]
    figures = {
        key: result[key]
        for key in ("accuracy", "reference_accuracy", "accuracy_change", "agreement", "max_abs_diff",
                    "per_class_accuracy", "confusion_matrix")
    }
    figures["changed"] = {"indices": changed, "predicted": result["predictions"][changed].tolist()}
    figures["bytes"] = path.stat().st_size
    figures["size_ratio"] = figures["bytes"] / float32_bytes if float32_bytes else None
    figures["size_limit_bytes"] = (int(MAX_INT8_SIZE_RATIO * float32_bytes) + SIZE_ALLOWANCE_BYTES
                                   if float32_bytes and compressed(mode) else None)
    bar = bar_for(mode, budget_pt)
    figures["bar"] = asdict(bar)
    figures["failures"] = check_bar(path.name, figures, bar, mode)
    figures["passed"] = not figures["failures"]
    return figures


def check_bar(name: str, figures: dict, bar: Bar, mode: Quantization) -> list[str]:
    """Every way figures miss bar, as readable strings."""
    failures = []
    if figures["agreement"] < bar.min_agreement:
        failures.append(f"{name}: agreement {100 * figures['agreement']:.2f} % < {100 * bar.min_agreement:.2f} %")
    change = figures["accuracy_change"]
    missed = abs(change) > bar.max_accuracy_change if bar.two_sided else change < -bar.max_accuracy_change
    if missed:
        failures.append(
            f"{name}: accuracy change {100 * change:+.2f} pt beyond {'±' if bar.two_sided else '-'}"
            f"{100 * bar.max_accuracy_change:.2f} pt"
        )
    if bar.max_abs_diff is not None and figures["max_abs_diff"] > bar.max_abs_diff:
        failures.append(f"{name}: max abs probability difference {figures['max_abs_diff']:.2e} > {bar.max_abs_diff:.0e}")
    limit = figures.get("size_limit_bytes")
    if limit is not None and figures["bytes"] > limit:
        failures.append(f"{name}: {100 * figures['size_ratio']:.1f} % of the float32 size, over "
                        f"{100 * MAX_INT8_SIZE_RATIO:.0f} % + {SIZE_ALLOWANCE_BYTES // 1024} KiB ({limit:,} bytes)")
    return failures


def within_budget(entry: dict, budget_pt: float = DEFAULT_BUDGET_PT) -> bool:
    """Whether a manifest entry is within its bar with this budget.

    The stored verdict stands for every bar that the budget does not move (agreement, size,
    float files' bars); a quantized file's accuracy change is re-checked against budget_pt.
    """
    mode, figures = Quantization.parse(entry["quantization"]), entry["validation"]
    if not figures["passed"] and not all("accuracy change" in f for f in figures["failures"] or [""]):
        return False
    if BARS[mode].two_sided and not figures["passed"]:
        return False
    return -figures["accuracy_change"] <= budget_pt / 100 + 1e-12  # no file may lose more than the budget


def recommend(files: dict, budget_pt: float = DEFAULT_BUDGET_PT, integer_only: bool = False) -> dict:
    """The smallest file within budget, overall and per format.

    Args:
        files: the manifest's files.
        budget_pt: the accuracy points a quantized file may lose.
        integer_only: choose only among files whose arithmetic is all integer.

    Returns:
        {"budget_pt", "integer_only", "overall", "tflite", "onnx"}: file names, None where none qualifies.
    """
    within = sorted((entry["bytes"], name, entry["format"]) for name, entry in files.items()
                    if within_budget(entry, budget_pt) and (entry.get("integer_only") or not integer_only))
    choice = {"budget_pt": budget_pt, "integer_only": integer_only,
              "overall": within[0][1] if within else None}
    for fmt in ("tflite", "onnx"):
        choice[fmt] = next((name for _, name, f in within if f == fmt), None)
    return choice


def best_miss(files: dict, integer_only: bool = False) -> str | None:
    """The file that came closest to its bar (highest agreement over the bar), to name when nothing is within budget."""
    candidates = [(entry["validation"]["agreement"] - bar_for(Quantization.parse(entry["quantization"])).min_agreement,
                   -entry["bytes"], name) for name, entry in files.items()
                  if entry.get("integer_only") or not integer_only]
    return max(candidates)[2] if candidates else None
