"""Impact assessment: THE place where an intervention's impact level is decided.

Four factors each score points; the total maps to a level, and two hard rules override it:

| factor            | 0 points        | 1 point         | 2 points          | 3 points        |
| ----------------- | --------------- | --------------- | ----------------- | --------------- |
| people affected   | 1-5             | 6-25            | 26-100            | > 100           |
| reversibility     | full            | partial         | -                 | irreversible    |
| size of change    | < 0.25          | 0.25-0.5        | 0.5-0.75          | >= 0.75         |
| evidence strength | strong          | moderate        | -                 | weak            |

total 0-2 -> low, 3-4 -> medium, >= 5 -> high.
Hard rules (each forces high): irreversible action; more than 100 people; weak evidence
(not robust: a refuter moved the estimate or the interval crosses zero).

Every factor's points are monotone in "riskier", and so is the mapping, so more people, less
reversibility, a bigger change or weaker evidence never lowers the level (property-tested).
Only ``HIGH`` requires a human approval. Documented in docs/interventions.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.domain.interventions import CATALOGUE, Evidence, Proposal, Reversibility, change_size


class ImpactLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


LEVEL_RANK: dict[ImpactLevel, int] = {ImpactLevel.LOW: 0, ImpactLevel.MEDIUM: 1, ImpactLevel.HIGH: 2}


class EvidenceStrength(StrEnum):
    STRONG = "strong"  # robust, and the interval's half-width is at most half the effect
    MODERATE = "moderate"  # robust
    WEAK = "weak"  # not robust


STRENGTH_RANK: dict[EvidenceStrength, int] = {
    EvidenceStrength.STRONG: 0,
    EvidenceStrength.MODERATE: 1,
    EvidenceStrength.WEAK: 2,
}

LOW_MAX_POINTS = 2
MEDIUM_MAX_POINTS = 4
HARD_LIMIT_PEOPLE = 100


@dataclass(frozen=True)
class ImpactFactors:
    people_affected: int
    reversibility: Reversibility
    change_size: float  # 0..1
    evidence: EvidenceStrength


@dataclass(frozen=True)
class ImpactAssessment:
    level: ImpactLevel
    points: int
    reasons: tuple[str, ...]
    factors: ImpactFactors

    @property
    def requires_approval(self) -> bool:
        return requires_approval(self.level)


def requires_approval(level: ImpactLevel) -> bool:
    """Low and medium run automatically; high waits for a person with the approver role."""
    return level is ImpactLevel.HIGH


def evidence_strength(evidence: Evidence) -> EvidenceStrength:
    if not evidence.is_robust:
        return EvidenceStrength.WEAK
    half_width = (evidence.ci_high - evidence.ci_low) / 2
    if half_width <= abs(evidence.effect) / 2:
        return EvidenceStrength.STRONG
    return EvidenceStrength.MODERATE


def _people_points(n: int) -> int:
    if n <= 5:
        return 0
    if n <= 25:
        return 1
    if n <= HARD_LIMIT_PEOPLE:
        return 2
    return 3


def _size_points(size: float) -> int:
    if size < 0.25:
        return 0
    if size < 0.5:
        return 1
    if size < 0.75:
        return 2
    return 3


_REVERSIBILITY_POINTS = {Reversibility.FULL: 0, Reversibility.PARTIAL: 1, Reversibility.IRREVERSIBLE: 3}
_EVIDENCE_POINTS = {EvidenceStrength.STRONG: 0, EvidenceStrength.MODERATE: 1, EvidenceStrength.WEAK: 3}


def assess(factors: ImpactFactors) -> ImpactAssessment:
    """The rule. Everything else calls this."""
    points = (
        _people_points(factors.people_affected)
        + _REVERSIBILITY_POINTS[factors.reversibility]
        + _size_points(factors.change_size)
        + _EVIDENCE_POINTS[factors.evidence]
    )
    reasons = [
        f"{factors.people_affected} people affected",
        f"reversibility {factors.reversibility.value}",
        f"change size {factors.change_size:.2f}",
        f"evidence {factors.evidence.value}",
        f"{points} points",
    ]
    if points <= LOW_MAX_POINTS:
        level = ImpactLevel.LOW
    elif points <= MEDIUM_MAX_POINTS:
        level = ImpactLevel.MEDIUM
    else:
        level = ImpactLevel.HIGH
    if factors.reversibility is Reversibility.IRREVERSIBLE:
        level, reasons = ImpactLevel.HIGH, [*reasons, "irreversible: always high"]
    if factors.people_affected > HARD_LIMIT_PEOPLE:
        level, reasons = ImpactLevel.HIGH, [*reasons, f"more than {HARD_LIMIT_PEOPLE} people: always high"]
    if factors.evidence is EvidenceStrength.WEAK:
        level, reasons = ImpactLevel.HIGH, [*reasons, "evidence not robust: always high"]
    return ImpactAssessment(level=level, points=points, reasons=tuple(reasons), factors=factors)


def factors_of(p: Proposal) -> ImpactFactors:
    entry = CATALOGUE[p.type]
    people = p.target.people_affected
    if entry.target_kind == "teams":
        # an introduction touches at most intro_size people from each team
        people = max(people, int(p.parameters.get("intro_size", entry.parameters[0].default)) * 2)
    return ImpactFactors(
        people_affected=people,
        reversibility=entry.reversibility,
        change_size=change_size(p.type, p.parameters),
        evidence=evidence_strength(p.evidence),
    )


def assess_proposal(p: Proposal) -> ImpactAssessment:
    return assess(factors_of(p))
