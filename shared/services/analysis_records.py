"""Reading and steering recorded analyses: the analysis API's and the web app's read side."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.adapters.postgres.causal_store import AnalysisRow, CausalStore
from shared.platform.resources import Resources
from workflows.analysis import client as analysis_client

__all__ = ["AnalysisRow", "cancel", "get", "listed", "live_progress"]

LIVE_PROGRESS_TIMEOUT = timedelta(seconds=5)


async def listed(resources: Resources, *, limit: int, status: str | None = None) -> list[AnalysisRow]:
    """Recent analyses, newest first."""
    return await CausalStore(resources.pg).list(limit=limit, status=status)


async def get(resources: Resources, analysis_id: str) -> AnalysisRow | None:
    return await CausalStore(resources.pg).get(analysis_id)


async def live_progress(resources: Resources, row: AnalysisRow) -> dict[str, Any] | None:
    """The workflow's own view of a running analysis (signalled by its activity) when Temporal
    answers; None otherwise (the stored progress is still a valid answer)."""
    if row.status not in ("queued", "running") or not row.workflow_id:
        return None
    try:
        client = await resources.temporal()
        return await analysis_client.progress(client, row.workflow_id, rpc_timeout=LIVE_PROGRESS_TIMEOUT)
    except Exception:  # noqa: BLE001 - any failure means "no live view", never an error
        return None


async def cancel(resources: Resources, row: AnalysisRow) -> None:
    """Ask the analysis's workflow to cancel (the workflow records 'cancelled' in the row)."""
    client = await resources.temporal()
    await analysis_client.cancel(client, row.workflow_id or "")
