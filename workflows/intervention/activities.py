"""Activities of the intervention workflows: the contract's steps, run by
``shared.services.intervention_steps``.

Connector errors are translated here for Temporal's retry policy: a refused request (4xx) is
not retryable; an open breaker asks Temporal to come back when the breaker half-opens; a
broken seal is not retryable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from shared.platform.resources import Resources
from shared.platform.settings import Settings
from shared.services.audit import audit_store
from shared.services.intervention_steps import (
    AuditStore,
    BreakerOpenError,
    ConnectorRejected,
    ConnectorUnavailable,
    InterventionSteps,
    SealBroken,
    steps_for,
)
from workflows.bound_activities import activity_methods
from workflows.intervention import contract

T = TypeVar("T")


async def _guarded(call: Awaitable[T]) -> T:
    try:
        return await call
    except ConnectorRejected as exc:
        raise ApplicationError(str(exc), type="ConnectorRejected", non_retryable=True) from exc
    except BreakerOpenError as exc:
        delay = timedelta(seconds=max(exc.retry_in_s, 0.5))
        raise ApplicationError(str(exc), type="BreakerOpen", next_retry_delay=delay) from exc
    except ConnectorUnavailable as exc:
        raise ApplicationError(str(exc), type="ConnectorUnavailable") from exc
    except SealBroken as exc:
        raise ApplicationError(str(exc), type="SealBroken", non_retryable=True) from exc


class InterventionActivities:
    """The contract's activities over one worker's ``InterventionSteps`` (the workflows call them
    by method reference)."""

    def __init__(self, steps: InterventionSteps) -> None:
        self.steps = steps
        self.settings = steps.settings
        self.breakers = steps.breakers
        self.alerts = steps.alerts
        self.registry = steps.registry  # the worker serves it (breaker states, alert counts)

    @activity.defn(name=contract.AUDIT)
    async def audit(self, inp: contract.AuditInput) -> contract.AuditResult:
        record = await self.steps.record(
            event_key=inp.event_key,
            intervention_id=inp.intervention_id,
            event=inp.event,
            actor=inp.actor,
            details=inp.details,
            personal=inp.personal,
            subjects=inp.subjects,
            projection=inp.projection,
        )
        return contract.AuditResult(id=record.id, row_hash=record.row_hash)

    @activity.defn(name=contract.CAPTURE)
    async def capture(self, inp: contract.CaptureInput) -> contract.CaptureResult:
        """Pre-states, and the monitoring design (targets, comparison group, pre-period series) sealed;
        group figures in clear."""
        pre_states, baseline, sealed = await _guarded(
            self.steps.capture(inp.actions, inp.metric, inp.people, inp.teams, inp.as_of)
        )
        return contract.CaptureResult(pre_states=pre_states, baseline=baseline, sealed_baseline=sealed)

    @activity.defn(name=contract.APPLY)
    async def apply(self, inp: contract.StepInput) -> contract.StepAnswer:
        return contract.StepAnswer(await _guarded(self.steps.apply(inp.action, inp.key)))

    @activity.defn(name=contract.REVERT)
    async def revert(self, inp: contract.StepInput) -> contract.StepAnswer:
        return contract.StepAnswer(await _guarded(self.steps.revert(inp.action, inp.pre_state, inp.key)))

    @activity.defn(name=contract.MEASURE)
    async def measure(self, inp: contract.MeasureInput) -> contract.MeasuredOutcome:
        """Read the outcome and judge it: per-person values never leave the steps."""
        return await _guarded(self.steps.measure(inp.type, inp.sealed_baseline))

    @activity.defn(name=contract.ALERT)
    async def alert(self, inp: contract.AlertInput) -> None:
        self.steps.alert(inp.source, inp.message, inp.details)

    @activity.defn(name=contract.EVALUATE)
    async def evaluate(self, lookback_hours: float) -> list[contract.InterventionInput]:
        return await self.steps.evaluate(lookback_hours)

    def all(self) -> list[Callable[..., Any]]:
        return activity_methods(self)


def build(settings: Settings, audit: AuditStore) -> InterventionActivities:
    return InterventionActivities(steps_for(settings, audit))


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    """What worker.py registers: the contract's activities over the worker's resources."""
    return build(resources.settings, audit_store(resources)).all()
