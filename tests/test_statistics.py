"""Bars as statistical tests: 95 % paired intervals on every validation, verdicts the evidence supports,
and the images a small validation set would need."""

from __future__ import annotations

import numpy as np
import pytest

from edgeport import runtime
from edgeport.export import ExportPlan, intervals
from edgeport.export.validate import validate_file
from tests.conftest import edgeport


@pytest.mark.parametrize("agreeing, images", [(360, 360), (359, 360), (355, 360), (197, 200), (9_950, 10_000)])
def test_agreement_interval_is_wilsons_score_interval(agreeing, images):
    from scipy.stats import binomtest

    expected = binomtest(agreeing, images).proportion_ci(0.95, method="wilson")
    low, high = intervals.agreement_interval(agreeing, images)
    assert low == pytest.approx(expected.low, abs=1e-9) and high == pytest.approx(expected.high, abs=1e-9)


@pytest.mark.parametrize("gained, lost", [(0.0, 0.0), (0.004, 0.012), (0.02, 0.01)])
def test_accuracy_change_interval_covers_the_true_change_95_percent_of_the_time(gained, lost):
    """Simulated validation sets of 300 images drawn with known discordance rates: the interval should hold
    the true change in about 95 % of them (the rates of a good int8 file, a lossy one, one that gains)."""
    rng = np.random.default_rng(0)
    images, trials, truth = 300, 4000, gained - lost
    counts = rng.multinomial(images, [gained, lost, 1 - gained - lost], size=trials)
    covered = [low - 1e-12 <= truth <= high + 1e-12
               for low, high in (intervals.accuracy_change_interval(b, c, images) for b, c, _ in counts)]
    # Near 95 %; with no discordance at all the truth (0) is always inside, as it must be.
    assert 0.93 <= np.mean(covered) <= (1.0 if gained == lost == 0 else 0.985)
    # No discordant image still leaves an interval of some width: 300 images cannot prove "no change".
    low, high = intervals.accuracy_change_interval(0, 0, images)
    assert low < -0.005 and high > 0.005


def test_a_missed_bar_fails_only_on_evidence(exported, test_set):
    """The real int8 file judged against references that disagree with it on 4 and on 20 of 200 images."""
    images, labels = test_set[0][:200], test_set[1][:200]
    path = exported / "model_int8.tflite"
    own = runtime.load(path, verify=False).predict(images)
    plan = ExportPlan()
    verdicts = {}
    for flipped in (4, 20):
        reference = own.copy()
        reference[:flipped] = np.roll(own[:flipped], 1, axis=1)  # another top class on the first images
        figures = validate_file(path, images, labels, reference, "int8", plan=plan)
        assert figures.agreement == pytest.approx((200 - flipped) / 200)
        from scipy.stats import binomtest

        wilson = binomtest(200 - flipped, 200).proportion_ci(0.95, method="wilson")
        assert figures.agreement_interval == pytest.approx([wilson.low, wilson.high], abs=1e-6)
        low, high = figures.accuracy_change_interval
        assert low <= figures.accuracy_change <= high
        verdicts[flipped] = figures
    # 98.0 % agreement misses the 98.5 % bar, but 200 images cannot tell (Wilson reaches 99.2 %): no failure.
    unsure = verdicts[4]
    assert unsure.passed and not unsure.failures and len(unsure.unresolved) == 1
    assert "agreement 98.00 %" in unsure.unresolved[0]
    assert unsure.images_to_settle > 200
    # 90 %: the whole interval lies below the bar: a failure.
    sure = verdicts[20]
    assert not sure.passed and "agreement 90.00 %" in sure.failures[0] and not sure.unresolved


