"""Catalogue, evidence and impact rules: example cases plus properties (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.impact import (
    LEVEL_RANK,
    STRENGTH_RANK,
    EvidenceStrength,
    ImpactFactors,
    ImpactLevel,
    assess,
    assess_proposal,
    evidence_strength,
)
from shared.domain.intervention_outcomes import OutcomeVerdict, judge_outcome
from shared.domain.interventions import (
    CATALOGUE,
    REVERSIBILITY_RANK,
    Evidence,
    InterventionType,
    Proposal,
    ProposalError,
    Reversibility,
    Target,
    Verdict,
    plan_actions,
    proposal_from_dict,
    proposal_to_dict,
)

ROBUST = Evidence("a1", "meeting_load", "wellbeing", -0.4, -0.5, -0.3, Verdict.ROBUST)

factors = st.builds(
    ImpactFactors,
    people_affected=st.integers(min_value=1, max_value=500),
    reversibility=st.sampled_from(list(Reversibility)),
    change_size=st.floats(min_value=0, max_value=1),
    evidence=st.sampled_from(list(EvidenceStrength)),
)


def _proposal(type_: InterventionType, people: int = 3, evidence: Evidence = ROBUST, **params: float) -> Proposal:
    return Proposal(
        intervention_id="i1",
        type=type_,
        target=Target(people=tuple(f"p{i}" for i in range(people)), teams=("t1", "t2")),
        parameters=params,
        evidence=evidence,
        proposed_by="tester",
    )


def test_examples_of_each_level() -> None:
    assert assess_proposal(_proposal(InterventionType.FOCUS_TIME_BLOCK, 3, hours_per_week=4)).level is ImpactLevel.LOW
    assert (
        assess_proposal(_proposal(InterventionType.MEETING_LOAD_CAP, 10, max_meeting_hours=20)).level
        is ImpactLevel.MEDIUM
    )
    assert assess_proposal(_proposal(InterventionType.MANAGER_NUDGE, 1)).level is ImpactLevel.HIGH
    assert (
        assess_proposal(_proposal(InterventionType.FOCUS_TIME_BLOCK, 101, hours_per_week=1)).level is ImpactLevel.HIGH
    )


def test_non_robust_evidence_is_always_high_and_cannot_propose_automatically() -> None:
    fragile = Evidence("a2", "meeting_load", "wellbeing", -0.4, -0.5, -0.3, Verdict.FRAGILE)
    crosses_zero = Evidence("a3", "meeting_load", "wellbeing", -0.1, -0.3, 0.1, Verdict.ROBUST)
    for ev in (fragile, crosses_zero):
        assert not ev.is_robust
        assert evidence_strength(ev) is EvidenceStrength.WEAK
        assert (
            assess_proposal(_proposal(InterventionType.FOCUS_TIME_BLOCK, 1, ev, hours_per_week=1)).level
            is ImpactLevel.HIGH
        )
        auto = Proposal("i", InterventionType.FOCUS_TIME_BLOCK, Target(("p",)), {}, ev, "system", automatic=True)
        with pytest.raises(ProposalError, match="robust"):
            plan_actions(auto)


def test_parameters_are_validated() -> None:
    with pytest.raises(ProposalError, match="within"):
        plan_actions(_proposal(InterventionType.FOCUS_TIME_BLOCK, hours_per_week=99))
    with pytest.raises(ProposalError, match="unknown"):
        plan_actions(_proposal(InterventionType.FOCUS_TIME_BLOCK, nonsense=1))


def test_plan_and_roundtrip() -> None:
    p = _proposal(InterventionType.CROSS_TEAM_INTRODUCTION)
    kinds = [a.kind for a in plan_actions(p)]
    assert kinds == ["channel_create", "channel_post"]
    assert proposal_from_dict(proposal_to_dict(p)) == p


def test_outcome_direction() -> None:
    wellbeing = CATALOGUE[InterventionType.MEETING_LOAD_CAP]
    assert judge_outcome(wellbeing, {"a": 10}, {"a": 8})[0] is OutcomeVerdict.NEGATIVE
    assert judge_outcome(wellbeing, {"a": 10}, {"a": 12})[0] is OutcomeVerdict.POSITIVE
    assert judge_outcome(wellbeing, {"a": 10}, {"a": 10.1})[0] is OutcomeVerdict.NEUTRAL
    latency = CATALOGUE[InterventionType.REVIEW_LOAD_REBALANCE]  # lower is better
    assert judge_outcome(latency, {"a": 10}, {"a": 12})[0] is OutcomeVerdict.NEGATIVE


@given(factors, st.integers(min_value=0, max_value=300))
def test_more_people_never_lowers_impact(f: ImpactFactors, extra: int) -> None:
    more = ImpactFactors(f.people_affected + extra, f.reversibility, f.change_size, f.evidence)
    assert LEVEL_RANK[assess(more).level] >= LEVEL_RANK[assess(f).level]


@given(factors, st.sampled_from(list(Reversibility)))
def test_less_reversible_never_lowers_impact(f: ImpactFactors, other: Reversibility) -> None:
    if REVERSIBILITY_RANK[other] < REVERSIBILITY_RANK[f.reversibility]:
        return
    worse = ImpactFactors(f.people_affected, other, f.change_size, f.evidence)
    assert LEVEL_RANK[assess(worse).level] >= LEVEL_RANK[assess(f).level]


@given(factors, st.floats(min_value=0, max_value=1))
def test_bigger_change_never_lowers_impact(f: ImpactFactors, bump: float) -> None:
    bigger = ImpactFactors(f.people_affected, f.reversibility, min(1.0, f.change_size + bump), f.evidence)
    assert LEVEL_RANK[assess(bigger).level] >= LEVEL_RANK[assess(f).level]


@given(factors, st.sampled_from(list(EvidenceStrength)))
def test_weaker_evidence_never_lowers_impact(f: ImpactFactors, other: EvidenceStrength) -> None:
    if STRENGTH_RANK[other] < STRENGTH_RANK[f.evidence]:
        return
    weaker = ImpactFactors(f.people_affected, f.reversibility, f.change_size, other)
    assert LEVEL_RANK[assess(weaker).level] >= LEVEL_RANK[assess(f).level]


@given(factors)
def test_hard_rules_force_high(f: ImpactFactors) -> None:
    level = assess(f).level
    if f.reversibility is Reversibility.IRREVERSIBLE or f.people_affected > 100 or f.evidence is EvidenceStrength.WEAK:
        assert level is ImpactLevel.HIGH
