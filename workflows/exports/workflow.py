"""ExportWorkflow: one export, durable (a crashed worker's attempt is retried from the start);
ExportSweepWorkflow: the scheduled deletion of export objects past their retention."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from shared.domain.exports import ExportSweep
    from workflows.exports.activities import ExportActivities
    from workflows.exports.contract import (
        EXPORT_WORKFLOW_NAME,
        NOT_RETRYABLE,
        SWEEP_WORKFLOW_NAME,
        ExportInput,
        ExportResult,
        FailRequest,
        SweepRequest,
    )
    from workflows.single_activity import run_single_activity


@workflow.defn(name=EXPORT_WORKFLOW_NAME)
class ExportWorkflow:
    @workflow.run
    async def run(self, inp: ExportInput | str) -> ExportResult:
        request = inp if isinstance(inp, ExportInput) else ExportInput(inp)  # a str: started before typing
        try:
            return await workflow.execute_activity_method(
                ExportActivities.run,
                request,
                start_to_close_timeout=timedelta(hours=2),
                heartbeat_timeout=timedelta(seconds=60),
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=2),
                    backoff_coefficient=2.0,
                    maximum_attempts=3,
                    non_retryable_error_types=NOT_RETRYABLE,
                ),
            )
        except ActivityError as exc:
            if isinstance(exc.cause, CancelledError):
                raise
            await workflow.execute_activity_method(
                ExportActivities.fail,
                FailRequest(request.export_id, str(exc.cause or exc)[:500]),
                start_to_close_timeout=timedelta(seconds=30),
            )
            raise


@workflow.defn(name=SWEEP_WORKFLOW_NAME)
class ExportSweepWorkflow:
    @workflow.run
    async def run(self, request: SweepRequest) -> ExportSweep:
        return await run_single_activity(
            ExportActivities.sweep,
            request,
            start_to_close=timedelta(minutes=30),
            first_retry_after=timedelta(seconds=1),
        )