def test_a_small_validation_set_says_it_cannot_settle_the_budget(exported, fashion, tmp_path):
    """300 validation images cannot resolve 0.5 pt: the manifest carries intervals and the command says how
    many images would."""
    test, train = fashion.splits["test"], fashion.splits["train"]
    npz = tmp_path / "small.npz"
    np.savez(npz, x_test=test.images[:300, :, :, 0], y_test=test.labels[:300], x_train=train.images[:600, :, :, 0],
             y_train=train.labels[:600])
    result = edgeport("export", exported / "model.keras", "--data", npz, "--formats", "fp32,int8",
                      "--out", tmp_path / "out")
    manifest = runtime.read_manifest(tmp_path / "out")
    int8 = manifest.files["model_int8.tflite"].validation
    low, high = int8.accuracy_change_interval
    assert low < -0.005 < high  # the interval reaches past the budget whatever the point estimate
    settle = [line for line in result.stdout.splitlines() if "cannot settle" in line]
    assert len(settle) == 1 and settle[0].startswith("300 validation images cannot settle model_int8.tflite")
    needed = int(settle[0].split("about ")[1].split(" would")[0].replace(",", ""))
    assert needed == int8.images_to_settle and needed > 300
    assert f"95 % {100 * low:+.2f} to {100 * high:+.2f} pt" in result.stdout  # the recommendation names its interval


def _figures(agreement, change, agreement_interval=None, change_interval=None, max_abs_diff=0.0):
    from types import SimpleNamespace

    return SimpleNamespace(agreement=agreement, accuracy_change=change, max_abs_diff=max_abs_diff,
                           agreement_interval=agreement_interval, accuracy_change_interval=change_interval)


INT8_BAR = (0.985, 0.005, False, None)
FLOAT16_BAR = (0.999, 0.001, True, 5e-3)


@pytest.mark.parametrize("bar, figures, expected", [
    # every bar met
    (INT8_BAR, _figures(0.99, -0.002, [0.987, 0.993], [-0.004, 0.0]), ("pass", [])),
    # agreement missed and its whole interval below the bar: the evidence says so
    (INT8_BAR, _figures(0.97, -0.002, [0.96, 0.98], [-0.004, 0.0]), ("fail", [("agreement", "fail")])),
    # accuracy missed by the estimate, the interval still reaching the budget: cannot tell
    (INT8_BAR, _figures(0.99, -0.007, [0.987, 0.993], [-0.012, -0.002]), ("cannot tell", [("accuracy", "cannot tell")])),
    # a float file gaining more than its two-sided bar, its interval wholly above it
    (FLOAT16_BAR, _figures(0.9995, 0.003, [0.9991, 0.9998], [0.002, 0.004]), ("fail", [("accuracy", "fail")])),
    # the max difference missed while agreement and accuracy meet theirs: advice, not a failure
    (FLOAT16_BAR, _figures(0.9995, 0.0, [0.9991, 0.9998], [-0.0005, 0.0005], 6e-3),
     ("advisory", [("difference", "advisory")])),
    # with the agreement missed too, the difference counts
    (FLOAT16_BAR, _figures(0.99, 0.0, [0.98, 0.995], [-0.0005, 0.0005], 6e-3),
     ("fail", [("agreement", "fail"), ("difference", "fail")])),
])
def test_each_miss_is_typed_and_the_verdict_is_decided_from_the_intervals(bar, figures, expected):
    from edgeport.export import verdict
    from edgeport.runtime.manifest import Bar

    found = verdict.misses(figures, Bar(*bar), "f.tflite")
    assert (verdict.decide(found).value, [(m.kind, m.verdict.value) for m in found]) == expected
    assert all(m.text.startswith("f.tflite: ") for m in found)


def test_the_manifest_records_verdicts_and_misses_and_reads_older_ones_without_them(exported):
    import json

    from edgeport.runtime.manifest import Validation, Verdict

    written = json.loads((exported / "manifest.json").read_text())["files"]
    for name, entry in written.items():
        v = entry["validation"]
        kinds = {miss["verdict"]: [] for miss in v["misses"]}
        for miss in v["misses"]:
            kinds[miss["verdict"]].append(miss["text"])
        assert kinds.get("fail", []) == v["failures"] and kinds.get("cannot tell", []) == (v.get("unresolved") or [])
        assert v["verdict"] == ("fail" if kinds.get("fail") else "cannot tell" if kinds.get("cannot tell")
                                else "advisory" if kinds.get("advisory") else "pass"), name
        assert v["passed"] == (v["verdict"] != "fail")
        # A manifest written before the verdict was recorded: read from passed and unresolved.
        old = {key: value for key, value in v.items() if key not in ("verdict", "misses")}
        assert Validation.from_json(old).verdict is Verdict(v["verdict"]), name


