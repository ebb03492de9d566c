"""Payloads of the intervention workflows (plain dataclasses: Temporal's default converter)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DECIDER_ROLES = frozenset({"approver", "admin"})


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
    approve: bool
    actor: str
    roles: list[str]
    reason: str
    # set by the API (shared.services.interventions.signed): the validator checks them
    intervention_id: str = ""
    nonce: str = ""
    issued_at: str = ""
    signature: str = ""


@dataclass
class RollbackRequest:
    actor: str
    roles: list[str]
    reason: str
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
class CaptureInput:
    actions: list[dict[str, Any]]
    metric: str
    people: list[str]
    teams: list[str]


@dataclass
class MeasureInput:
    """The outcome read after the monitoring window, judged against the sealed baseline."""

    type: str  # the intervention type (its catalogue entry names the metric and direction)
    people: list[str]
    teams: list[str]
    sealed_baseline: str


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
