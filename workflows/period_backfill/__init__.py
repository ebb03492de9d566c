"""Period history back-fill on Temporal (issue 13): on demand from the API and daily.

Imported inside Temporal's workflow sandbox: nothing but the workflow definitions at module
level (see workflows/metrics_refresh/__init__.py for why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.period_backfill.workflow import BackfillRequest, PeriodBackfillWorkflow

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from temporalio.client import Client

    from shared.platform.resources import Resources
    from shared.platform.settings import Settings

WORKFLOWS: list[type] = [PeriodBackfillWorkflow]


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    from workflows.period_backfill.activities import build_activities as build

    return build(resources)


def backfill_workflow_id(settings: Settings, kind: str) -> str:
    return f"period-backfill:{kind}:{settings.temporal_task_queue}"


async def start_backfill(client: Client, settings: Settings, *, kind: str, rewrite: bool) -> str:
    """Start a back-fill; while one for ``kind`` runs, attach to it (USE_EXISTING)."""
    from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

    handle = await client.start_workflow(
        PeriodBackfillWorkflow.run,
        BackfillRequest(kind=kind, rewrite=rewrite),
        id=backfill_workflow_id(settings, kind),
        task_queue=settings.temporal_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    return handle.id


__all__ = [
    "WORKFLOWS",
    "BackfillRequest",
    "PeriodBackfillWorkflow",
    "backfill_workflow_id",
    "build_activities",
    "start_backfill",
]
