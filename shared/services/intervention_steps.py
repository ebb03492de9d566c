"""What an intervention's workflow does to the world, one step at a time: audit, capture the
pre-state and the outcome baseline, apply and revert connector steps, measure the outcome,
alert, and evaluate the next automatic proposals.

The composition (connector, breakers, outcome source, alert sink, their metrics registry) is
built here once per worker by ``steps_for``; the Temporal activities only translate the
connector's errors for the retry policy. Per-person outcome values never leave this module in
clear: the baseline is sealed, the measured outcome is judged here into group figures.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry

from shared.adapters.connectors import breaker_registry, build_connector
from shared.adapters.connectors.base import ConnectorRejected, ConnectorUnavailable, GuardedConnector, OutcomeSource
from shared.adapters.connectors.breaker import BreakerCollector, BreakerOpenError, BreakerRegistry
from shared.adapters.postgres.audit import AuditRecord, AuditStore
from shared.adapters.postgres.outcome_source import PgOutcomeSource
from shared.domain.intervention_outcomes import group_summary, outcome_record
from shared.domain.interventions import CATALOGUE, Action, InterventionType
from shared.platform.sealing import seal, unseal
from shared.platform.settings import Settings
from shared.services import intervention_cycle
from shared.services.alerts import AlertSink
from workflows.intervention.contract import InterventionInput

# the errors a step raises, for the activities to map onto Temporal's retry policy
__all__ = [
    "AuditStore",
    "BreakerOpenError",
    "ConnectorRejected",
    "ConnectorUnavailable",
    "InterventionSteps",
    "SealBroken",
    "steps_for",
]


class SealBroken(ValueError):
    """The sealed baseline cannot be opened with this deployment's key: retrying cannot help."""


class InterventionSteps:
    """Bound to one worker's audit store, connector, breakers, outcome source and alert sink."""

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

    async def record(self, **fields: Any) -> AuditRecord:
        """Append one audit row (once per event key)."""
        return await self.audit_store.append(**fields)

    async def capture(
        self, actions: list[dict[str, Any]], metric: str, people: list[str], teams: list[str]
    ) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
        """Pre-states, the baseline's group figures, and the per-person baseline sealed."""
        planned = [Action.from_dict(a) for a in actions]
        pre_states = await self.connector.capture_state(planned) if planned else []
        baseline: dict[str, float] = {}
        if metric:
            baseline = await self.outcomes.read_outcome(metric, people, teams)
        summary = group_summary(baseline, self.settings.privacy.min_group_size)
        return pre_states, summary, seal(baseline, self.settings.privacy.pseudonymisation_key)

    async def apply(self, action: dict[str, Any], key: str) -> dict[str, Any]:
        return await self.connector.apply(Action.from_dict(action), key)

    async def revert(self, action: dict[str, Any], pre_state: dict[str, Any], key: str) -> dict[str, Any]:
        return await self.connector.revert(Action.from_dict(action), pre_state, key)

    async def measure(self, type_: str, people: list[str], teams: list[str], sealed_baseline: str) -> dict[str, Any]:
        """Read the outcome and judge it against the sealed baseline; raises ValueError when the
        seal is broken (per-person values never leave this method)."""
        entry = CATALOGUE[InterventionType(type_)]
        after = await self.outcomes.read_outcome(entry.outcome_metric, people, teams)
        try:
            opened = unseal(sealed_baseline, self.settings.privacy.pseudonymisation_key)
        except ValueError as exc:
            raise SealBroken(str(exc)) from exc
        baseline = {str(k): float(v) for k, v in opened.items()}
        return outcome_record(entry, baseline, after, self.settings.privacy.min_group_size)

    def alert(self, source: str, message: str, details: dict[str, Any]) -> None:
        self.alerts.raise_alert(source, message, details)

    async def evaluate(self, lookback_hours: float) -> list[InterventionInput]:
        async with self.audit_store.pg.acquire() as conn:
            return await intervention_cycle.evaluate(conn, self.settings, lookback_hours)


def steps_for(settings: Settings, audit: AuditStore) -> InterventionSteps:
    """One worker's steps: breakers and alerts counted in their own registry (the worker serves it)."""
    registry = CollectorRegistry(auto_describe=True)
    breakers = breaker_registry(settings)
    registry.register(BreakerCollector(breakers))
    connector = build_connector(settings, breakers)
    outcomes: OutcomeSource | None = (
        PgOutcomeSource(audit.pg) if settings.interventions.outcome_source == "postgres" else None
    )
    return InterventionSteps(settings, audit, connector, breakers, AlertSink(settings, registry), registry, outcomes)
