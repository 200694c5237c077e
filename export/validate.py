"""Prove an exported file predicts what the Keras model predicts, through runtime.load.

Every verdict is read back from the bar the file was judged by (recorded in its Validation), so a
manifest's choices can be remade with another budget without the plan that wrote it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgeport import runtime
from edgeport.export import intervals
from edgeport.export.common import Quantization
from edgeport.export.micro import fit_problem
from edgeport.export.plan import BALANCED_MARGIN_US, BALANCED_SLOWDOWN, DEFAULT_BUDGET_PT, ExportPlan
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
    agreeing, gained, lost = intervals.paired_counts(result["predictions"], np.asarray(reference).argmax(1), labels)
    count = len(labels)
    figures = Validation(
        accuracy=result["accuracy"], reference_accuracy=result["reference_accuracy"],
        accuracy_change=result["accuracy_change"], agreement=result["agreement"], max_abs_diff=result["max_abs_diff"],
        per_class_accuracy=result["per_class_accuracy"], confusion_matrix=result["confusion_matrix"],
        changed=Changed(changed, result["predictions"][changed].tolist()), bytes=size,
        size_ratio=size / float32_bytes if float32_bytes else None, size_limit_bytes=limit,
        bar=plan.bar_for(mode), failures=[], passed=True, batch=figures_batch(predictor), kernels=predictor.kernels,
        agreement_interval=_rounded(intervals.agreement_interval(agreeing, count)),
        accuracy_change_interval=_rounded(intervals.accuracy_change_interval(gained, lost, count)))
    misses = _misses(path.name, figures, figures.bar, plan.size_ratio, plan.size_allowance_bytes)
    advisories = _advisories(misses)
    misses = [(kind, text) for kind, text in misses if not (kind == "difference" and advisories)]
    evident = [text for kind, text in misses if not _unsettled(kind, figures)]
    unresolved = [text for kind, text in misses if _unsettled(kind, figures)]
    return replace(figures, failures=evident, passed=not evident, unresolved=unresolved,
                   images_to_settle=_images_to_settle(figures, gained, lost, count), advisories=advisories or None)


def _advisories(misses: list[tuple[str, str]]) -> list[str]:
    """The max-difference miss, as advice, when the file meets its agreement and accuracy bars.

    A float file's largest probability difference grows with the model's own logits (ConvNeXtTiny's
    float16 file: 5.2e-3 against a 5e-3 bar, with every answer the same): what the bar is there to
    catch, changed answers, is measured by the agreement and accuracy bars themselves.
    """
    kinds = {kind for kind, _ in misses}
    if "difference" not in kinds or kinds & {"agreement", "accuracy"}:
        return []
    return [f"{text} (advisory: agreement and accuracy meet their bars)" for kind, text in misses
            if kind == "difference"]


def _rounded(interval) -> list:
    return [round(float(v), 6) for v in interval]


def _unsettled(kind: str, figures: Validation) -> bool:
    """Whether a bar the point estimate misses is one its interval still reaches (the images cannot tell)."""
    bar = figures.bar
    if kind == "agreement":
        return figures.agreement_interval[1] >= bar.min_agreement
    if kind == "accuracy":
        low, high = figures.accuracy_change_interval
        limit = bar.max_accuracy_change
        return (low <= limit and high >= -limit) if bar.two_sided else high >= -limit
    return False


def _images_to_settle(figures: Validation, gained: int, lost: int, count: int) -> int | None:
    """Validation images that would settle each bar whose interval straddles it, at the figures seen (the
    largest); None when every interval is clear of its bar."""
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
    if not needed:
        return None
    return None if None in needed else max(needed)


def figures_batch(predictor: runtime.Predictor) -> int | str:
    """The batch size a file's figures hold for: 1 when its answers depend on the batch (the runtime then runs it
    one image at a time, as a phone does), else "any"."""
    return 1 if predictor.batch_dependent else "any"


def check_bar(name: str, figures, bar: Bar, size_ratio: float | None = None, allowance: int = 0) -> list[str]:
    """Every way the point estimates of figures (a Validation, or anything with agreement, accuracy_change,
    max_abs_diff and optionally bytes, size_limit_bytes) miss bar, as readable strings."""
    return [text for _, text in _misses(name, figures, bar, size_ratio, allowance)]


def _misses(name: str, figures, bar: Bar, size_ratio: float | None, allowance: int) -> list[tuple[str, str]]:
    """check_bar's misses as (which bar: agreement, accuracy, difference or size; readable string)."""
    misses = []
    interval = getattr(figures, "agreement_interval", None)
    if figures.agreement < bar.min_agreement:
        misses.append(("agreement", f"{name}: agreement {100 * figures.agreement:.2f} %{_ci(interval, '%')} < "
                                    f"{100 * bar.min_agreement:.2f} %"))
    change = figures.accuracy_change
    limit = bar.max_accuracy_change + 1e-12  # a change on the limit (up to rounding) meets it, as in within_budget
    missed = abs(change) > limit if bar.two_sided else change < -limit
    if missed:
        interval = getattr(figures, "accuracy_change_interval", None)
        misses.append(("accuracy", f"{name}: accuracy change {100 * change:+.2f} pt{_ci(interval, 'pt')} beyond "
                                   f"{'±' if bar.two_sided else '-'}{100 * bar.max_accuracy_change:.2f} pt"))
    if bar.max_abs_diff is not None and figures.max_abs_diff > bar.max_abs_diff:
        misses.append(("difference", f"{name}: max abs probability difference {figures.max_abs_diff:.2e} > "
                                     f"{bar.max_abs_diff:.0e}"))
    limit = getattr(figures, "size_limit_bytes", None)
    if limit is not None and figures.bytes > limit:
        misses.append(("size", f"{name}: {100 * figures.size_ratio:.1f} % of the float32 size, over "
                               f"{100 * size_ratio:.0f} % + {allowance // 1024} KiB ({limit:,} bytes)"))
    return misses


