"""Outcome monitoring as difference-in-differences (the domain rule): a planted harmful effect
triggers rollback; a seasonal dip that hits targets and comparison people alike does not; with
no effect at all it rolls back rarely, where the before/after rule on the targets did often."""

from __future__ import annotations

from ops.monitoring_calibration import simulated_panel
from shared.domain.intervention_outcomes import OutcomeVerdict, judge_outcome
from shared.domain.interventions import CATALOGUE, InterventionType
from shared.domain.outcome_monitoring import difference_in_differences

ENTRY = CATALOGUE[InterventionType.MEETING_LOAD_CAP]  # wellbeing, higher is better


panel = simulated_panel  # the calibration's generator (ops/monitoring_calibration.py)


def test_planted_harmful_effect_triggers_rollback() -> None:
    """Detection rate of a harm of 1.5 noise SDs on 10 targets: at least 90% over 100 seeds."""
    rolled = sum(difference_in_differences(*panel(s, effect=-6.0), higher_is_better=True).rollback for s in range(100))
    assert rolled >= 90


def test_seasonal_dip_for_everyone_does_not_roll_back() -> None:
    results = [difference_in_differences(*panel(s, dip=-5.0), higher_is_better=True) for s in range(40)]
    assert sum(r.rollback for r in results) <= 3
    assert all(r.comparison >= r.treated for r in results)
    # the before/after rule on the targets alone reads the dip as the intervention's harm
    old = 0
    for s in range(40):
        pre, post, treated = panel(s, dip=-5.0)
        before = {k: pre[k][-1] for k in treated}
        after = {k: post[k][-1] for k in treated}
        old += judge_outcome(ENTRY, before, after)[0] is OutcomeVerdict.NEGATIVE
    assert old >= 20


def test_no_effect_rarely_rolls_back() -> None:
    """False rollback rate with no effect at all: at most 5% over 200 seeds (a one-sided 2.5%
    test by design; the margin covers the t approximation of the Welch interval)."""
    rolled = sum(difference_in_differences(*panel(s), higher_is_better=True).rollback for s in range(200))
    assert rolled <= 0.05 * 200


def test_safety_floor_fires_even_without_a_comparison_group() -> None:
    pre = {"a": [70.0, 71.0], "b": [69.0, 70.0]}
    post = {"a": [50.0], "b": [52.0]}  # 27% worse, nobody to compare with
    r = difference_in_differences(pre, post, {"a", "b"}, higher_is_better=True)
    assert r.rollback and r.reason == "safety floor crossed" and r.comparison == 0


def test_pre_trend_is_reported_and_small_groups_are_not_judged() -> None:
    r = difference_in_differences(*panel(1), higher_is_better=True)
    assert r.pre_trend_p is not None and 0 <= r.pre_trend_p <= 1
    pre, post, _ = panel(2)
    lonely = difference_in_differences(pre, post, {"p0"}, higher_is_better=True)
    assert not lonely.rollback and lonely.reason == "too few people to compare"
