"""Interventions: the catalogue of actions, their targets, parameters and the evidence behind them.

Pure: no driver, no framework. A proposal turns into an ordered list of connector actions; the
workflow applies them in order and compensates in reverse order. Whether an outcome is negative
is decided next door (shared/domain/intervention_outcomes.py), by the catalogue entry's outcome
metric and direction. See docs/interventions.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class InterventionType(StrEnum):
    FOCUS_TIME_BLOCK = "focus_time_block"
    MEETING_LOAD_CAP = "meeting_load_cap"
    REVIEW_LOAD_REBALANCE = "review_load_rebalance"
    CROSS_TEAM_INTRODUCTION = "cross_team_introduction"
    MANAGER_NUDGE = "manager_nudge"


class Reversibility(StrEnum):
    """How completely a revert restores the world (ordered from best to worst)."""

    FULL = "full"  # revert restores the exact pre-state (a calendar block removed)
    PARTIAL = "partial"  # state is restored but people saw it (an introduction channel)
    IRREVERSIBLE = "irreversible"  # a message read cannot be unread


REVERSIBILITY_RANK: dict[Reversibility, int] = {
    Reversibility.FULL: 0,
    Reversibility.PARTIAL: 1,
    Reversibility.IRREVERSIBLE: 2,
}


class Verdict(StrEnum):
    """The verdict ladder of the analysis an intervention is based on (shared/domain/causal_verdict.py)."""

    ROBUST = "robust"  # the only rung that may propose automatically
    SENSITIVE_TO_HIDDEN_CONFOUNDING = "sensitive_to_hidden_confounding"
    INSUFFICIENT_OVERLAP = "insufficient_overlap"
    NOT_SIGNIFICANT = "not_significant"
    FRAGILE = "fragile"  # a refuter failed its test
    REFUTED = "refuted"


class ProposalError(ValueError):
    """A proposal that cannot be executed as written."""


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    minimum: float
    maximum: float
    default: float
    # the value at which the change counts as "full size" (change size 1.0)
    full_scale: float


@dataclass(frozen=True)
class CatalogueEntry:
    type: InterventionType
    description: str
    reversibility: Reversibility
    outcome_metric: str  # the signal monitored after execution
    higher_is_better: bool
    parameters: tuple[ParameterSpec, ...]
    target_kind: str  # "people" or "teams"


CATALOGUE: dict[InterventionType, CatalogueEntry] = {
    e.type: e
    for e in (
        CatalogueEntry(
            InterventionType.FOCUS_TIME_BLOCK,
            "Block recurring focus time in each target person's calendar.",
            Reversibility.FULL,
            "focus_hours",
            True,
            (ParameterSpec("hours_per_week", 1, 20, 4, 20),),
            "people",
        ),
        CatalogueEntry(
            InterventionType.MEETING_LOAD_CAP,
            "Cap each target person's weekly meeting hours; series beyond the cap become optional.",
            Reversibility.FULL,
            "wellbeing",
            True,
            (ParameterSpec("max_meeting_hours", 5, 40, 20, 40),),
            "people",
        ),
        CatalogueEntry(
            InterventionType.REVIEW_LOAD_REBALANCE,
            "Move open review assignments from overloaded reviewers to the least-loaded target.",
            Reversibility.FULL,
            "review_latency_hours",
            False,
            (ParameterSpec("max_reviews_per_person", 1, 50, 8, 50),),
            "people",
        ),
        CatalogueEntry(
            InterventionType.CROSS_TEAM_INTRODUCTION,
            "Create a shared channel introducing two siloed teams.",
            Reversibility.PARTIAL,
            "cross_team_ties",
            True,
            (ParameterSpec("intro_size", 2, 50, 6, 50),),
            "teams",
        ),
        CatalogueEntry(
            InterventionType.MANAGER_NUDGE,
            "Send the managers of the target people a nudge about the finding.",
            Reversibility.IRREVERSIBLE,
            "wellbeing",
            True,
            (ParameterSpec("urgency", 1, 3, 1, 3),),
            "people",
        ),
    )
}


@dataclass(frozen=True)
class Target:
    """Who the intervention touches: pseudonymised people ids and/or team ids."""

    people: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()

    @property
    def people_affected(self) -> int:
        return len(set(self.people))


@dataclass(frozen=True)
class Evidence:
    """The causal result that justifies the intervention."""

    analysis_id: str
    treatment: str
    outcome: str
    effect: float
    ci_low: float
    ci_high: float
    verdict: Verdict

    @classmethod
    def from_result(cls, analysis_id: str, result: Mapping[str, Any]) -> Evidence:
        """Evidence exactly as an analysis result says (effect, interval, ladder verdict)."""
        effect, low, high = (float(result[k]) for k in ("effect", "ci_low", "ci_high"))
        treatment, outcome, verdict = str(result["treatment"]), str(result["outcome"]), Verdict(result["verdict"])
        return cls(analysis_id, treatment, outcome, effect, low, high, verdict)

    @property
    def interval_excludes_zero(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0

    @property
    def is_robust(self) -> bool:
        """Only robust evidence may propose automatically: survived refutation, interval clear of 0."""
        return self.verdict is Verdict.ROBUST and self.interval_excludes_zero and self.ci_low <= self.ci_high


@dataclass(frozen=True)
class Proposal:
    intervention_id: str
    type: InterventionType
    target: Target
    parameters: dict[str, float]
    evidence: Evidence
    proposed_by: str
    automatic: bool = False  # proposed by the system, not a person

    @property
    def entry(self) -> CatalogueEntry:
        return CATALOGUE[self.type]


@dataclass(frozen=True)
class Action:
    """One step sent to a connector. ``kind`` is understood by the workplace system."""

    kind: str
    subject: str  # a person id or channel id the step touches
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Action:
        return cls(kind=str(raw["kind"]), subject=str(raw["subject"]), params=dict(raw.get("params", {})))


def resolve_parameters(type_: InterventionType, given: dict[str, float]) -> dict[str, float]:
    """Defaults filled in, unknown names and out-of-range values rejected."""
    entry = CATALOGUE[type_]
    known = {p.name: p for p in entry.parameters}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ProposalError(f"unknown parameters for {type_.value}: {', '.join(unknown)}")
    out: dict[str, float] = {}
    for name, spec in known.items():
        value = float(given.get(name, spec.default))
        if not spec.minimum <= value <= spec.maximum:
            raise ProposalError(f"{name} must be within [{spec.minimum}, {spec.maximum}], got {value}")
        out[name] = value
    return out


def change_size(type_: InterventionType, parameters: dict[str, float]) -> float:
    """How big the change is, 0..1: the largest parameter relative to its full scale.

    A meeting-load cap is a bigger change the *lower* the cap, so its scale is inverted.
    """
    entry = CATALOGUE[type_]
    sizes = []
    for spec in entry.parameters:
        value = float(parameters.get(spec.name, spec.default))
        if type_ in (InterventionType.MEETING_LOAD_CAP, InterventionType.REVIEW_LOAD_REBALANCE):
            size = (spec.full_scale - value) / (spec.full_scale - spec.minimum)
        else:
            size = value / spec.full_scale
        sizes.append(min(1.0, max(0.0, size)))
    return max(sizes, default=0.0)


def validate_proposal(p: Proposal) -> None:
    entry = p.entry
    if entry.target_kind == "people" and not p.target.people:
        raise ProposalError(f"{p.type.value} needs at least one target person")
    if entry.target_kind == "teams" and len(set(p.target.teams)) < 2:
        raise ProposalError(f"{p.type.value} needs two distinct target teams")
    if p.automatic and not p.evidence.is_robust:
        raise ProposalError("only robust evidence may propose automatically")
    resolve_parameters(p.type, p.parameters)


def plan_actions(p: Proposal) -> list[Action]:
    """The connector steps, in execution order (compensation runs them backwards)."""
    validate_proposal(p)
    params = resolve_parameters(p.type, p.parameters)
    people = sorted(set(p.target.people))
    tag = p.intervention_id
    if p.type is InterventionType.FOCUS_TIME_BLOCK:
        return [
            Action("calendar_block", who, {"hours_per_week": params["hours_per_week"], "tag": tag}) for who in people
        ]
    if p.type is InterventionType.MEETING_LOAD_CAP:
        return [Action("meeting_cap", who, {"max_meeting_hours": params["max_meeting_hours"]}) for who in people]
    if p.type is InterventionType.REVIEW_LOAD_REBALANCE:
        return [
            Action(
                "review_rebalance",
                "reviews",
                {"people": people, "max_per_person": int(params["max_reviews_per_person"])},
            )
        ]
    if p.type is InterventionType.CROSS_TEAM_INTRODUCTION:
        teams = sorted(set(p.target.teams))
        channel = f"intro-{tag}"
        return [
            Action("channel_create", channel, {"teams": teams, "size": int(params["intro_size"])}),
            Action("channel_post", channel, {"text": "Welcome! Two teams that rarely meet, introduced."}),
        ]
    if p.type is InterventionType.MANAGER_NUDGE:
        return [
            Action("manager_nudge", who, {"urgency": int(params["urgency"]), "finding": p.evidence.analysis_id})
            for who in people
        ]
    raise ProposalError(f"unknown intervention type {p.type}")


def canonical_json(value: Any) -> str:
    """The one serialisation used for hashing and idempotency keys."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def proposal_fingerprint(p: Proposal) -> str:
    """A stable key for "the same proposal": the system never proposes the same thing twice."""
    body = {
        "type": p.type.value,
        "people": sorted(set(p.target.people)),
        "teams": sorted(set(p.target.teams)),
        "parameters": resolve_parameters(p.type, p.parameters),
        "analysis": p.evidence.analysis_id,
    }
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()[:24]