# --- sequential validation ---------------------------------------------------------------


AGREEMENT_ONLY = (0.985, 0.05, False, None)  # the 8-bit agreement bar; a loose accuracy bar that never binds


def _simulated_verdicts(agreement: float, runs: int, interim: float) -> list:
    """The verdicts of the sequential rule on simulated files of known agreement with Keras: each run is a file
    whose answers differ from Keras's on each image with probability 1 - agreement, over 10,000 images."""
    from edgeport.export import sequential
    from edgeport.runtime.manifest import Bar

    bar, rng, verdicts = Bar(*AGREEMENT_ONLY), np.random.default_rng(7), []
    expected = np.zeros(10_000, np.int64)
    for _ in range(runs):
        predicted = (rng.random(10_000) >= agreement).astype(np.int64)  # class 1 where the file disagrees
        seen, confidence = sequential.stop(lambda n: predicted[:n], expected, expected, bar, interim=interim)
        verdicts.append(sequential.settled(predicted[:seen], expected[:seen], expected[:seen], bar, confidence))
    return verdicts


def test_sequential_validation_keeps_wrong_verdicts_within_the_stated_5_percent():
    """A file exactly on the 98.5 % bar meets it, so a fail is wrong; one at 98.2 % misses it, so a pass settled
    early or at the last look is wrong. Over 2,000 seeded runs each, the rule's wrong verdicts stay within 5 %
    (its bound: 2.65 % on 10,000 images), where judging every look with 95 % intervals would not."""
    from edgeport.export import sequential
    from edgeport.runtime.manifest import Verdict

    assert sequential.looks(10_000) == [1_000, 2_000, 4_000, 10_000]
    assert sequential.wrong_verdict_bound(10_000) == pytest.approx(0.0265)
    on_bar = _simulated_verdicts(0.985, 2_000, sequential.INTERIM_CONFIDENCE)
    below = _simulated_verdicts(0.982, 2_000, sequential.INTERIM_CONFIDENCE)
    wrong = np.mean([v is Verdict.FAIL for v in on_bar]), np.mean([v is Verdict.PASS for v in below])
    assert max(wrong) <= sequential.STATED_ERROR, wrong
    # Peeking at every look with the last look's 95 % intervals fails files that meet their bar too often.
    naive = np.mean([v is Verdict.FAIL for v in _simulated_verdicts(0.985, 2_000, 0.95)])
    assert naive > max(wrong[0] + 0.01, sequential.wrong_verdict_bound(10_000)), (naive, wrong)


def test_a_clearly_fine_or_clearly_broken_file_stops_after_the_first_look(exported, test_set):
    """The real int8 file over the 10,000 test images: against its own answers it is clearly fine, against a
    reference whose class differs on every fifth image clearly broken; both are settled by the first 1,000
    images, and the recommended file's validation (full) runs on every image."""
    images, labels = test_set
    path = exported / "model_int8.tflite"
    own = runtime.load(path, verify=False).predict(images)
    fine = validate_file(path, images, labels, own, "int8")
    assert fine.images == 1_000 and fine.verdict == "pass" and fine.confidence == 0.999
    broken_reference = own.copy()
    broken_reference[::5] = np.roll(own[::5], 1, axis=1)
    broken = validate_file(path, images, labels, broken_reference, "int8")
    assert broken.images == 1_000 and broken.verdict == "fail" and broken.agreement == pytest.approx(0.8, abs=0.03)
    assert "agreement" in broken.failures[0] and "(99.9 % " in broken.failures[0]
    whole = validate_file(path, images, labels, own, "int8", full=True)
    assert whole.images == 10_000 and whole.confidence == 0.95 and whole.agreement == 1.0
    # Without sequential validation every file sees every image.
    assert validate_file(path, images, labels, own, "int8", plan=ExportPlan(sequential=False)).images == 10_000
