"""Prove an exported file predicts what the Keras model predicts, through runtime.load.

The figures meet the bar in export.verdict; the bar is recorded in the file's Validation, so a
manifest's choices can be remade with another budget without the plan that wrote it (export.recommend).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgeport import runtime
from edgeport.export import intervals, verdict
from edgeport.export.common import Quantization
from edgeport.export.plan import ExportPlan
from edgeport.export.errors import ValidationError  # noqa: F401 (part of this module's API)
from edgeport.runtime.manifest import Changed, Validation, Verdict


def validate_file(path, images, labels, reference, quantization, float32_bytes: int | None = None,
                  plan: ExportPlan | None = None, probabilities=None) -> Validation:
    """Run path through the runtime on images and check it against the Keras reference.

    Args:
        path: the exported file, or a runtime Predictor already loaded from it.
        images, labels: the validation images (uint8 pixels) and labels.
        reference: the Keras model's probabilities on images.
        quantization: the file's Quantization, which picks its bar.
        float32_bytes: the float32 file of the same format, for the size bar of 8- and 4-bit files.
        plan: the bars, the budget and the size bar (default: ExportPlan()).
        probabilities: the file's probabilities on images, when the caller already has them (micro.prove).

    Returns:
        The file's Validation: accuracy, agreement, max difference, per class, the images whose
        class changed, size against float32, the bar, every failure as a readable string, passed,
        and the batch size the figures hold for.
    """
    plan = plan or ExportPlan()
    predictor = path if isinstance(path, runtime.Predictor) else runtime.load(path, verify=False)
    path = predictor.path
    mode = Quantization.parse(quantization)
    result = runtime.evaluate(predictor, images, labels, reference=reference, probabilities=probabilities)
    changed = result["changed_indices"]
    size = path.stat().st_size
    limit = (int(plan.size_ratio * float32_bytes) + plan.size_allowance_bytes
             if float32_bytes and mode.bits <= 8 else None)
    expected = np.asarray(reference).argmax(1)
    agreeing, gained, lost = intervals.paired_counts(result["predictions"], expected, labels)
    count = len(labels)
    worst, worst_counts = worst_class(result["predictions"], expected, labels, predictor.class_names)
    figures = Validation(
        accuracy=result["accuracy"], reference_accuracy=result["reference_accuracy"],
        accuracy_change=result["accuracy_change"], agreement=result["agreement"], max_abs_diff=result["max_abs_diff"],
        per_class_accuracy=result["per_class_accuracy"], confusion_matrix=result["confusion_matrix"],
        changed=Changed(changed, result["predictions"][changed].tolist()), bytes=size,
        size_ratio=size / float32_bytes if float32_bytes else None, size_limit_bytes=limit,
        bar=plan.bar_for(mode), failures=[], passed=True, batch=figures_batch(predictor), kernels=predictor.kernels,
        agreement_interval=_rounded(intervals.agreement_interval(agreeing, count)),
        accuracy_change_interval=_rounded(intervals.accuracy_change_interval(gained, lost, count)),
        balanced_accuracy=result["balanced_accuracy"], reference_balanced_accuracy=result["reference_balanced_accuracy"],
        **worst)
    found = verdict.misses(figures, figures.bar, path.name, plan.size_ratio, plan.size_allowance_bytes)
    decided = verdict.decide(found)
    return replace(figures, failures=verdict.texts(found, Verdict.FAIL), passed=decided is not Verdict.FAIL,
                   unresolved=verdict.texts(found, Verdict.CANNOT_TELL),
                   images_to_settle=_images_to_settle(figures, gained, lost, count, worst_counts),
                   advisories=verdict.texts(found, Verdict.ADVISORY) or None, verdict=decided, misses=found)


def worst_class(predicted, expected, labels, class_names=None) -> tuple[dict, tuple[int, int, int]]:
    """The class whose recall the file changes most for the worse (the lowest point estimate; of equal ones,
    the class with more images), with its paired 95 % interval over that class's images: Validation's
    worst_class, worst_class_change and worst_class_interval; and that class's (gained, lost, images)."""
    predicted, expected, labels = (np.asarray(a).reshape(-1) for a in (predicted, expected, labels))
    worst = None
    for label in np.unique(labels):
        mine = labels == label
        _, gained, lost = intervals.paired_counts(predicted[mine], expected[mine], labels[mine])
        count = int(mine.sum())
        key = ((gained - lost) / count, -count)
        if worst is None or key < worst[0]:
            worst = key, int(label), (gained, lost, count)
    (change, _), label, counts = worst
    name = class_names[label] if class_names is not None and label < len(class_names) else str(label)
    return ({"worst_class": str(name), "worst_class_change": round(float(change), 6),
             "worst_class_interval": _rounded(intervals.accuracy_change_interval(*counts))}, counts)


def _rounded(interval) -> list:
    return [round(float(v), 6) for v in interval]


def _images_to_settle(figures: Validation, gained: int, lost: int, count: int, worst_counts) -> int | None:
    """Validation images that would settle each bar whose interval straddles it, at the figures seen (the
    largest); None when every interval is clear of its bar. The worst class's bar needs its images in that
    class, so the class's share of the validation images scales them up."""
    bar, needed = figures.bar, []
    low, high = figures.agreement_interval
    if low < bar.min_agreement <= high:
        needed.append(intervals.images_to_settle(intervals.agreement_variance(figures.agreement, count),
                                                 abs(figures.agreement - bar.min_agreement)))
    low, high = figures.accuracy_change_interval
    limits = (-bar.max_accuracy_change, bar.max_accuracy_change) if bar.two_sided else (-bar.max_accuracy_change,)
    for limit in limits:
        if low < limit < high:
            needed.append(intervals.images_to_settle(intervals.change_variance(gained, lost, count),
                                                     abs(figures.accuracy_change - limit)))
    low, high = figures.worst_class_interval
    if bar.max_class_drop is not None and low < -bar.max_class_drop < high:
        class_gained, class_lost, class_count = worst_counts
        in_class = intervals.images_to_settle(intervals.change_variance(class_gained, class_lost, class_count),
                                              abs(figures.worst_class_change + bar.max_class_drop))
        needed.append(None if in_class is None else intervals.round_up(in_class * count / class_count))
    if not needed:
        return None
    return None if None in needed else max(needed)


def figures_batch(predictor: runtime.Predictor) -> int | str:
    """The batch size a file's figures hold for: 1 when its answers depend on the batch (the runtime then runs it
    one image at a time, as a phone does), else "any"."""
    return 1 if predictor.batch_dependent else "any"
