"""GraphRebuildWorkflow: one rebuild at a time (fixed workflow id), retried with backoff."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

WORKFLOW_ID = "graph-rebuild"


@workflow.defn(name="GraphRebuildWorkflow")
class GraphRebuildWorkflow:
    @workflow.run
    async def run(self) -> dict[str, Any]:
        result: dict[str, Any] = await workflow.execute_activity(
            "graph_rebuild",
            start_to_close_timeout=timedelta(hours=2),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=5), backoff_coefficient=2.0, maximum_attempts=5
            ),
        )
        return result
