"""DataRetentionWorkflow: the daily retention job (issue 16), a shell around one activity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

RETENTION_ACTIVITY = "data.retention"


@dataclass
class DataRetentionRequest:
    dry_run: bool = False


@workflow.defn(name="DataRetentionWorkflow")
class DataRetentionWorkflow:
    @workflow.run
    async def run(self, request: DataRetentionRequest) -> dict[str, Any]:
        report: dict[str, Any] = await workflow.execute_activity(
            RETENTION_ACTIVITY,
            request,
            start_to_close_timeout=timedelta(hours=2),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=30), maximum_attempts=3),
            result_type=dict,
        )
        return report
