"""ErasureWorkflow: erase one person, step by step, durably (a crash resumes at the step it was
in; every step is idempotent). Its input is the erasure's id: the pseudonym never enters the
workflow's history. Steps are listed in shared/services/erasure.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from workflows.erasure.activities import ErasureActivities
    from workflows.erasure.contract import (
        STEPS,
        WORKFLOW_NAME,
        ErasureInput,
        ErasureOutcome,
        FinishRequest,
        StepRequest,
    )


@workflow.defn(name=WORKFLOW_NAME)
class ErasureWorkflow:
    def __init__(self) -> None:
        self._done: list[str] = []

    @workflow.query
    def progress(self) -> dict[str, Any]:
        return {"steps_done": list(self._done), "steps": list(STEPS)}

    @workflow.run
    async def run(self, inp: ErasureInput | str) -> ErasureOutcome:
        erasure_id = inp.erasure_id if isinstance(inp, ErasureInput) else inp  # a str: started before typing
        try:
            for step in STEPS:
                await workflow.execute_activity_method(
                    ErasureActivities.step,
                    StepRequest(erasure_id, step),
                    start_to_close_timeout=timedelta(minutes=30),
                    retry_policy=RetryPolicy(
                        initial_interval=timedelta(seconds=2), backoff_coefficient=2.0, maximum_attempts=8
                    ),
                )
                self._done.append(step)
        except ActivityError as exc:
            await workflow.execute_activity_method(
                ErasureActivities.finish,
                FinishRequest(erasure_id, "failed", str(exc.cause or exc)[:500]),
                start_to_close_timeout=timedelta(minutes=1),
            )
            raise
        return await workflow.execute_activity_method(
            ErasureActivities.finish,
            FinishRequest(erasure_id, "succeeded"),
            start_to_close_timeout=timedelta(minutes=1),
        )
