"""Which file to ship: the recommendation, read from each file's typed verdict and figures, never their words.

A manifest's choices can be remade with another budget (`edgeport report --budget`) from what it records:
each file's figures and the bar it was judged by.
"""

from __future__ import annotations

from dataclasses import replace

from edgeport.export.micro import fit_problem
from edgeport.export.plan import (BALANCED_SLOWDOWN, DEFAULT_BUDGET_PT, DEFAULT_OBJECTIVE, Objective,
                                  class_budget)
from edgeport.export.verdict import ROUNDING, misses
from edgeport.runtime.manifest import Board, FileEntry, Recommendation, Verdict


def within_budget(entry: FileEntry, budget_pt: float = DEFAULT_BUDGET_PT, class_budget_pt: float | None = None
                  ) -> bool:
    """Whether a manifest entry's point estimates are within its bar with this budget.

    The recommendation goes by the point estimates (the intervals say how sure they are): no bar the budgets
    do not move was failed at export (the recorded misses' kinds), every bar of the file is met
    (export.verdict.misses; a max-difference miss that is only advisory does not count), with the budget as a
    quantized file's accuracy bar and the class budget (default: plan.class_budget of the budget) as every
    file's per-class bar, and no file, a float one included, loses more than the budget. The per-class bar
    alone goes by the evidence: a class holds a share of the images, and one changed picture in a small
    class moves its recall by points, so the worst class's drop counts only when its whole interval lies
    beyond the class budget.
    """
    figures, bar = entry.validation, entry.validation.bar
    if any(miss.verdict is Verdict.FAIL and miss.kind not in ("accuracy", "class") for miss in figures.misses or ()):
        return False
    if bar.max_class_drop is not None:  # a manifest of edgeport 0.3 or later: it has the per-class figures
        drop = class_budget(budget_pt) if class_budget_pt is None else class_budget_pt
        bar = replace(bar, max_class_drop=drop / 100)
    if not bar.two_sided:
        bar = replace(bar, max_accuracy_change=budget_pt / 100)
    if any(miss.verdict is not Verdict.ADVISORY and (miss.kind != "class" or miss.verdict is Verdict.FAIL)
           for miss in misses(figures, bar)):
        return False
    return -figures.accuracy_change <= budget_pt / 100 + ROUNDING


def quick_enough(entry: FileEntry, fastest: FileEntry) -> bool:
    """Whether a file's single-image latency is a fair trade next to the fastest file's, for the balanced
    objective: at most BALANCED_SLOWDOWN times it, beyond the noise of the timing. The two medians' 95 %
    intervals are compared (the file's low end against the fastest's high end), so that a file is turned down
    only when it is surely slower by more than that; files timed without an interval (older manifests, TFLM's
    times) compare their medians."""
    low = entry.latency_interval_us[0] if entry.latency_interval_us else entry.latency_us
    high = fastest.latency_interval_us[1] if fastest.latency_interval_us else fastest.latency_us
    return low <= BALANCED_SLOWDOWN * high


