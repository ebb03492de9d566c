"""Activities of the intervention workflows: audit, connector steps, outcome reads, alerts.

Connector errors are translated for Temporal's retry policy: a refused request (4xx) is not
retryable; an open breaker asks Temporal to come back when the breaker half-opens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry
from temporalio import activity
from temporalio.exceptions import ApplicationError

from shared.adapters.connectors import breaker_registry, build_connector
from shared.adapters.connectors.base import ConnectorRejected, ConnectorUnavailable, GuardedConnector, OutcomeSource
from shared.adapters.connectors.breaker import BreakerCollector, BreakerOpenError, BreakerRegistry
from shared.adapters.postgres.audit import AuditStore
from shared.adapters.postgres.outcome_source import PgOutcomeSource
from shared.domain.intervention_outcomes import group_summary, outcome_record
from shared.domain.interventions import CATALOGUE, Action, InterventionType
from shared.platform.resources import Resources
from shared.platform.sealing import seal, unseal
from shared.platform.settings import Settings
from shared.services import intervention_cycle
from shared.services.alerts import AlertSink
from workflows.intervention import contract
from workflows.intervention.contract import (
    AlertInput,
    AuditInput,
    AuditResult,
    CaptureInput,
    CaptureResult,
    InterventionActivityContract,
    InterventionInput,
    MeasureInput,
    StepInput,
)

T = TypeVar("T")


async def _guarded(call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except ConnectorRejected as exc:
        raise ApplicationError(str(exc), type="ConnectorRejected", non_retryable=True) from exc
    except BreakerOpenError as exc:
        delay = timedelta(seconds=max(exc.retry_in_s, 0.5))
        raise ApplicationError(str(exc), type="BreakerOpen", next_retry_delay=delay) from exc
    except ConnectorUnavailable as exc:
        raise ApplicationError(str(exc), type="ConnectorUnavailable") from exc


class InterventionActivities(InterventionActivityContract):
    """The contract's activities, bound to one worker's audit store, connector, breakers and alert sink."""

    def __init__(
        self,
        settings: Settings,
        audit: AuditStore,
        connector: GuardedConnector,
        breakers: BreakerRegistry,
        alerts: AlertSink,
        registry: CollectorRegistry,
        outcomes: OutcomeSource | None = None,
    ) -> None:
        self.settings = settings
        self.audit_store = audit
        self.connector = connector
        self.breakers = breakers
        self.alerts = alerts
        self.registry = registry
        self.outcomes: OutcomeSource = outcomes or connector

    @activity.defn(name=contract.AUDIT)
    async def audit(self, inp: AuditInput) -> AuditResult:
        record = await self.audit_store.append(
            event_key=inp.event_key,
            intervention_id=inp.intervention_id,
            event=inp.event,
            actor=inp.actor,
            details=inp.details,
            personal=inp.personal,
            subjects=inp.subjects,
            projection=inp.projection,
        )
        return AuditResult(id=record.id, row_hash=record.row_hash)

    @activity.defn(name=contract.CAPTURE)
    async def capture(self, inp: CaptureInput) -> CaptureResult:
        """Pre-states, and the outcome baseline: per-person values only sealed, group figures in clear."""
        actions = [Action.from_dict(a) for a in inp.actions]
        pre_states = await _guarded(lambda: self.connector.capture_state(actions)) if actions else []
        baseline: dict[str, float] = {}
        if inp.metric:
            baseline = await _guarded(lambda: self.outcomes.read_outcome(inp.metric, inp.people, inp.teams))
        return CaptureResult(
            pre_states=pre_states,
            baseline=group_summary(baseline, self.settings.privacy.min_group_size),
            sealed_baseline=seal(baseline, self.settings.privacy.pseudonymisation_key),
        )

    @activity.defn(name=contract.APPLY)
    async def apply(self, inp: StepInput) -> dict[str, Any]:
        action = Action.from_dict(inp.action)
        return await _guarded(lambda: self.connector.apply(action, inp.key))

    @activity.defn(name=contract.REVERT)
    async def revert(self, inp: StepInput) -> dict[str, Any]:
        action = Action.from_dict(inp.action)
        return await _guarded(lambda: self.connector.revert(action, inp.pre_state, inp.key))

    @activity.defn(name=contract.MEASURE)
    async def measure(self, inp: MeasureInput) -> dict[str, Any]:
        """Read the outcome and judge it here: per-person values never leave this activity."""
        entry = CATALOGUE[InterventionType(inp.type)]
        after = await _guarded(lambda: self.outcomes.read_outcome(entry.outcome_metric, inp.people, inp.teams))
        try:
            baseline = {
                str(k): float(v)
                for k, v in unseal(inp.sealed_baseline, self.settings.privacy.pseudonymisation_key).items()
            }
        except ValueError as exc:
            raise ApplicationError(str(exc), type="SealBroken", non_retryable=True) from exc
        return outcome_record(entry, baseline, after, self.settings.privacy.min_group_size)

    @activity.defn(name=contract.ALERT)
    async def alert(self, inp: AlertInput) -> None:
        self.alerts.raise_alert(inp.source, inp.message, inp.details)

    @activity.defn(name=contract.EVALUATE)
    async def evaluate(self, lookback_hours: float) -> list[InterventionInput]:
        async with self.audit_store.pg.acquire() as conn:
            return await intervention_cycle.evaluate(conn, self.settings, lookback_hours)

    def all(self) -> list[Callable[..., Any]]:
        return [self.audit, self.capture, self.apply, self.revert, self.measure, self.alert, self.evaluate]


def build(settings: Settings, audit: AuditStore) -> InterventionActivities:
    registry = CollectorRegistry(auto_describe=True)
    breakers = breaker_registry(settings)
    registry.register(BreakerCollector(breakers))
    connector = build_connector(settings, breakers)
    outcomes: OutcomeSource | None = None
    if settings.interventions.outcome_source == "postgres":
        outcomes = PgOutcomeSource(audit.pg)
    alerts = AlertSink(settings, registry)
    return InterventionActivities(settings, audit, connector, breakers, alerts, registry, outcomes)


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    """What worker.py registers: the contract's activities over the worker's resources."""
    return build(resources.settings, AuditStore(resources.pg, resources.settings.audit.key)).all()
