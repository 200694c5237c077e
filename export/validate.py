"""Prove an exported file predicts what the Keras model predicts, through runtime.load.

The figures meet the bar in export.verdict; the bar is recorded in the file's Validation, so a
manifest's choices can be remade with another budget without the plan that wrote it (export.recommend).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgeport import runtime
from edgeport.export import intervals, sequential, verdict
from edgeport.export.common import Quantization
from edgeport.export.plan import ExportPlan
from edgeport.export.errors import ValidationError  # noqa: F401 (part of this module's API)
from edgeport.runtime.manifest import Changed, Validation, Verdict


class Answers:
    """A file's probabilities on the validation images in the order every file sees them (sequential.order),
    computed a look at a time and kept: micro.prove cross-checks TFLM on the images its validation saw."""

    def __init__(self, predictor: runtime.Predictor, images):
        self.predictor, self.images = predictor, images
        self.order = sequential.order(len(images))
        self._done, self._count = [], 0

    def first(self, count: int) -> np.ndarray:
        """The probabilities on the first count images of the order."""
        if count > self._count:
            self._done.append(self.predictor.predict(self.images[self.order[self._count:count]]))
            self._count = count
            self._done = [np.concatenate(self._done)]
        return self._done[0][:count]


def validate_file(path, images, labels, reference, quantization, float32_bytes: int | None = None,
                  plan: ExportPlan | None = None, answers: Answers | None = None, full: bool = False) -> Validation:
    """Run path through the runtime on images and check it against the Keras reference, look by look
    (export.sequential): the file stops at the first look that settles its bars.

    Args:
        path: the exported file, or a runtime Predictor already loaded from it.
        images, labels: the validation images (uint8 pixels) and labels.
        reference: the Keras model's probabilities on images.
        quantization: the file's Quantization, which picks its bar.
        float32_bytes: the float32 file of the same format, for the size bar of 8- and 4-bit files.
        plan: the bars, the budget, the size bar and whether to stop early (default: ExportPlan()).
        answers: the file's Answers, when the caller keeps them (micro.prove).
        full: validate on every image, judged as the last look is (a recommended file's published figures).

    Returns:
        The file's Validation on the images that decided it (images): accuracy, agreement, max difference, per
        class, the images whose class changed, size against float32, the bar, every failure as a readable string,
        passed, and the batch size the figures hold for.
    """
    plan = plan or ExportPlan()
    predictor = path if isinstance(path, runtime.Predictor) else runtime.load(path, verify=False)
    path = predictor.path
    mode = Quantization.parse(quantization)
    bar = plan.bar_for(mode)
    size = path.stat().st_size
    limit = (int(plan.size_ratio * float32_bytes) + plan.size_allowance_bytes
             if float32_bytes and mode.bits <= 8 else None)
    answers = answers or Answers(predictor, images)
    labels, reference = np.asarray(labels).reshape(-1), np.asarray(reference)
    seen, confidence = len(labels), sequential.FINAL_CONFIDENCE
    if plan.sequential and not full:
        seen, confidence = sequential.stop(lambda n: answers.first(n).argmax(1), reference.argmax(1)[answers.order],
                                           labels[answers.order], bar, size_missed=limit is not None and size > limit)
    chosen = answers.order[:seen]
    figures, counts = _figures(predictor, answers.first(seen), chosen, labels, reference, size, float32_bytes, limit,
                               bar)
    decision = _at(figures, counts, intervals.z_for(confidence))
    found = verdict.misses(decision, bar, path.name, plan.size_ratio, plan.size_allowance_bytes, confidence)
    decided = verdict.decide(found)
    return replace(figures, failures=verdict.texts(found, Verdict.FAIL), passed=decided is not Verdict.FAIL,
                   unresolved=verdict.texts(found, Verdict.CANNOT_TELL),
                   images_to_settle=_images_to_settle(figures, *counts) if seen == len(labels) else None,
                   advisories=verdict.texts(found, Verdict.ADVISORY) or None, verdict=decided, misses=found,
                   images=seen, confidence=confidence)


def _figures(predictor, probabilities, chosen, labels, reference, size, float32_bytes, limit, bar):
    """The figures on the chosen images, with 95 % intervals, and the counts they come from: (agreeing, gained,
    lost, images) overall and the worst class's (gained, lost, images)."""
    labels, reference = labels[chosen], reference[chosen]
    result = runtime.evaluate(predictor, None, labels, reference=reference, probabilities=probabilities)
    changed = np.asarray(result["changed_indices"], dtype=np.int64)
    expected = reference.argmax(1)
    agreeing, gained, lost = intervals.paired_counts(result["predictions"], expected, labels)
    count = len(labels)
    worst, worst_counts = worst_class(result["predictions"], expected, labels, predictor.class_names)
    where = np.argsort(chosen[changed], kind="stable")  # the changed images by their place in the validation set
    figures = Validation(
        accuracy=result["accuracy"], reference_accuracy=result["reference_accuracy"],
        accuracy_change=result["accuracy_change"], agreement=result["agreement"], max_abs_diff=result["max_abs_diff"],
        per_class_accuracy=result["per_class_accuracy"], confusion_matrix=result["confusion_matrix"],
        changed=Changed(chosen[changed][where].tolist(), result["predictions"][changed][where].tolist()), bytes=size,
        size_ratio=size / float32_bytes if float32_bytes else None, size_limit_bytes=limit,
        bar=bar, failures=[], passed=True, batch=figures_batch(predictor), kernels=predictor.kernels,
        agreement_interval=_rounded(intervals.agreement_interval(agreeing, count)),
        accuracy_change_interval=_rounded(intervals.accuracy_change_interval(gained, lost, count)),
        balanced_accuracy=result["balanced_accuracy"], reference_balanced_accuracy=result["reference_balanced_accuracy"],
        **worst)
    return figures, ((agreeing, gained, lost, count), worst_counts)


def _at(figures: Validation, counts, z: float) -> Validation:
    """The figures with their intervals at another level (z), to judge the bars with."""
    if z == intervals.Z95:
        return figures
    (agreeing, gained, lost, count), worst_counts = counts
    return replace(figures, agreement_interval=_rounded(intervals.agreement_interval(agreeing, count, z)),
                   accuracy_change_interval=_rounded(intervals.accuracy_change_interval(gained, lost, count, z)),
                   worst_class_interval=_rounded(intervals.accuracy_change_interval(*worst_counts, z)))


def worst_class(predicted, expected, labels, class_names=None) -> tuple[dict, tuple[int, int, int]]:
    """The class whose recall the file changes most for the worse (the lowest point estimate; of equal ones,
    the class with more images), with its paired 95 % interval over that class's images: Validation's
    worst_class, worst_class_change and worst_class_interval; and that class's (gained, lost, images)."""
    label, gained, lost, count = sequential.worst(sequential.class_counts(predicted, expected, labels))
    name = class_names[label] if class_names is not None and label < len(class_names) else str(label)
    return ({"worst_class": str(name), "worst_class_change": round((gained - lost) / count, 6),
             "worst_class_interval": _rounded(intervals.accuracy_change_interval(gained, lost, count))},
            (gained, lost, count))


def _rounded(interval) -> list:
    return [round(float(v), 6) for v in interval]


def _images_to_settle(figures: Validation, overall, worst_counts) -> int | None:
    """Validation images that would settle each bar whose interval straddles it, at the figures seen (the
    largest); None when every interval is clear of its bar. The worst class's bar needs its images in that
    class, so the class's share of the validation images scales them up."""
    (_, gained, lost, count), bar, needed = overall, figures.bar, []
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
