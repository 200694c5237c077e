"""Which file to ship: the recommendation, read from each file's typed verdict and figures, never their words.

A manifest's choices can be remade with another budget (`edgeport report --budget`) from what it records:
each file's figures and the bar it was judged by.
"""

from __future__ import annotations

from dataclasses import replace

from edgeport.export.micro import fit_problem
from edgeport.export.plan import BALANCED_MARGIN_US, BALANCED_SLOWDOWN, DEFAULT_BUDGET_PT, DEFAULT_OBJECTIVE, Objective
from edgeport.export.verdict import ROUNDING, misses
from edgeport.runtime.manifest import Board, FileEntry, Recommendation, Verdict


def within_budget(entry: FileEntry, budget_pt: float = DEFAULT_BUDGET_PT) -> bool:
    """Whether a manifest entry's point estimates are within its bar with this budget.

    The recommendation goes by the point estimates (the intervals say how sure they are): no bar the budget
    does not move was failed at export (the recorded misses' kinds), every bar of the file is met
    (export.verdict.misses; a max-difference miss that is only advisory does not count), with the budget as a
    quantized file's accuracy bar, and no file, a float one included, loses more than the budget.
    """
    figures, bar = entry.validation, entry.validation.bar
    if any(miss.verdict is Verdict.FAIL and miss.kind != "accuracy" for miss in figures.misses or ()):
        return False
    if not bar.two_sided:
        bar = replace(bar, max_accuracy_change=budget_pt / 100)
    if any(miss.verdict is not Verdict.ADVISORY for miss in misses(figures, bar)):
        return False
    return -figures.accuracy_change <= budget_pt / 100 + ROUNDING


def quick_enough(latency_us: float, fastest_us: float) -> bool:
    """Whether a file's single-image latency is a fair trade next to the fastest file's, for the balanced
    objective: at most BALANCED_SLOWDOWN times it, or no more than BALANCED_MARGIN_US above it (on a small
    model every file takes microseconds, and their ratios are noise)."""
    return latency_us <= max(BALANCED_SLOWDOWN * fastest_us, fastest_us + BALANCED_MARGIN_US)


def recommend(files: dict[str, FileEntry], budget_pt: float = DEFAULT_BUDGET_PT, integer_only: bool = False,
              objective: str = DEFAULT_OBJECTIVE, board: Board | None = None) -> Recommendation:
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
    """
    host = {name: entry for name, entry in files.items() if entry.micro is None}
    micro = [(entry.bytes, name) for name, entry in files.items()
             if entry.micro is not None and entry.micro.runs and within_budget(entry, budget_pt)
             and fit_problem(entry, board) is None]
    within = [(name, entry) for name, entry in (host or files).items()
              if within_budget(entry, budget_pt) and (entry.integer_only or not integer_only)]

    def best(key, fmt=None):
        candidates = sorted((key(entry), name) for name, entry in within
                            if key(entry) is not None and fmt in (None, entry.format))
        return candidates[0][1] if candidates else None

    def balanced(fmt=None):
        timed = [(entry.latency_us, entry.bytes, name) for name, entry in within
                 if entry.latency_us is not None and fmt in (None, entry.format)]
        if not timed:  # nothing was timed (another budget than the export's): the smallest
            return best(size, fmt)
        fastest = min(latency for latency, _, _ in timed)
        return min((size_, name) for latency, size_, name in timed if quick_enough(latency, fastest))[1]

    def choose(fmt=None):
        if objective == Objective.BALANCED:
            return balanced(fmt)
        return best(speed if objective == Objective.SPEED else size, fmt)

    size, speed = (lambda e: e.bytes), (lambda e: e.latency_us)
    return Recommendation(budget_pt, integer_only, choose(), choose("tflite"), choose("onnx"), Objective(objective).value,
                          best(size), best(speed), min(micro)[1] if micro else None, board)


def settle_line(files: dict[str, FileEntry], recommended: str | None, budget_pt: float, images: int) -> str | None:
    """One line when the validation images are too few to settle the budget, with how many would; else None.

    It names the files whose point estimate misses a bar that their interval still reaches (neither
    failed nor recommended), and the recommended file when its accuracy-change interval reaches past
    the budget; the images are the most any of them needs (a file whose estimate sits on its bar
    needs more than any number).
    """
    names = [name for name, entry in files.items() if entry.validation.verdict is Verdict.CANNOT_TELL]
    chosen = files.get(recommended) if recommended else None
    interval = chosen.validation.accuracy_change_interval if chosen else None
    if interval is not None and not chosen.validation.bar.two_sided and interval[0] < -budget_pt / 100:
        names.append(recommended)
    if not names:
        return None
    needed = [n for n in (files[name].validation.images_to_settle for name in names) if n is not None]
    would = f"about {max(needed):,} would" if needed else "no number of images would: the estimate sits on its bar"
    return (f"{images:,} validation images cannot settle {', '.join(dict.fromkeys(names))} against "
            f"{'its bars' if len(names) == 1 else 'their bars'} and the {budget_pt:g} pt budget: {would}")


def best_miss(files: dict[str, FileEntry], integer_only: bool = False) -> str | None:
    """The file that came closest to its bar (highest agreement over the bar), to name when nothing is within budget."""
    candidates = [(entry.validation.agreement - entry.validation.bar.min_agreement, -entry.bytes, name)
                  for name, entry in files.items() if entry.integer_only or not integer_only]
    return max(candidates)[2] if candidates else None


def objective_words(objective: str) -> str:
    """How an objective chose a file, to follow "the": "smallest", "fastest", ..."""
    return {Objective.BALANCED: f"smallest at most {BALANCED_SLOWDOWN:g}x (or {BALANCED_MARGIN_US / 1000:g} ms) "
                                f"slower than the fastest",
            Objective.SIZE: "smallest", Objective.SPEED: "fastest"}[Objective(objective)]
