"""The analysis workflow: run the analysis activity (heartbeating, retried with backoff), keep
a progress you can query, and record a cancellation or a final failure in the analyses row.

The activity is idempotent (the result is written by a guarded UPDATE), so a worker killed
mid-analysis just means a retry on another worker once the heartbeat times out.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from workflows.analysis.activities import AnalysisActivities
    from workflows.analysis.contract import (
        PROGRESS,
        WORKFLOW_NAME,
        AnalysisInput,
        CreateRequest,
        FinishRequest,
        RunRequest,
        RunResult,
    )


@workflow.defn(name=WORKFLOW_NAME)
class AnalysisWorkflow:
    """Input: ``AnalysisInput`` (the API, after recording the analysis), or a bare spec dict
    (e.g. a child of the intervention cycle), which is validated and recorded first under an id
    derived from the workflow id (so a replay records it once). A spec has no ``analysis_id``,
    so the converter's union falls through to the dict."""

    def __init__(self) -> None:
        self._progress: dict[str, Any] = {"stage": "queued", "fraction": 0.0}
        self._status = "queued"

    @workflow.run
    async def run(self, payload: AnalysisInput | dict[str, Any]) -> RunResult:
        self._status = "running"
        if isinstance(payload, AnalysisInput):
            request = payload
        else:
            analysis_id = await workflow.execute_activity_method(
                AnalysisActivities.create,
                CreateRequest(spec=payload, workflow_id=workflow.info().workflow_id),
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    maximum_attempts=5,
                    non_retryable_error_types=["SpecProblem", "ValidationError"],
                ),
            )
            request = AnalysisInput(analysis_id=analysis_id)
        try:
            result = await workflow.execute_activity_method(
                AnalysisActivities.run_analysis,
                RunRequest(analysis_id=request.analysis_id, workflow_id=workflow.info().workflow_id),
                start_to_close_timeout=timedelta(seconds=request.activity_timeout_s),
                heartbeat_timeout=timedelta(seconds=request.heartbeat_timeout_s),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    backoff_coefficient=2.0,
                    maximum_interval=timedelta(minutes=2),
                    maximum_attempts=request.max_attempts,
                    non_retryable_error_types=["SpecProblem", "LookupError", "ValidationError"],
                ),
                cancellation_type=workflow.ActivityCancellationType.TRY_CANCEL,
            )
        except (asyncio.CancelledError, CancelledError, ActivityError) as exc:
            cancelled = is_cancelled_exception(exc)
            self._status = "cancelled" if cancelled else "failed"
            reason = "cancelled" if cancelled else str(getattr(exc, "cause", None) or exc)[:1000]
            await asyncio.shield(
                workflow.execute_activity_method(
                    AnalysisActivities.finish,
                    FinishRequest(request.analysis_id, self._status, reason),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=10),
                )
            )
            raise
        self._status = "succeeded"
        self._progress = {"stage": "done", "fraction": 1.0}
        return result

    @workflow.signal(name=PROGRESS)
    def report_progress(self, progress: dict[str, Any]) -> None:
        """The activity reports each new stage here, so a query sees it without a database."""
        if self._status == "running":
            self._progress = progress

    @workflow.query(name=PROGRESS)
    def progress(self) -> dict[str, Any]:
        return {"status": self._status, **self._progress}
