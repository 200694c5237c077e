"""A file's verdict against its bars, decided once from the bar arithmetic, and its words.

misses() is the one place where a figure meets a bar: the validation, the ladder's searches (on the
tuning images) and the recommendation (with another budget) all call it, and everything else reads
the typed Miss records and Verdict it returns, never their text.
"""

from __future__ import annotations

from edgeport.runtime.manifest import Bar, Miss, Validation, Verdict

# A figure on its bar, up to rounding, meets it.
ROUNDING = 1e-12


def misses(figures, bar: Bar, name: str = "", size_ratio: float | None = None, allowance: int = 0,
           confidence: float = 0.95) -> list[Miss]:
    """Every bar whose point estimate figures misses, each with its verdict.

    A miss is FAIL when its 95 % interval lies wholly beyond the bar (the evidence says so), CANNOT_TELL
    when the interval still reaches it (or there is no interval: a search's tuning figures), and the
    max-difference miss is ADVISORY when agreement and accuracy meet their bars.

    Args:
        figures: a Validation, or anything with agreement, accuracy_change, max_abs_diff, and optionally
            their intervals, the worst class's recall change and interval, bytes, size_ratio and size_limit_bytes.
        bar: the bar to meet (its max_accuracy_change is the budget, for a quantized file).
        name: the file's name, for the words.
        size_ratio, allowance: the size bar (share of float32, bytes), for the words.
        confidence: the level of the figures' intervals (an interim look of the sequential validation judges
            with 99.9 % ones), for the words.
    """
    found = []

    def said(interval, unit: str) -> str:
        return interval_words(interval, unit, confidence=confidence)

    agreement_interval = getattr(figures, "agreement_interval", None)
    if figures.agreement < bar.min_agreement:
        settled = agreement_interval is not None and agreement_interval[1] < bar.min_agreement
        found.append(Miss("agreement", bar.min_agreement, figures.agreement, agreement_interval, _settled(settled),
                          f"{name}: agreement {100 * figures.agreement:.2f} %{said(agreement_interval, '%')} "
                          f"< {100 * bar.min_agreement:.2f} %"))
    change, limit = figures.accuracy_change, bar.max_accuracy_change
    if abs(change) > limit + ROUNDING if bar.two_sided else change < -limit - ROUNDING:
        interval = getattr(figures, "accuracy_change_interval", None)
        settled = interval is not None and (interval[1] < -limit or (bar.two_sided and interval[0] > limit))
        found.append(Miss("accuracy", limit, change, interval, _settled(settled),
                          f"{name}: accuracy change {100 * change:+.2f} pt{said(interval, 'pt')} beyond "
                          f"{'±' if bar.two_sided else '-'}{100 * limit:.2f} pt"))
    drop, worst = bar.max_class_drop, getattr(figures, "worst_class_change", None)
    if drop is not None and worst is not None and worst < -drop - ROUNDING:
        interval = figures.worst_class_interval
        settled = interval is not None and interval[1] < -drop
        found.append(Miss("class", drop, worst, interval, _settled(settled),
                          f"{name}: {figures.worst_class} recall {100 * worst:+.2f} pt{said(interval, 'pt')} "
                          f"beyond the per-class -{100 * drop:.2f} pt"))
    if bar.max_abs_diff is not None and figures.max_abs_diff > bar.max_abs_diff:
        advisory = not found  # changed answers, what the bar is there to catch, are measured by the other two
        text = f"{name}: max abs probability difference {figures.max_abs_diff:.2e} > {bar.max_abs_diff:.0e}"
        found.append(Miss("difference", bar.max_abs_diff, figures.max_abs_diff, None,
                          Verdict.ADVISORY if advisory else Verdict.FAIL,
                          text + (" (advisory: agreement and accuracy meet their bars)" if advisory else "")))
    limit_bytes = getattr(figures, "size_limit_bytes", None)
    if limit_bytes is not None and figures.bytes > limit_bytes:
        found.append(Miss("size", limit_bytes, figures.bytes, None, Verdict.FAIL,
                          f"{name}: {100 * figures.size_ratio:.1f} % of the float32 size, over "
                          f"{100 * (size_ratio or 0):.0f} % + {allowance // 1024} KiB ({limit_bytes:,} bytes)"))
    return found


def inside(figures, bar: Bar) -> bool:
    """Whether the intervals of the agreement and the accuracy change (those figures has) lie wholly inside their
    bars: the bars are met whatever more images would show, at the intervals' level (a sequential validation's
    pass at an interim look; a search's candidate surely within on its tuning images)."""
    agreement = getattr(figures, "agreement_interval", None)
    change = getattr(figures, "accuracy_change_interval", None)
    limit = bar.max_accuracy_change
    return ((agreement is None or agreement[0] >= bar.min_agreement)
            and (change is None or (change[0] >= -limit and (not bar.two_sided or change[1] <= limit))))


def _settled(settled: bool) -> Verdict:
    return Verdict.FAIL if settled else Verdict.CANNOT_TELL


def decide(found: list[Miss]) -> Verdict:
    """The file's verdict from its misses: FAIL over CANNOT_TELL over ADVISORY over PASS."""
    verdicts = {miss.verdict for miss in found}
    for verdict in (Verdict.FAIL, Verdict.CANNOT_TELL, Verdict.ADVISORY):
        if verdict in verdicts:
            return verdict
    return Verdict.PASS


def texts(found: list[Miss], verdict: Verdict) -> list[str]:
    """The words of the misses with this verdict (the manifest's failures, unresolved, advisories)."""
    return [miss.text for miss in found if miss.verdict is verdict]


def verdict_words(validation: Validation) -> str:
    """A file's verdict for a progress line: 'pass', 'FAIL: ...', 'cannot tell: ...', 'pass (...advisory)'."""
    if validation.verdict is Verdict.FAIL:
        return "FAIL: " + "; ".join(validation.failures)
    if validation.verdict is Verdict.CANNOT_TELL:
        return "cannot tell: " + "; ".join(validation.unresolved or [])
    advisories = validation.advisories or []
    return "pass" + (f" ({'; '.join(advisories)})" if advisories else "")


def verdict_cell(validation: Validation) -> str:
    """A file's verdict for a table: '**FAIL**', 'cannot tell' or 'pass'."""
    return {Verdict.FAIL: "**FAIL**", Verdict.CANNOT_TELL: "cannot tell"}.get(validation.verdict, "pass")


def interval_words(interval, unit: str, style: str = "sentence", confidence: float = 0.95) -> str:
    """An interval of fractions in words, '' when there is none.

    style: "sentence" ' (95 % -0.20 to +0.05 pt)', with its confidence ('99.9 %' for another); "bracket"
    ' [-0.20, +0.05]'; "plain" '-0.20 to +0.05'. Points (unit 'pt') carry their sign; percentages do not.
    """
    if interval is None:
        return ""
    sign = "+" if unit == "pt" else ""
    low, high = f"{100 * interval[0]:{sign}.2f}", f"{100 * interval[1]:{sign}.2f}"
    if style == "bracket":
        return f" [{low}, {high}]"
    if style == "plain":
        return f"{low} to {high}"
    return f" ({100 * confidence:g} % {low} to {high} {unit})"


def figures_words(validation: Validation) -> str:
    """A file's figures with their 95 % intervals, for a sentence: 'accuracy change -0.10 pt (95 % ...), agreement ...'."""
    v = validation
    return (f"accuracy change {100 * v.accuracy_change:+.2f} pt{interval_words(v.accuracy_change_interval, 'pt')}, "
            f"agreement {100 * v.agreement:.2f} %{interval_words(v.agreement_interval, '%')}")
