"""DataRetentionWorkflow: the daily retention job (issue 16), a shell around one activity."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.data_retention.activities import DataRetentionActivities
    from workflows.data_retention.contract import WORKFLOW_NAME, DataRetentionRequest, RetentionReport
    from workflows.single_activity import run_single_activity


@workflow.defn(name=WORKFLOW_NAME)
class DataRetentionWorkflow:
    @workflow.run
    async def run(self, request: DataRetentionRequest) -> RetentionReport:
        return await run_single_activity(
            DataRetentionActivities.retention,
            request,
            start_to_close=timedelta(hours=2),
            first_retry_after=timedelta(seconds=30),
        )
