"""Sequential validation: each file meets the validation images in growing looks and stops as soon as the
evidence settles its bars.

The looks: 1,000 images, then twice as many at each look while that is at most half of the set, then all of
them (10,000 images: 1,000, 2,000, 4,000 and 10,000; a set under 2,000 images has one look, all of it). The
images come in one seeded order, the same for every file, so that each look is a random sample of the set
whatever order the data came in (a folder of pictures is read class by class).

The rule is Haybittle and Peto's: an interim look judges with 99.9 % intervals, the last look with the usual
95 % ones. A file stops at an interim look when the intervals of its agreement and its accuracy change lie
wholly inside their bars (pass; its worst class within the class budget), or when one of them or the worst
class's lies wholly beyond its bar (fail). A wrong verdict, a fail for a file that meets its bars or a pass
settled early for one that misses them, needs an interval to miss the truth on the wrong side of the bar: 0.05 %
at each interim look and 2.5 % at the last if the intervals were exact, 2.65 % over the four looks of 10,000
images (wrong_verdict_bound), within the 5 % that the intervals state. Simulated files on the bar measure 3.2 %
(Wilson's interval is not exact near its bar), against 8.9 % when every look judges with 95 % intervals.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from edgeport.export import intervals, verdict
from edgeport.runtime.manifest import Bar, Verdict

FIRST_LOOK = 1_000
INTERIM_CONFIDENCE = 0.999
FINAL_CONFIDENCE = 0.95
STATED_ERROR = 0.05  # the error the 95 % intervals state, which the looks together stay within
ORDER_SEED = 0
RULE = ("Haybittle-Peto: interim looks at 1,000 images and twice as many each time (while at most half of the "
        "set) judge with 99.9 % intervals, stopping a file whose agreement and accuracy-change intervals lie inside "
        "their bars (its worst class within the class budget) or one of whose intervals lies beyond; the last look "
        "(all images) judges with 95 % intervals; a wrong verdict has at most 0.05 % per interim look plus 2.5 %, "
        "within 5 %")


def looks(count: int) -> list[int]:
    """The images seen at each look, the last being all count of them."""
    sizes, size = [], FIRST_LOOK
    while 2 * size <= count:
        sizes.append(size)
        size *= 2
    return [*sizes, count]


def order(count: int) -> np.ndarray:
    """The order in which every file sees the count validation images: one seeded permutation."""
    return np.random.default_rng(ORDER_SEED).permutation(count)


def stop(answers, expected, labels, bar: Bar, size_missed: bool = False,
         interim: float = INTERIM_CONFIDENCE) -> tuple[int, float]:
    """The images a file needs and the confidence its verdict is decided with: the first interim look that
    settles it, else all of them, judged with 95 % intervals.

    Args:
        answers: the file's classes on the first n images of the order, for a look of n (computed as it goes).
        expected, labels: Keras's classes and the true ones, in the order.
        bar: the file's bar. size_missed: whether it misses the size bar (it then fails at the first look).
        interim: the interim looks' confidence (another than Haybittle and Peto's 99.9 % only to compare rules).
    """
    count = len(labels)
    for seen in looks(count)[:-1]:
        if settled(answers(seen), expected[:seen], labels[:seen], bar, interim, size_missed) is not None:
            return seen, interim
    return count, FINAL_CONFIDENCE


def wrong_verdict_bound(count: int) -> float:
    """The most a wrong verdict can have on count images: each look's one-sided share of its intervals' error."""
    sizes = looks(count)
    return (len(sizes) - 1) * (1 - INTERIM_CONFIDENCE) / 2 + (1 - FINAL_CONFIDENCE) / 2


def class_counts(predicted, expected, labels) -> list[tuple[int, int, int, int]]:
    """(label, gained, lost, images) of each class the labels hold: the file's answers against Keras's in it."""
    predicted, expected, labels = (np.asarray(a).reshape(-1) for a in (predicted, expected, labels))
    counts = []
    for label in np.unique(labels):
        mine = labels == label
        _, gained, lost = intervals.paired_counts(predicted[mine], expected[mine], labels[mine])
        counts.append((int(label), gained, lost, int(mine.sum())))
    return counts


def worst(counts: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    """The class whose recall the file changes most for the worse (the lowest point estimate; of equal ones, the
    class with more images)."""
    return min(counts, key=lambda c: ((c[1] - c[2]) / c[3], -c[3]))


def settled(predicted, expected, labels, bar: Bar, confidence: float = INTERIM_CONFIDENCE,
            size_missed: bool = False) -> Verdict | None:
    """A look's settled verdict, from the bar arithmetic of export.verdict on the images seen with intervals at
    this confidence: FAIL when the size bar is missed or a miss of the agreement, the accuracy change or the worst
    class's recall change is settled (its interval lies wholly beyond its bar); PASS when no bar is missed and
    the agreement's and the accuracy change's intervals lie wholly inside their bars (verdict.inside); None when
    the images seen cannot tell yet.

    The per-class bar stops no file on its own: a class holds a share of the images, so its interval is wide
    (at a tenth of 4,000 images, about 2 pt either way for a file that changes 1 % of a class's answers), and
    the last look judges it by its point estimate too, failing a file only when the interval lies beyond. The
    max-difference bar stops none either: it counts only when another bar is missed, and the largest difference
    can only grow with more images.
    """
    predicted, expected, labels = (np.asarray(a).reshape(-1) for a in (predicted, expected, labels))
    z, count = intervals.z_for(confidence), len(labels)
    agreeing, gained, lost = intervals.paired_counts(predicted, expected, labels)
    figures = SimpleNamespace(
        agreement=agreeing / count, agreement_interval=intervals.agreement_interval(agreeing, count, z),
        accuracy_change=(gained - lost) / count,
        accuracy_change_interval=intervals.accuracy_change_interval(gained, lost, count, z), max_abs_diff=0.0)
    if bar.max_class_drop is not None:
        _, class_gained, class_lost, class_count = worst(class_counts(predicted, expected, labels))
        figures.worst_class, figures.worst_class_change = "", (class_gained - class_lost) / class_count
        figures.worst_class_interval = intervals.accuracy_change_interval(class_gained, class_lost, class_count, z)
    found = verdict.misses(figures, bar)
    if size_missed or any(miss.verdict is Verdict.FAIL for miss in found):
        return Verdict.FAIL
    return Verdict.PASS if not found and verdict.inside(figures, bar) else None