def recommend(files: dict[str, FileEntry], budget_pt: float = DEFAULT_BUDGET_PT, integer_only: bool = False,
              objective: str = DEFAULT_OBJECTIVE, board: Board | None = None, class_budget_pt: float | None = None
              ) -> Recommendation:
    """The file within budget that the objective picks, overall and per format (None where none qualifies),
    the smallest and the fastest; and the smallest microcontroller's file within budget.

    Microcontroller's files (batch 1, validated in TFLM) compete only with each other, unless the files
    hold nothing else.

    Objectives: "size", the smallest; "speed", the fastest by the latency measured at export; "balanced",
    the smallest of those quick enough next to the fastest (quick_enough; the smallest when none was
    timed).

    Args:
        files: the manifest's files.
        budget_pt: the accuracy points a quantized file may lose.
        integer_only: choose only among files whose arithmetic is all integer.
        objective: balanced, size, or speed: the lowest single-image latency measured at export (files
            without one are not candidates for speed and balanced).
        board: the microcontroller the micro file must fit (micro.needs).
        class_budget_pt: the recall points any one class may lose (default: plan.class_budget of budget_pt).
    """
    class_budget_pt = class_budget(budget_pt) if class_budget_pt is None else class_budget_pt
    host = {name: entry for name, entry in files.items() if entry.micro is None}
    micro = [(entry.bytes, name) for name, entry in files.items()
             if entry.micro is not None and entry.micro.runs and within_budget(entry, budget_pt, class_budget_pt)
             and fit_problem(entry, board) is None]
    within = [(name, entry) for name, entry in (host or files).items()
              if within_budget(entry, budget_pt, class_budget_pt) and (entry.integer_only or not integer_only)]

    def best(key, fmt=None):
        candidates = sorted((key(entry), name) for name, entry in within
                            if key(entry) is not None and fmt in (None, entry.format))
        return candidates[0][1] if candidates else None

    def balanced(fmt=None):
        timed = [(entry.latency_us, entry.bytes, name) for name, entry in within
                 if entry.latency_us is not None and fmt in (None, entry.format)]
        if not timed:  # nothing was timed (another budget than the export's): the smallest
            return best(size, fmt)
        fastest = files[min(timed)[2]]
        return min((size_, name) for _, size_, name in timed if quick_enough(files[name], fastest))[1]

    def choose(fmt=None):
        if objective == Objective.BALANCED:
            return balanced(fmt)
        return best(speed if objective == Objective.SPEED else size, fmt)

    size, speed = (lambda e: e.bytes), (lambda e: e.latency_us)
    return Recommendation(budget_pt, integer_only, choose(), choose("tflite"), choose("onnx"), Objective(objective).value,
                          best(size), best(speed), min(micro)[1] if micro else None, board, class_budget_pt)


def settle_line(files: dict[str, FileEntry], recommended: str | None, budget_pt: float, images: int) -> str | None:
    """One line when the validation images are too few to settle the budget, with how many would; else None.

    It names the recommended file when its accuracy-change interval reaches past the budget, first, then
    the files whose point estimate misses a bar that their interval still reaches (neither failed nor
    recommended), each with the images that would settle it (a file whose estimate sits on its bar needs
    more than any number).
    """
    names = [name for name, entry in files.items() if entry.validation.verdict is Verdict.CANNOT_TELL]
    chosen = files.get(recommended) if recommended else None
    interval = chosen.validation.accuracy_change_interval if chosen else None
    if interval is not None and not chosen.validation.bar.two_sided and interval[0] < -budget_pt / 100:
        names.insert(0, recommended)
    if not names:
        return None

    def would(name: str) -> str:
        needed = files[name].validation.images_to_settle
        return f"about {needed:,} would" if needed is not None else "no number would: its estimate sits on its bar"

    named = ", ".join(f"{name} ({would(name)})" for name in dict.fromkeys(names))
    return (f"{images:,} validation images cannot settle {named} against "
            f"{'its bars' if len(set(names)) == 1 else 'their bars'} and the {budget_pt:g} pt budget")


def best_miss(files: dict[str, FileEntry], integer_only: bool = False) -> str | None:
    """The file that came closest to its bar (highest agreement over the bar), to name when nothing is within budget."""
    candidates = [(entry.validation.agreement - entry.validation.bar.min_agreement, -entry.bytes, name)
                  for name, entry in files.items() if entry.integer_only or not integer_only]
    return max(candidates)[2] if candidates else None


def objective_words(objective: str) -> str:
    """How an objective chose a file, to follow "the": "smallest", "fastest", ..."""
    return {Objective.BALANCED: f"smallest at most {BALANCED_SLOWDOWN:g}x slower than the fastest, beyond the "
                                f"timing's noise",
            Objective.SIZE: "smallest", Objective.SPEED: "fastest"}[Objective(objective)]