def _ci(interval, unit: str) -> str:
    """' (95 % a to b unit)' for an interval given as fractions; '' when there is none."""
    if interval is None:
        return ""
    sign = "+" if unit == "pt" else ""
    return f" (95 % {100 * interval[0]:{sign}.2f} to {100 * interval[1]:{sign}.2f} {unit})"


def within_budget(entry: FileEntry, budget_pt: float = DEFAULT_BUDGET_PT) -> bool:
    """Whether a manifest entry's point estimates are within its bar with this budget.

    The recommendation goes by the point estimates (the intervals say how sure they are): the
    agreement, the max difference and the size against the bar the file was judged by, and a
    accuracy change against budget_pt (a float file's also against its fixed two-sided bar).
    """
    figures, bar = entry.validation, entry.validation.bar
    if not figures.passed and not all("accuracy change" in f for f in figures.failures or [""]):
        return False  # a failure the budget does not move
    if figures.agreement < bar.min_agreement:
        return False
    if bar.max_abs_diff is not None and figures.max_abs_diff > bar.max_abs_diff and not figures.advisories:
        return False
    if figures.size_limit_bytes is not None and figures.bytes > figures.size_limit_bytes:
        return False
    if bar.two_sided and abs(figures.accuracy_change) > bar.max_accuracy_change + 1e-12:
        return False
    return -figures.accuracy_change <= budget_pt / 100 + 1e-12  # no file may lose more than the budget


def quick_enough(latency_us: float, fastest_us: float) -> bool:
    """Whether a file's single-image latency is a fair trade next to the fastest file's, for the balanced
    objective: at most BALANCED_SLOWDOWN times it, or no more than BALANCED_MARGIN_US above it (on a small
    model every file takes microseconds, and their ratios are noise)."""
    return latency_us <= max(BALANCED_SLOWDOWN * fastest_us, fastest_us + BALANCED_MARGIN_US)


def recommend(files: dict[str, FileEntry], budget_pt: float = DEFAULT_BUDGET_PT, integer_only: bool = False,
              objective: str = "size", board: dict | None = None) -> Recommendation:
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
        board: the microcontroller ({"name", "ram_bytes", "flash_bytes"}) the micro file must fit (micro.needs).
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
        return balanced(fmt) if objective == "balanced" else best(speed if objective == "speed" else size, fmt)

    size, speed = (lambda e: e.bytes), (lambda e: e.latency_us)
    return Recommendation(budget_pt, integer_only, choose(), choose("tflite"), choose("onnx"), objective,
                          best(size), best(speed), min(micro)[1] if micro else None, board)


def settle_line(files: dict[str, FileEntry], recommended: str | None, budget_pt: float, images: int) -> str | None:
    """One line when the validation images are too few to settle the budget, with how many would; else None.

    It names the files whose point estimate misses a bar that their interval still reaches (neither
    failed nor recommended), and the recommended file when its accuracy-change interval reaches past
    the budget; the images are the most any of them needs (a file whose estimate sits on its bar
    needs more than any number).
    """
    names = [name for name, entry in files.items() if entry.validation.unresolved and entry.validation.passed]
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


def interval_text(entry: FileEntry) -> str:
    """A file's figures with their 95 % intervals, for a sentence: 'accuracy change -0.10 pt (95 % ...), agreement ...'."""
    v = entry.validation
    return (f"accuracy change {100 * v.accuracy_change:+.2f} pt{_ci(v.accuracy_change_interval, 'pt')}, "
            f"agreement {100 * v.agreement:.2f} %{_ci(v.agreement_interval, '%')}")


def best_miss(files: dict[str, FileEntry], integer_only: bool = False) -> str | None:
    """The file that came closest to its bar (highest agreement over the bar), to name when nothing is within budget."""
    candidates = [(entry.validation.agreement - entry.validation.bar.min_agreement, -entry.bytes, name)
                  for name, entry in files.items() if entry.integer_only or not integer_only]
    return max(candidates)[2] if candidates else None
