"""ExportWorkflow: one export, durable (a crashed worker's attempt is retried from the start);
ExportSweepWorkflow: the scheduled deletion of export objects past their retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError
from temporalio.workflow import ActivityCancellationType

RUN_ACTIVITY = "exports.run"
FAIL_ACTIVITY = "exports.fail"
SWEEP_ACTIVITY = "exports.sweep"
NOT_RETRYABLE = ["ExportRefused", "ExportCancelled"]


@dataclass
class SweepRequest:
    dry_run: bool = False


def workflow_id(export_id: str) -> str:
    return f"export:{export_id}"


@workflow.defn(name="ExportWorkflow")
class ExportWorkflow:
    @workflow.run
    async def run(self, export_id: str) -> dict[str, Any]:
        try:
            result: dict[str, Any] = await workflow.execute_activity(
                RUN_ACTIVITY,
                export_id,
                start_to_close_timeout=timedelta(hours=2),
                heartbeat_timeout=timedelta(seconds=60),
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=2),
                    backoff_coefficient=2.0,
                    maximum_attempts=3,
                    non_retryable_error_types=NOT_RETRYABLE,
                ),
                result_type=dict,
            )
        except ActivityError as exc:
            if isinstance(exc.cause, CancelledError):
                raise
            await workflow.execute_activity(
                FAIL_ACTIVITY,
                args=[export_id, str(exc.cause or exc)[:500]],
                start_to_close_timeout=timedelta(seconds=30),
            )
            raise
        return result


@workflow.defn(name="ExportSweepWorkflow")
class ExportSweepWorkflow:
    @workflow.run
    async def run(self, request: SweepRequest) -> dict[str, Any]:
        result: dict[str, Any] = await workflow.execute_activity(
            SWEEP_ACTIVITY,
            request,
            start_to_close_timeout=timedelta(minutes=30),
            retry_policy=RetryPolicy(maximum_attempts=3),
            result_type=dict,
        )
        return result
