"""Judging an intervention's outcome: the verdict that decides rollback and the group figures that
may be stored and audited (never per person; means withheld under the minimum group size).

The rule reads the catalogue entry (shared/domain/interventions.py) for the outcome metric and
whether higher is better. See docs/interventions.md, "Outcome monitoring".
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from shared.domain.interventions import CatalogueEntry
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
    entry: CatalogueEntry,
    baseline: dict[str, float],
    after: dict[str, float],
    min_group_size: int,
    tolerance: float = 0.05,
) -> dict[str, Any]:
    """The judged outcome as stored and audited: verdict plus group figures, never per person.

    The relative change is a difference of two group means, so it is withheld under the
    minimum group size like the means themselves; the verdict is kept (it decides rollback).
    """
    verdict, change = judge_outcome(entry, baseline, after, tolerance)
    compared = sorted(set(baseline) & set(after))
    reportable = group_is_reportable(len(compared), min_group_size)
    return {
        "metric": entry.outcome_metric,
        "verdict": verdict.value,
        "relative_change": change if reportable else None,
        "compared_people": len(compared),
        "baseline": group_summary({k: baseline[k] for k in compared}, min_group_size),
        "after": group_summary({k: after[k] for k in compared}, min_group_size),
    }
