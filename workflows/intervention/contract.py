"""The intervention workflows' contract: names, task queue, payloads.

Imports nothing of the project but the pure domain, so the API, the services and the workflow
sandbox can all import it. Payloads are plain dataclasses (Temporal's default JSON converter):
a result typed here decodes the same JSON object the dict it replaced did, so histories written
before this module replay unchanged within one deploy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.domain.roles import Permission, roles_with

WORKFLOW_NAME = "InterventionWorkflow"
CYCLE_WORKFLOW_NAME = "InterventionCycleWorkflow"
# who may approve, reject or roll back: the roles the permission table grants approval to
DECIDER_ROLES = roles_with(Permission.APPROVE_INTERVENTIONS)

AUDIT = "intervention_audit"
CAPTURE = "intervention_capture"
APPLY = "intervention_apply"
REVERT = "intervention_revert"
MEASURE = "intervention_measure"
ALERT = "intervention_alert"
EVALUATE = "intervention_evaluate"


def workflow_id(intervention_id: str) -> str:
    """One workflow per intervention: the id makes a repeated proposal a no-op."""
    return f"intervention-{intervention_id}"


@dataclass
class InterventionInput:
    proposal: dict[str, Any]  # shared.domain.interventions.proposal_to_dict
    impact: dict[str, Any]  # {"level", "points", "reasons"}
    actions: list[dict[str, Any]]  # planned connector steps, in order
    approval_timeout_s: float = 24 * 3600.0
    monitoring_window_s: float = 7 * 24 * 3600.0
    rollback_window_s: float = 30 * 24 * 3600.0
    max_attempts: int = 6
    initial_retry_s: float = 1.0
    max_retry_interval_s: float = 60.0
    activity_timeout_s: float = 30.0
    # Ed25519 public key (PEM) the API signs decisions with; None = unsigned decisions accepted
    # (only for inputs built without a key: tests of the workflow alone)
    decision_public_key: str | None = None


@dataclass
class Decision:
    """A person's signed request to one intervention's workflow: an approval decision (the
    ``decide`` update: ``approve`` True or False) or a rollback (the ``rollback`` update:
    ``approve`` None). One concept, one payload: who (verified subject and roles), why, and the
    API's signature over both (shared.domain.decisions)."""

    approve: bool | None
    actor: str
    roles: list[str]
    reason: str
    # set by the API (shared.services.interventions.signed): the validator checks them
    intervention_id: str = ""
    nonce: str = ""
    issued_at: str = ""
    signature: str = ""


@dataclass
class AuditInput:
    event_key: str
    intervention_id: str
    event: str
    actor: str
    details: dict[str, Any]  # hashed into the chain for good: never a person's pseudonym
    projection: dict[str, Any] | None = None
    personal: dict[str, Any] | None = None  # stored outside the chain, erasable
    subjects: list[str] = field(default_factory=list)  # the pseudonyms ``personal`` refers to


@dataclass
class AuditResult:
    id: int
    row_hash: str


@dataclass
class CaptureInput:
    actions: list[dict[str, Any]]
    metric: str  # "" captures the pre-states only (the check after a rollback)
    people: list[str]
    teams: list[str]
    as_of: str = ""  # the day of acting (workflow time): the pre-period ends before it


@dataclass
class CaptureResult:
    pre_states: list[dict[str, Any]]
    baseline: dict[str, Any]  # group figures only (people, mean or withheld, comparison_people)
    sealed_baseline: str = ""  # targets, comparison group and their pre-period series, for the measuring activity only


@dataclass
class MeasureInput:
    """The outcome read after the monitoring window, judged by difference-in-differences against
    the comparison group sealed at capture."""

    type: str  # the intervention type (its catalogue entry names the metric and direction)
    sealed_baseline: str


@dataclass
class MeasuredOutcome:
    """The judged outcome (shared.domain.intervention_outcomes.outcome_record's keys): group
    figures only, stored in the workflow's snapshot and audited as a JSON object."""

    metric: str
    method: str
    verdict: str  # OutcomeVerdict value
    reason: str
    effect: float | None  # None: withheld (a group under the minimum size)
    ci_low: float | None
    ci_high: float | None
    pre_trend_p: float | None
    pre_trend_ok: bool
    compared_people: int
    comparison_people: int
    baseline: dict[str, Any]  # group_summary: people, mean (or None), withheld
    after: dict[str, Any]


@dataclass
class StepAnswer:
    """A connector's answer to one applied or reverted step: the connector's own JSON, passed
    through (logged, never interpreted)."""

    connector: dict[str, Any] = field(default_factory=dict)


@dataclass
class CycleResult:
    mode: str
    analyses: int  # analyses run by this cycle
    started: list[str] = field(default_factory=list)  # workflow ids of the interventions it started


@dataclass
class StepInput:
    action: dict[str, Any]
    key: str
    pre_state: dict[str, Any] = field(default_factory=dict)


@dataclass
class AlertInput:
    source: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class CycleRequest:
    mode: str = "full"  # "full" | "incremental"
    refresh_workflow: str = "MetricsRefreshWorkflow"
    analysis_workflow: str = "AnalysisWorkflow"
    analyses: list[dict[str, Any]] = field(default_factory=list)
    evaluate: bool = True
    lookback_hours: float = 6.0
    intervention_task_queue: str | None = None
    max_attempts: int = 3
    initial_retry_s: float = 30.0
