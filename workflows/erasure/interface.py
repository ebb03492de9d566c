"""What the erasure workflow calls by method reference (its activities implement it); kept out of
the contract so that starting the workflow never loads ``temporalio.activity`` (docs/workflows.md)."""

from __future__ import annotations

from temporalio import activity

from workflows.erasure import contract


class ErasureActivityContract:
    @activity.defn(name=contract.STEP_ACTIVITY)
    async def step(self, request: contract.StepRequest) -> contract.StepReport:
        raise NotImplementedError

    @activity.defn(name=contract.COMPLETE_ACTIVITY)
    async def finish(self, request: contract.FinishRequest) -> contract.ErasureOutcome:
        raise NotImplementedError
