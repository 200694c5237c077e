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
}


class ValidationError(Exception):
    """One or more exported files missed their bars; failures lists each file and figure."""

    def __init__(self, failures: list[str]):
        self.failures = failures
        super().__init__(f"{len(failures)} validation failure(s): " + "; ".join(failures))


def validate_file(path, images, labels, reference, quantization, float32_bytes: int | None = None) -> dict:
    """Run path through the runtime on images and check it against the Keras reference.

    Args:
        path: the exported file, or a runtime Predictor already loaded from it.
        images, labels: the test set (uint8 pixels and labels).
        reference: the Keras model's probabilities on images.
        quantization: the file's Quantization, which picks its bar.
        float32_bytes: the float32 file of the same format, for the int8 size bar.

    Returns:
        Figures for the manifest: accuracy, reference_accuracy, accuracy_change, agreement,
        max_abs_diff, per_class_accuracy, confusion_matrix, changed (indices and the file's
        classes there), bytes, size_ratio, size_limit_bytes (8-bit files: 30 % of float32 plus
        16 KiB), bar, failures (readable strings) and passed.
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
                                   if float32_bytes and mode in (Quantization.DYNAMIC, Quantization.INT8) else None)
    bar = BARS[mode]
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
