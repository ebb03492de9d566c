"""What the intervention workflow calls by method reference (its activities implement it); kept out of
the contract so that starting the workflow never loads ``temporalio.activity`` (docs/workflows.md)."""

from __future__ import annotations

from temporalio import activity

from workflows.intervention import contract


class InterventionActivityContract:
    """What the workflows call (by method reference); ``activities.InterventionActivities``
    implements it on the worker. The bodies here never run."""

    @activity.defn(name=contract.AUDIT)
    async def audit(self, inp: contract.AuditInput) -> contract.AuditResult:
        raise NotImplementedError

    @activity.defn(name=contract.CAPTURE)
    async def capture(self, inp: contract.CaptureInput) -> contract.CaptureResult:
        raise NotImplementedError

    @activity.defn(name=contract.APPLY)
    async def apply(self, inp: contract.StepInput) -> contract.StepAnswer:
        raise NotImplementedError

    @activity.defn(name=contract.REVERT)
    async def revert(self, inp: contract.StepInput) -> contract.StepAnswer:
        raise NotImplementedError

    @activity.defn(name=contract.MEASURE)
    async def measure(self, inp: contract.MeasureInput) -> contract.MeasuredOutcome:
        raise NotImplementedError

    @activity.defn(name=contract.ALERT)
    async def alert(self, inp: contract.AlertInput) -> None:
        raise NotImplementedError

    @activity.defn(name=contract.EVALUATE)
    async def evaluate(self, lookback_hours: float) -> list[contract.InterventionInput]:
        raise NotImplementedError
