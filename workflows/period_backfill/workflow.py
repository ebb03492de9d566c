"""Back-fill of the period history: every closed period the retained ledger covers, one
activity per period, so a crash resumes at the next unwritten period and the progress is
visible (query ``progress``; the run record in ``period_backfill_runs`` for the API).

Deterministic shell: the plan, each period's compute-and-write and the bookkeeping are
activities (shared.services.period_metrics). Scheduled daily with ``rewrite=False`` it also
keeps the history current: the just-closed week is the only period left to write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

PLAN_ACTIVITY = "periods.plan"
PERIOD_ACTIVITY = "periods.write"
FINISH_ACTIVITY = "periods.finish"


@dataclass
class BackfillRequest:
    kind: str = "week"
    rewrite: bool = False  # recompute periods already in the history


@dataclass
class BackfillPlan:
    run_id: int
    labels: list[str] = field(default_factory=list)  # ISO dates of the periods' first days


@dataclass
class PeriodTask:
    run_id: int
    kind: str
    label: str
    done: int  # periods finished before this one (the run record's progress)


@dataclass
class FinishTask:
    run_id: int
    status: str
    error: str | None = None


_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), backoff_coefficient=2.0, maximum_attempts=3)


@workflow.defn(name="PeriodBackfillWorkflow")
class PeriodBackfillWorkflow:
    def __init__(self) -> None:
        self._total = 0
        self._done = 0
        self._run_id = 0

    @workflow.query
    def progress(self) -> dict[str, int]:
        return {"run_id": self._run_id, "done": self._done, "total": self._total}

    @workflow.run
    async def run(self, request: BackfillRequest) -> dict[str, Any]:
        plan: BackfillPlan = await workflow.execute_activity(
            PLAN_ACTIVITY,
            request,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=_RETRY,
            result_type=BackfillPlan,
        )
        self._run_id, self._total = plan.run_id, len(plan.labels)
        try:
            for label in plan.labels:
                await workflow.execute_activity(
                    PERIOD_ACTIVITY,
                    PeriodTask(plan.run_id, request.kind, label, self._done),
                    start_to_close_timeout=timedelta(minutes=15),
                    retry_policy=_RETRY,
                )
                self._done += 1
        except Exception as exc:
            await workflow.execute_activity(
                FINISH_ACTIVITY,
                FinishTask(plan.run_id, "failed", str(exc)[:1000]),
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=_RETRY,
            )
            raise
        await workflow.execute_activity(
            FINISH_ACTIVITY,
            FinishTask(plan.run_id, "succeeded"),
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=_RETRY,
        )
        return {"run_id": plan.run_id, "periods": self._done}
