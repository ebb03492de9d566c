"""The intervention workflow's activity interface: the workflow calls these methods by reference and
``activities`` implements them. Apart from ``contract.py`` so that a function importing the
contract (names and payloads) never loads ``temporalio.activity`` (docs/benchmarks.md, "Cold starts")."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from workflows.intervention.contract import (
    ALERT,
    APPLY,
    AUDIT,
    CAPTURE,
    EVALUATE,
    MEASURE,
    REVERT,
    AlertInput,
    AuditInput,
    AuditResult,
    CaptureInput,
    CaptureResult,
    InterventionInput,
    MeasureInput,
    StepInput,
)


class InterventionActivityContract:
    """What the workflows call (by method reference); ``activities.InterventionActivities``
    implements it on the worker. The bodies here never run."""

    @activity.defn(name=AUDIT)
    async def audit(self, inp: AuditInput) -> AuditResult:
        raise NotImplementedError

    @activity.defn(name=CAPTURE)
    async def capture(self, inp: CaptureInput) -> CaptureResult:
        raise NotImplementedError

    @activity.defn(name=APPLY)
    async def apply(self, inp: StepInput) -> dict[str, Any]:
        raise NotImplementedError

    @activity.defn(name=REVERT)
    async def revert(self, inp: StepInput) -> dict[str, Any]:
        raise NotImplementedError

    @activity.defn(name=MEASURE)
    async def measure(self, inp: MeasureInput) -> dict[str, Any]:
        raise NotImplementedError

    @activity.defn(name=ALERT)
    async def alert(self, inp: AlertInput) -> None:
        raise NotImplementedError

    @activity.defn(name=EVALUATE)
    async def evaluate(self, lookback_hours: float) -> list[InterventionInput]:
        raise NotImplementedError
