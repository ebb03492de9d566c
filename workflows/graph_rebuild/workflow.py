"""GraphRebuildWorkflow: one rebuild at a time (fixed workflow id), retried with backoff."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.graph_rebuild.activities import GraphRebuildActivities
    from workflows.graph_rebuild.contract import WORKFLOW_NAME, RebuildResult


@workflow.defn(name=WORKFLOW_NAME)
class GraphRebuildWorkflow:
    @workflow.run
    async def run(self) -> RebuildResult:
        return await workflow.execute_activity_method(
            GraphRebuildActivities.rebuild,
            start_to_close_timeout=timedelta(hours=2),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=5), backoff_coefficient=2.0, maximum_attempts=5
            ),
        )
