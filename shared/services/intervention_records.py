"""Reading interventions: their projections, live workflow state, approvals and the audit chain.

The interventions API and the web app read through here, so the audit store is built (with
the chain key) in one place and the live state is asked of the workflow in one way.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.adapters.postgres.audit import AuditRecord, AuditStore
from shared.adapters.postgres.audit_chain import VerifyReport
from shared.domain.intervention_status import InterventionStatus
from shared.platform.resources import Resources
from workflows.intervention import client as workflow_client

DECISION_EVENTS = ("approved", "rejected", "expired")
LIVE_STATE_TIMEOUT = timedelta(seconds=5)


def audit_store(resources: Resources) -> AuditStore:
    return AuditStore(resources.pg, resources.settings.audit.key)


async def get(resources: Resources, intervention_id: str) -> dict[str, Any] | None:
    """The projection row of one intervention (None if unknown)."""
    return await audit_store(resources).get(intervention_id)


async def listed(resources: Resources, status: str | None, limit: int) -> list[dict[str, Any]]:
    return await audit_store(resources).list(status, limit)


async def awaiting_approval(resources: Resources, limit: int = 1000) -> list[dict[str, Any]]:
    return await listed(resources, InterventionStatus.AWAITING_APPROVAL, limit)


async def live_state(resources: Resources, intervention_id: str) -> dict[str, Any] | None:
    """The workflow's own snapshot when a worker answers in time; None otherwise (the projection
    is still a valid answer)."""
    try:
        client = await resources.temporal()
        return await workflow_client.snapshot(client, intervention_id, rpc_timeout=LIVE_STATE_TIMEOUT)
    except Exception:  # noqa: BLE001 - any failure means "no live state", never an error
        return None


async def decisions(resources: Resources, limit: int) -> list[AuditRecord]:
    """Every decision: approved, rejected (who and why) and expired."""
    return await audit_store(resources).query(events=list(DECISION_EVENTS), limit=limit)


async def audit_log(
    resources: Resources,
    *,
    intervention_id: str | None,
    actor: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[AuditRecord]:
    return await audit_store(resources).query(
        intervention_id=intervention_id, actor=actor, since=since, until=until, limit=limit
    )


async def verify(resources: Resources, expect_head: str | None) -> VerifyReport:
    return await audit_store(resources).verify(expect_head)
