"""Interventions API: propose, list/get (live state), approval queue, approve/reject, rollback,
approval history and the audit log. Decisions and rollbacks go to the workflow as Temporal
updates; the workflow validates the role again and records who and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from shared.domain.intervention_status import InterventionStatus
from shared.domain.interventions import InterventionType, Proposal, ProposalError, Target, Verdict
from shared.platform.auth import Permission, Principal, require
from shared.platform.errors import ApiError
from shared.platform.http import resources_of
from shared.platform.validation import clean_str
from shared.services import audit
from shared.services import intervention_records as records
from shared.services import interventions as service

router = APIRouter(prefix="/v1", tags=["interventions"])

InterventionId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
PersonId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-:.]+$")]


class TargetIn(BaseModel):
    people: list[PersonId] = Field(default_factory=list, max_length=10_000)
    teams: list[PersonId] = Field(default_factory=list, max_length=100)


class EvidenceIn(BaseModel):
    """Names the stored analysis behind the proposal. The server loads its result; an effect,
    interval or verdict sent here is accepted for compatibility and ignored."""

    analysis_id: clean_str(128, min_length=1)  # type: ignore[valid-type]
    treatment: clean_str(64, min_length=1) | None = None  # type: ignore[valid-type]
    outcome: clean_str(64, min_length=1) | None = None  # type: ignore[valid-type]
    effect: float | None = Field(default=None, description="ignored: the stored result's effect is used")
    ci_low: float | None = Field(default=None, description="ignored")
    ci_high: float | None = Field(default=None, description="ignored")
    verdict: Verdict | None = Field(default=None, description="ignored: the stored verdict is used")


class ProposeIn(BaseModel):
    type: InterventionType
    target: TargetIn
    parameters: dict[str, float] = Field(default_factory=dict)
    evidence: EvidenceIn


class ImpactOut(BaseModel):
    level: str
    points: int
    reasons: list[str]


class ProposedOut(BaseModel):
    intervention_id: str
    workflow_id: str
    impact: ImpactOut
    requires_approval: bool


class ReasonIn(BaseModel):
    reason: clean_str(2000, min_length=3, multiline=True)  # type: ignore[valid-type]


class InterventionOut(BaseModel):
    intervention_id: str
    type: str
    impact: str
    status: str
    proposed_by: str
    proposed_at: datetime
    approval_deadline: datetime | None
    time_left_s: float | None = None
    decided_by: str | None
    decision_reason: str | None
    updated_at: datetime
    summary: dict[str, Any]
    live: dict[str, Any] | None = None


class AuditOut(BaseModel):
    id: int
    intervention_id: str
    event: str
    actor: str
    occurred_at: datetime
    details: dict[str, Any]
    prev_hash: str
    row_hash: str


def _out(row: dict[str, Any], now: datetime) -> InterventionOut:
    deadline = row.get("approval_deadline")
    left = None
    if row["status"] == InterventionStatus.AWAITING_APPROVAL and deadline is not None:
        left = max(0.0, (deadline - now).total_seconds())
    return InterventionOut(**{k: row[k] for k in InterventionOut.model_fields if k in row}, time_left_s=left)


@router.post("/interventions", response_model=ProposedOut, status_code=202)
async def propose(
    body: ProposeIn,
    request: Request,
    principal: Principal = Depends(require(Permission.PROPOSE_INTERVENTIONS)),
) -> ProposedOut:
    """Start an intervention on the evidence of a stored, finished analysis (422 otherwise).

    Non-robust evidence is accepted from a person but always needs approval.
    """
    resources = resources_of(request)
    try:
        evidence = await service.stored_evidence(
            resources.pg, body.evidence.analysis_id, body.evidence.treatment, body.evidence.outcome
        )
        proposal = Proposal(
            intervention_id=service.new_intervention_id(),
            type=body.type,
            target=Target(people=tuple(body.target.people), teams=tuple(body.target.teams)),
            parameters=body.parameters,
            evidence=evidence,
            proposed_by=principal.subject,
        )
        inp = service.build_input(proposal, resources.settings)
    except ProposalError as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc
    client = await resources.temporal()
    await service.launch(client, resources.settings, inp)
    return ProposedOut(
        intervention_id=proposal.intervention_id,
        workflow_id=service.workflow_id(proposal.intervention_id),
        impact=ImpactOut(**inp.impact),
        requires_approval=inp.impact["level"] == "high",
    )


@router.get("/interventions", response_model=list[InterventionOut])
async def list_interventions(
    request: Request,
    status: Annotated[clean_str(32) | None, Query()] = None,  # type: ignore[valid-type]
    limit: int = Query(default=100, ge=1, le=1000),
    _: Principal = Depends(require(Permission.READ_INTERVENTIONS)),
) -> list[InterventionOut]:
    now = datetime.now(UTC)
    return [_out(r, now) for r in await records.listed(resources_of(request), status, limit)]


@router.get("/interventions/{intervention_id}", response_model=InterventionOut)
async def get_intervention(
    intervention_id: InterventionId,
    request: Request,
    _: Principal = Depends(require(Permission.READ_INTERVENTIONS)),
) -> InterventionOut:
    """The projection plus the workflow's live state (query), when a worker answers."""
    row = await records.get(resources_of(request), intervention_id)
    if row is None:
        raise ApiError(404, "not_found", f"no intervention {intervention_id}")
    out = _out(row, datetime.now(UTC))
    out.live = await records.live_state(resources_of(request), intervention_id)
    return out


