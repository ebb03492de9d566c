"""Outcome monitoring as a causal design: difference-in-differences against comparable people
who were not targeted (issue 12 item 8). The intervention workflow's capture step chooses the
comparison group on the pre-period and its measure step applies this rule
(shared/services/intervention_steps.py).

Why: the before/after mean on the targets alone reads any seasonal dip or noise as the
intervention's doing (with no effect at all it rolled back 30-46% of the time). Here each
target is matched to untargeted people with the closest pre-period level; every person
contributes one change (mean after - mean before), so the interval is clustered by person by
construction; a pre-trend check compares the two halves of the pre-period the same way.

Rollback fires when the effect is significantly harmful (the 95% interval entirely on the bad
side) or when the targets' mean falls past the safety floor (worse than the pre-period by more
than ``SAFETY_FLOOR_FRACTION``), whatever the comparison group did: the floor is checked even
when there are too few people to compare. A failed pre-trend check (p < ``PRE_TREND_ALPHA``:
targets and comparison already drifted apart before acting) is reported with the result; the
interval still decides, since ignoring it would hide harm.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

SAFETY_FLOOR_FRACTION = 0.20
COMPARISONS_PER_TARGET = 3
PRE_TREND_ALPHA = 0.05
PRE_PERIOD_DAYS = 56  # the pre-period: the 8 weeks before acting (comparison chosen on it)


@dataclass(frozen=True)
class DidResult:
    effect: float  # in the good direction: negative = harmful
    ci_low: float
    ci_high: float
    treated: int
    comparison: int
    pre_trend_p: float | None  # None: fewer than two pre-periods
    rollback: bool
    reason: str


def choose_comparison(
    pre_means: dict[str, float], treated: set[str], per_target: int = COMPARISONS_PER_TARGET
) -> list[str]:
    """Untargeted people nearest to each target's pre-period mean, without replacement."""
    pool = sorted((v, k) for k, v in pre_means.items() if k not in treated)
    chosen: list[str] = []
    taken: set[str] = set()
    for who in sorted(treated):
        if who not in pre_means:
            continue
        level = pre_means[who]
        nearest = sorted((abs(v - level), k) for v, k in pool if k not in taken)[:per_target]
        for _, k in nearest:
            taken.add(k)
            chosen.append(k)
    return chosen


def _changes(before: dict[str, list[float]], after: dict[str, list[float]], people: list[str]) -> list[float]:
    return [statistics.fmean(after[p]) - statistics.fmean(before[p]) for p in people if before.get(p) and after.get(p)]


def _contrast(d_t: list[float], d_c: list[float]) -> tuple[float, float, float]:
    """Difference of mean changes, its Welch SE and degrees of freedom."""
    from scipy import stats

    effect = statistics.fmean(d_t) - statistics.fmean(d_c)
    v_t = statistics.variance(d_t) / len(d_t) if len(d_t) > 1 else 0.0
    v_c = statistics.variance(d_c) / len(d_c) if len(d_c) > 1 else 0.0
    se = math.sqrt(v_t + v_c)
    denom = (v_t**2 / max(len(d_t) - 1, 1)) + (v_c**2 / max(len(d_c) - 1, 1))
    dof = (v_t + v_c) ** 2 / denom if denom > 0 else 1.0
    return effect, se, float(stats.t.ppf(0.975, max(dof, 1.0)))


def difference_in_differences(
    pre: dict[str, list[float]],
    post: dict[str, list[float]],
    treated: set[str],
    higher_is_better: bool,
    safety_floor_fraction: float = SAFETY_FLOOR_FRACTION,
    comparison: list[str] | None = None,
) -> DidResult:
    """The monitored effect and the rollback decision (values per person and period, oldest first).

    ``comparison``: the group chosen before acting (``choose_comparison``); None chooses it here.
    """
    from scipy import stats

    sign = 1.0 if higher_is_better else -1.0
    pre_means = {k: statistics.fmean(v) for k, v in pre.items() if v}
    if comparison is None:
        comparison = choose_comparison(pre_means, treated)
    targets = sorted(t for t in treated if t in pre_means)
    d_t, d_c = _changes(pre, post, targets), _changes(pre, post, comparison)
    fell = _floor_crossed(pre_means, post, targets, sign, safety_floor_fraction)
    if len(d_t) < 2 or len(d_c) < 2:
        reason = "safety floor crossed" if fell else "too few people to compare"
        return DidResult(0.0, -math.inf, math.inf, len(d_t), len(d_c), None, fell, reason)
    raw, se, q = _contrast(d_t, d_c)
    effect = sign * raw
    low, high = effect - q * se, effect + q * se
    pre_p = None
    halves = {k: (v[: len(v) // 2], v[len(v) // 2 :]) for k, v in pre.items() if len(v) >= 2}
    if halves:
        first = {k: h[0] for k, h in halves.items()}
        second = {k: h[1] for k, h in halves.items()}
        p_t, p_c = _changes(first, second, targets), _changes(first, second, comparison)
        if len(p_t) > 1 and len(p_c) > 1:
            pre_p = float(stats.ttest_ind(p_t, p_c, equal_var=False).pvalue)
    if high < 0:
        return DidResult(effect, low, high, len(d_t), len(d_c), pre_p, True, "significantly harmful")
    if fell:
        return DidResult(effect, low, high, len(d_t), len(d_c), pre_p, True, "safety floor crossed")
    return DidResult(effect, low, high, len(d_t), len(d_c), pre_p, False, "no significant harm")


def _floor_crossed(
    pre_means: dict[str, float], post: dict[str, list[float]], targets: list[str], sign: float, fraction: float
) -> bool:
    """The targets' mean after acting is worse than before by more than ``fraction`` (relative)."""
    measured = [t for t in targets if post.get(t)]
    if not measured:
        return False
    before = statistics.fmean(pre_means[t] for t in measured)
    after = statistics.fmean(statistics.fmean(post[t]) for t in measured)
    return sign * (after - before) < -fraction * abs(before)
