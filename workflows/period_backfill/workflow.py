"""Back-fill of the period history: every closed period the retained ledger covers, one
activity per period, so a crash resumes at the next unwritten period and the progress is
visible (query ``progress``; the run record in ``period_backfill_runs`` for the API).

Deterministic shell: the plan, each period's compute-and-write and the bookkeeping are
activities (shared.services.period_metrics). Scheduled daily with ``rewrite=False`` it also
keeps the history current: the just-closed week is the only period left to write.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.period_backfill.activities import PeriodBackfillActivities
    from workflows.period_backfill.contract import (
        WORKFLOW_NAME,
        BackfillRequest,
        BackfillResult,
        FinishTask,
        PeriodTask,
    )

_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), backoff_coefficient=2.0, maximum_attempts=3)


@workflow.defn(name=WORKFLOW_NAME)
class PeriodBackfillWorkflow:
    def __init__(self) -> None:
        self._total = 0
        self._done = 0
        self._run_id = 0

    @workflow.query
    def progress(self) -> dict[str, int]:
        return {"run_id": self._run_id, "done": self._done, "total": self._total}

    @workflow.run
    async def run(self, request: BackfillRequest) -> BackfillResult:
        plan = await workflow.execute_activity_method(
            PeriodBackfillActivities.plan, request, start_to_close_timeout=timedelta(minutes=2), retry_policy=_RETRY
        )
        self._run_id, self._total = plan.run_id, len(plan.labels)
        try:
            for label in plan.labels:
                await workflow.execute_activity_method(
                    PeriodBackfillActivities.write,
                    PeriodTask(plan.run_id, request.kind, label, self._done),
                    start_to_close_timeout=timedelta(minutes=15),
                    retry_policy=_RETRY,
                )
                self._done += 1
        except Exception as exc:
            await workflow.execute_activity_method(
                PeriodBackfillActivities.finish,
                FinishTask(plan.run_id, "failed", str(exc)[:1000]),
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=_RETRY,
            )
            raise
        await workflow.execute_activity_method(
            PeriodBackfillActivities.finish,
            FinishTask(plan.run_id, "succeeded"),
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=_RETRY,
        )
        return BackfillResult(plan.run_id, self._done)
