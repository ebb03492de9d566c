"""DataRetentionWorkflow: the daily retention job (issue 16), a shell around one activity."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.data_retention.contract import (
        WORKFLOW_NAME,
        DataRetentionActivityContract,
        DataRetentionRequest,
        RetentionReport,
    )


@workflow.defn(name=WORKFLOW_NAME)
class DataRetentionWorkflow:
    @workflow.run
    async def run(self, request: DataRetentionRequest) -> RetentionReport:
        return await workflow.execute_activity_method(
            DataRetentionActivityContract.retention,
            request,
            start_to_close_timeout=timedelta(hours=2),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=30), maximum_attempts=3),
        )