def proposal_to_dict(p: Proposal) -> dict[str, Any]:
    return {
        "intervention_id": p.intervention_id,
        "type": p.type.value,
        "target": {"people": list(p.target.people), "teams": list(p.target.teams)},
        "parameters": dict(p.parameters),
        "evidence": {**asdict(p.evidence), "verdict": p.evidence.verdict.value},
        "proposed_by": p.proposed_by,
        "automatic": p.automatic,
    }


def proposal_from_dict(raw: dict[str, Any]) -> Proposal:
    ev = raw["evidence"]
    return Proposal(
        intervention_id=str(raw["intervention_id"]),
        type=InterventionType(raw["type"]),
        target=Target(people=tuple(raw["target"].get("people", ())), teams=tuple(raw["target"].get("teams", ()))),
        parameters={k: float(v) for k, v in raw.get("parameters", {}).items()},
        evidence=Evidence.from_result(str(ev["analysis_id"]), ev),
        proposed_by=str(raw["proposed_by"]),
        automatic=bool(raw.get("automatic", False)),
    )


# Which intervention acts on which treatment, and in which direction it moves it. Keys are the
# metric columns the causal analyses use (shared/domain/analysis.py METRIC_COLUMNS).
# (type, -1) lowers the treatment, (type, +1) raises it.
TREATMENT_TO_INTERVENTION: dict[str, tuple[InterventionType, int]] = {
    "meeting_hours": (InterventionType.MEETING_LOAD_CAP, -1),
    "meeting_load": (InterventionType.MEETING_LOAD_CAP, -1),
    "after_hours_share": (InterventionType.FOCUS_TIME_BLOCK, -1),
    "review_load": (InterventionType.REVIEW_LOAD_REBALANCE, -1),
    "cross_team_ratio": (InterventionType.CROSS_TEAM_INTRODUCTION, +1),
    "betweenness": (InterventionType.MANAGER_NUDGE, -1),
}


def suggest_type(evidence: Evidence) -> InterventionType | None:
    """The catalogue entry whose push on the treatment improves the outcome, if any.

    Outcomes are taken as higher-is-better (wellbeing, engagement): a negative effect calls for
    lowering the treatment, a positive one for raising it. No match, no proposal.
    """
    entry = TREATMENT_TO_INTERVENTION.get(evidence.treatment)
    if entry is None or evidence.effect == 0:
        return None
    type_, direction = entry
    return type_ if (evidence.effect > 0) == (direction > 0) else None