@router.get("/approvals/pending", response_model=list[InterventionOut])
async def pending_approvals(
    request: Request, _: Principal = Depends(require(Permission.READ_INTERVENTIONS))
) -> list[InterventionOut]:
    """The approval queue: oldest deadline first, with the time left before it expires."""
    now = datetime.now(UTC)
    rows = [_out(r, now) for r in await records.awaiting_approval(resources_of(request))]
    return sorted((r for r in rows if (r.time_left_s or 0) > 0), key=lambda r: r.time_left_s or 0)


@router.get("/approvals/history", response_model=list[AuditOut])
async def approval_history(
    request: Request,
    limit: int = Query(default=200, ge=1, le=5000),
    _: Principal = Depends(require(Permission.READ_AUDIT)),
) -> list[AuditOut]:
    """Every decision: approved, rejected (who and why) and expired. Audit rows: read:audit."""
    return [AuditOut(**r.to_json()) for r in await audit.decisions(resources_of(request), limit)]


@dataclass(frozen=True)
class Steering:
    """What approve, reject and rollback each take: the intervention, a decider's principal and the reason."""

    request: Request
    intervention_id: str
    principal: Principal
    reason: str

    async def send(self, *, approve: bool | None) -> Any:
        """A decision (``approve`` set) or a rollback, signed by the service over the verified principal."""
        resources = resources_of(self.request)
        if await records.get(resources, self.intervention_id) is None:
            raise ApiError(404, "not_found", f"no intervention {self.intervention_id}")
        roles = [r.value for r in self.principal.roles]
        who, settings = self.principal.subject, resources.settings
        try:
            client = await resources.temporal()
            if approve is None:
                return await service.rollback(client, settings, self.intervention_id, who, roles, self.reason)
            return await service.decide(client, settings, self.intervention_id, who, roles, approve, self.reason)
        except service.DecisionRefused as exc:
            raise ApiError(409, "conflict", str(exc)) from exc
        except service.WorkflowUnavailable as exc:
            raise ApiError(503, "unavailable", str(exc)) from exc


def steering(
    intervention_id: InterventionId,
    body: ReasonIn,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.APPROVE_INTERVENTIONS))],
) -> Steering:
    return Steering(request, intervention_id, principal, body.reason)


@router.post("/interventions/{intervention_id}/approve")
async def approve(call: Annotated[Steering, Depends(steering)]) -> dict[str, Any]:
    return await call.send(approve=True)


@router.post("/interventions/{intervention_id}/reject")
async def reject(call: Annotated[Steering, Depends(steering)]) -> dict[str, Any]:
    return await call.send(approve=False)


@router.post("/interventions/{intervention_id}/rollback")
async def rollback(call: Annotated[Steering, Depends(steering)]) -> dict[str, Any]:
    """Manual rollback, any time after execution (while the workflow keeps its rollback window)."""
    return await call.send(approve=None)


@router.get("/audit", response_model=list[AuditOut])
async def audit_log(
    request: Request,
    intervention_id: Annotated[clean_str(64) | None, Query()] = None,  # type: ignore[valid-type]
    actor: Annotated[clean_str(128) | None, Query()] = None,  # type: ignore[valid-type]
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(default=500, ge=1, le=5000),
    _: Principal = Depends(require(Permission.READ_AUDIT)),
) -> list[AuditOut]:
    rows = await audit.audit_log(
        resources_of(request), intervention_id=intervention_id, actor=actor, since=since, until=until, limit=limit
    )
    return [AuditOut(**r.to_json()) for r in rows]


class VerifyOut(BaseModel):
    ok: bool
    rows: int
    head: str
    head_id: int = 0
    personal_erased: int = 0
    first_bad_id: int | None
    problem: (
        Literal[
            "prev_hash does not match the previous row",
            "row content does not match its hash",
            "personal data does not match its digest",
            "an anchored head is not in the chain",
            "the expected head is not in the chain",
        ]
        | None
    )


@router.get("/audit/verify", response_model=VerifyOut)
async def audit_verify(
    request: Request,
    expect_head: Annotated[clean_str(64, min_length=64) | None, Query()] = None,  # type: ignore[valid-type]
    _: Principal = Depends(require(Permission.READ_AUDIT)),
) -> VerifyOut:
    return VerifyOut(**(await audit.verify(resources_of(request), expect_head)).to_json())
