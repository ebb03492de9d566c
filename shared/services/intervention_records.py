"""Reading interventions: their projections, live workflow state and approvals.

The interventions API and the web app read through here, so the live state is asked of the
workflow in one way; the audit log itself (decisions, entries, the chain) is read through
``shared.services.audit``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.domain.intervention_status import InterventionStatus
from shared.platform.resources import Resources
from shared.services.audit import audit_store
from workflows.intervention import client as workflow_client

LIVE_STATE_TIMEOUT = timedelta(seconds=5)


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
