"""The scheduled cycles. Full (every 6 h): refresh metrics -> run the configured analyses (each
stores its own result) -> evaluate interventions -> start one InterventionWorkflow per new
proposal. Incremental (every 5 min): refresh metrics only (the refresh skips an unchanged graph).

The metrics and analysis workflows belong to other areas and are called as child workflows by
name, so this package imports neither. Every step retries with exponential backoff; a step that
still fails raises an alert (log, Prometheus counter, Sentry when configured) and fails the run,
so the schedule's history shows it too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    WorkflowAlreadyStartedError,
)
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from workflows.intervention.activities import InterventionActivities
    from workflows.intervention.contract import (
        CYCLE_WORKFLOW_NAME,
        WORKFLOW_NAME,
        AlertInput,
        CycleRequest,
        CycleResult,
        InterventionInput,
        workflow_id,
    )
    from workflows.metrics_refresh.contract import RefreshRequest

__all__ = ["CycleRequest", "InterventionCycleWorkflow"]


@workflow.defn(name=CYCLE_WORKFLOW_NAME)
class InterventionCycleWorkflow:
    def __init__(self) -> None:
        self.step = "starting"
        self.started: list[str] = []

    @workflow.query
    def progress(self) -> dict[str, Any]:
        return {"step": self.step, "started": list(self.started)}

    @workflow.run
    async def run(self, req: CycleRequest) -> CycleResult:
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=req.initial_retry_s),
            backoff_coefficient=2.0,
            maximum_attempts=req.max_attempts,
            non_retryable_error_types=["ProposalError"],
        )
        info = workflow.info()
        analyses_done = 0
        try:
            if req.refresh_workflow:
                self.step = "refresh"
                await workflow.execute_child_workflow(
                    req.refresh_workflow,
                    RefreshRequest(trigger=f"cycle-{req.mode}", force=False),
                    id=f"{info.workflow_id}:refresh",
                    retry_policy=retry,
                )
            if req.mode == "full":
                for i, spec in enumerate(req.analyses):
                    self.step = f"analysis {i + 1}/{len(req.analyses)}"
                    await workflow.execute_child_workflow(
                        req.analysis_workflow, spec, id=f"{info.workflow_id}:analysis:{i}", retry_policy=retry
                    )
                    analyses_done += 1
                if req.evaluate:
                    self.step = "evaluate"
                    inputs = await workflow.execute_activity_method(
                        InterventionActivities.evaluate,
                        req.lookback_hours,
                        start_to_close_timeout=timedelta(minutes=5),
                        retry_policy=retry,
                    )
                    await self._start_all(inputs, req)
        except (ChildWorkflowError, ActivityError) as exc:
            cause = exc.cause if exc.cause is not None else exc
            message = f"{req.mode} cycle failed at {self.step}: {type(cause).__name__}: {cause}"
            await workflow.execute_activity_method(
                InterventionActivities.alert,
                AlertInput(f"schedule:{req.mode}-cycle", message, {"workflow_id": info.workflow_id}),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=5),
            )
            raise ApplicationError(message, type="CycleFailed", non_retryable=True) from exc
        self.step = "done"
        return CycleResult(req.mode, analyses_done, list(self.started))

    async def _start_all(self, inputs: list[InterventionInput], req: CycleRequest) -> None:
        for inp in inputs:
            wf_id = workflow_id(str(inp.proposal["intervention_id"]))
            try:
                await workflow.start_child_workflow(
                    WORKFLOW_NAME,
                    inp,
                    id=wf_id,
                    task_queue=req.intervention_task_queue or workflow.info().task_queue,
                    parent_close_policy=ParentClosePolicy.ABANDON,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
                self.started.append(wf_id)
            except WorkflowAlreadyStartedError:
                continue  # proposed before: the fingerprint id makes re-evaluation a no-op
