"""Use cases: turn a proposal into a running InterventionWorkflow, decide on it, roll it back.

The HTTP API, the full cycle and the demo all go through here, so the impact rule, the action
plan and the workflow's id (one workflow per intervention id) are decided in one place.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.adapters.postgres.causal_store import CausalStore
from shared.domain.decisions import decision_message, sign
from shared.domain.impact import assess_proposal
from shared.domain.interventions import (
    Evidence,
    Proposal,
    ProposalError,
    Target,
    plan_actions,
    proposal_fingerprint,
    proposal_to_dict,
    suggest_type,
)
from shared.platform.settings import Settings
from workflows.intervention import client as workflow_client
from workflows.intervention.contract import Decision, InterventionInput, workflow_id

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHandle

    from shared.adapters.postgres.pool import PgPool

__all__ = ["workflow_id"]  # re-exported: callers name an intervention's workflow through this service


def task_queue(settings: Settings) -> str:
    return settings.interventions.intervention_task_queue or settings.temporal.task_queue


def new_intervention_id() -> str:
    return uuid.uuid4().hex[:16]


async def stored_evidence(
    pg: PgPool, analysis_id: str, treatment: str | None = None, outcome: str | None = None
) -> Evidence:
    """The evidence behind a proposal is the stored analysis, never what a client typed.

    The analysis must exist, have succeeded, and (when the caller names them) be about the same
    treatment and outcome; anything else is a ProposalError (422). A client-sent effect,
    interval or verdict is never read: the impact level follows the stored verdict.
    """
    row = await CausalStore(pg).get(analysis_id)
    if row is None:
        raise ProposalError(f"no analysis {analysis_id}: evidence must name a stored analysis")
    if row.status != "succeeded" or row.result is None:
        raise ProposalError(f"analysis {analysis_id} is {row.status}, not finished: no evidence yet")
    evidence = Evidence.from_result(row.id, row.result)
    for name, claimed, stored in (("treatment", treatment, evidence.treatment), ("outcome", outcome, evidence.outcome)):
        if claimed is not None and claimed != stored:
            raise ProposalError(f"analysis {analysis_id} is about {name} {stored!r}, not {claimed!r}")
    return evidence


def signed(
    update: str, intervention_id: str, settings: Settings, *, approve: bool | None = None, **who: Any
) -> Decision:
    """A decision (``update="decide"``, ``approve`` True/False) or rollback request (``approve``
    None) for the workflow, signed by this API.

    ``who`` is ``actor``, ``roles`` and ``reason``: the caller's *verified* subject and roles.
    Unsigned (no key configured) only where the workflow input carries no public key either.
    """
    fields = {
        "intervention_id": intervention_id,
        "nonce": uuid.uuid4().hex,
        "issued_at": datetime.now(UTC).isoformat(),
        "actor": who["actor"],
        "roles": sorted(who["roles"]),
        "reason": who["reason"],
    }
    approval = bool(approve) if update == "decide" else None
    signature = ""
    if settings.interventions.decision_signing_pem is not None:
        message = decision_message(update=update, approve=approval, **fields)
        signature = sign(settings.interventions.decision_signing_pem, message)
    return Decision(approve=approval, signature=signature, **fields)


def build_input(proposal: Proposal, settings: Settings, **overrides: Any) -> InterventionInput:
    """Validate, assess and plan; the workflow input. Raises ProposalError on a bad proposal."""
    actions = plan_actions(proposal)
    assessment = assess_proposal(proposal)
    values: dict[str, Any] = {
        "proposal": proposal_to_dict(proposal),
        "impact": {
            "level": assessment.level.value,
            "points": assessment.points,
            "reasons": list(assessment.reasons),
        },
        "actions": [a.to_dict() for a in actions],
        "approval_timeout_s": settings.interventions.approval_timeout_s,
        "monitoring_window_s": settings.interventions.monitoring_window_s,
        "rollback_window_s": settings.interventions.rollback_window_s,
        "max_attempts": settings.interventions.intervention_max_attempts,
        "decision_public_key": settings.interventions.decision_public_pem,
    }
    if settings.environment == "production" and settings.interventions.decision_public_pem is None:
        raise RuntimeError("production interventions need signed decisions: set CO_DECISION_PUBLIC_KEY(_FILE)")
    values.update(overrides)
    return InterventionInput(**values)


async def start(client: Client, settings: Settings, proposal: Proposal, **overrides: Any) -> WorkflowHandle[Any, Any]:
    """Start the workflow; the same intervention id twice is refused by Temporal (no double act)."""
    return await launch(client, settings, build_input(proposal, settings, **overrides))


async def launch(client: Client, settings: Settings, inp: InterventionInput) -> WorkflowHandle[Any, Any]:
    """Start the workflow of an input built (and checked) by ``build_input``."""
    return await workflow_client.start(client, task_queue(settings), inp)


@dataclass(frozen=True)
class Finding:
    """A robust causal result and whom it concerns (the full cycle's and demo's input)."""

    evidence: Evidence
    people: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()


def automatic_proposal(finding: Finding, parameters: dict[str, float] | None = None) -> Proposal | None:
    """The system's proposal for a finding: only robust evidence, only a catalogued treatment.

    The id is the proposal's fingerprint, so re-evaluating the same finding proposes nothing new.
    """
    type_ = suggest_type(finding.evidence)
    if type_ is None or not finding.evidence.is_robust:
        return None
    draft = Proposal(
        intervention_id="pending",
        type=type_,
        target=Target(people=finding.people, teams=finding.teams),
        parameters=dict(parameters or {}),
        evidence=finding.evidence,
        proposed_by="system",
        automatic=True,
    )
    return Proposal(
        intervention_id=f"auto-{proposal_fingerprint(draft)}",
        type=draft.type,
        target=draft.target,
        parameters=draft.parameters,
        evidence=draft.evidence,
        proposed_by="system",
        automatic=True,
    )


class DecisionRefused(Exception):
    """The workflow refused the update (already decided, expired, finished)."""


class WorkflowUnavailable(RuntimeError):
    """The workflow service did not answer."""


async def _update(send: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """One update to an intervention's workflow, its refusals translated for the callers."""
    # loaded with the client already; importing them at the top would cost every cold start
    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.service import RPCError, RPCStatusCode

    try:
        result: dict[str, Any] = await send
    except WorkflowUpdateFailedError as exc:
        raise DecisionRefused(str(exc.cause or exc)) from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise DecisionRefused("the intervention's workflow has finished") from exc
        raise WorkflowUnavailable("workflow service unavailable") from exc
    return result


async def decide(
    client: Client,
    settings: Settings,
    intervention_id: str,
    actor: str,
    roles: list[str],
    approve: bool,
    reason: str,
) -> dict[str, Any]:
    """Send an approver's decision to the intervention's workflow (a Temporal update, signed with
    this service's decision key; the workflow verifies it, checks the role again and records who
    and why). The API's and the web app's approve/reject go through here."""
    decision = signed("decide", intervention_id, settings, approve=approve, actor=actor, roles=roles, reason=reason)
    return await _update(workflow_client.decide(client, intervention_id, decision))


async def rollback(
    client: Client, settings: Settings, intervention_id: str, actor: str, roles: list[str], reason: str
) -> dict[str, Any]:
    """Ask for a manual rollback (signed like a decision; the workflow validates it)."""
    request = signed("rollback", intervention_id, settings, actor=actor, roles=roles, reason=reason)
    return await _update(workflow_client.rollback(client, intervention_id, request))
