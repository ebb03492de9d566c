"""Judging an intervention's outcome: the verdict that decides rollback and the group figures that
may be stored and audited (never per person; means withheld under the minimum group size).

The rollback rule is the difference-in-differences in ``outcome_monitoring``; ``judge_outcome``
is the former before/after rule on the targets alone, kept as the baseline the calibration test
shows failing. The rule reads the catalogue entry (shared/domain/interventions.py) for the
outcome metric and whether higher is better. See docs/interventions.md, "Outcome monitoring".
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

from shared.domain.interventions import CatalogueEntry
from shared.domain.outcome_monitoring import PRE_TREND_ALPHA, DidResult
from shared.domain.privacy import group_is_reportable


class OutcomeVerdict(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


def judge_outcome(
    entry: CatalogueEntry, baseline: dict[str, float], after: dict[str, float], tolerance: float = 0.05
) -> tuple[OutcomeVerdict, float]:
    """Compare the outcome metric's mean over the target with the baseline captured before acting.

    Returns the verdict and the relative change in the *good* direction (negative = worse).
    A move worse than ``tolerance`` (relative) is negative; better than it is positive.
    """
    keys = sorted(set(baseline) & set(after))
    if not keys:
        return OutcomeVerdict.NEUTRAL, 0.0
    before_mean = sum(baseline[k] for k in keys) / len(keys)
    after_mean = sum(after[k] for k in keys) / len(keys)
    scale = abs(before_mean) if before_mean != 0 else 1.0
    change = (after_mean - before_mean) / scale
    good = change if entry.higher_is_better else -change
    if good < -tolerance:
        return OutcomeVerdict.NEGATIVE, good
    if good > tolerance:
        return OutcomeVerdict.POSITIVE, good
    return OutcomeVerdict.NEUTRAL, good


def group_summary(values: dict[str, float], min_group_size: int) -> dict[str, Any]:
    """What may leave the measuring activity: the group's size and mean, the mean withheld
    (None) when fewer than ``min_group_size`` people contribute (docs/privacy.md)."""
    n = len(values)
    reportable = group_is_reportable(n, min_group_size)
    mean = sum(values.values()) / n if n and reportable else None
    return {"people": n, "mean": mean, "withheld": not reportable}


def outcome_record(
    entry: CatalogueEntry, did: DidResult, before: dict[str, float], after: dict[str, float], min_group_size: int
) -> dict[str, Any]:
    """The judged outcome as stored and audited: the difference-in-differences effect, its 95%
    interval and the comparison group's size, plus the targets' group figures; never per person.

    ``before``/``after`` are the targets' pre- and post-period means. The effect is a difference
    of group means, so it (and its interval) is withheld when the targets or the comparison group
    are under the minimum group size; the verdict is kept (it decides rollback).
    """
    if did.rollback:
        verdict = OutcomeVerdict.NEGATIVE
    elif math.isfinite(did.ci_low) and did.ci_low > 0:
        verdict = OutcomeVerdict.POSITIVE
    else:
        verdict = OutcomeVerdict.NEUTRAL
    reportable = group_is_reportable(did.treated, min_group_size) and group_is_reportable(
        did.comparison, min_group_size
    )
    finite = reportable and math.isfinite(did.ci_low) and math.isfinite(did.ci_high)
    return {
        "metric": entry.outcome_metric,
        "method": "difference_in_differences",
        "verdict": verdict.value,
        "reason": did.reason,
        "effect": did.effect if finite else None,  # in the good direction: negative = harmful
        "ci_low": did.ci_low if finite else None,
        "ci_high": did.ci_high if finite else None,
        "pre_trend_p": did.pre_trend_p if reportable else None,
        "pre_trend_ok": did.pre_trend_p is None or did.pre_trend_p >= PRE_TREND_ALPHA,
        "compared_people": did.treated,
        "comparison_people": did.comparison,
        "baseline": group_summary(before, min_group_size),
        "after": group_summary(after, min_group_size),
    }
