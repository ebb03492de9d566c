"""What an intervention's workflow does to the world, one step at a time: audit, capture the
pre-state and the outcome baseline, apply and revert connector steps, measure the outcome,
alert, and evaluate the next automatic proposals.

The composition (connector, breakers, outcome source, alert sink, their metrics registry) is
built here once per worker by ``steps_for``; the Temporal activities only translate the
connector's errors for the retry policy. Per-person outcome values never leave this module in
clear: the pre-period series are sealed, the measured outcome is judged here (difference in
differences against a comparison group chosen before acting) into group figures.
"""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry

from shared.adapters.connectors import breaker_registry, build_connector
from shared.adapters.connectors.base import ConnectorRejected, ConnectorUnavailable, GuardedConnector, OutcomeSource
from shared.adapters.connectors.breaker import BreakerCollector, BreakerOpenError, BreakerRegistry
from shared.adapters.postgres.audit import AuditRecord, AuditStore
from shared.adapters.postgres.intervention_findings import InterventionFindings
from shared.adapters.postgres.outcome_source import PgOutcomeSource
from shared.domain.intervention_outcomes import group_summary, outcome_record
from shared.domain.interventions import CATALOGUE, Action, InterventionType
from shared.domain.outcome_monitoring import PRE_PERIOD_DAYS, choose_comparison, difference_in_differences
from shared.platform.sealing import seal, unseal
from shared.platform.settings import Settings
from shared.services import intervention_cycle
from shared.services.alerts import AlertSink
from workflows.intervention.contract import InterventionInput, MeasuredOutcome

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
        self, actions: list[dict[str, Any]], metric: str, people: list[str], teams: list[str], as_of: str = ""
    ) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
        """Pre-states; the targets (people and their teams' members) and the comparison group chosen
        on the pre-period (before acting on ``as_of``), their pre-period series sealed, group figures
        in clear."""
        planned = [Action.from_dict(a) for a in actions]
        pre_states = await self.connector.capture_state(planned) if planned else []
        if not metric:
            return pre_states, group_summary({}, self.settings.privacy.min_group_size), ""
        acted = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
        treated = sorted(set(people) | set(await self.outcomes.team_members(teams)))
        start = acted - timedelta(days=PRE_PERIOD_DAYS)
        pre = await self.outcomes.read_series(metric, None, start, acted)
        missing = [t for t in treated if t not in pre]
        if missing:  # a source may list only the people it already knows
            pre.update(await self.outcomes.read_series(metric, missing, start, acted))
        pre_means = {k: statistics.fmean(v) for k, v in pre.items() if v}
        comparison = choose_comparison(pre_means, set(treated))
        summary = group_summary(
            {t: pre_means[t] for t in treated if t in pre_means}, self.settings.privacy.min_group_size
        )
        summary["comparison_people"] = len(comparison)
        design = {
            "as_of": acted.isoformat(),
            "treated": treated,
            "comparison": comparison,
            "pre": {k: pre[k] for k in [*treated, *comparison] if k in pre},
        }
        return pre_states, summary, seal(design, self.settings.privacy.pseudonymisation_key)

    async def apply(self, action: dict[str, Any], key: str) -> dict[str, Any]:
        return await self.connector.apply(Action.from_dict(action), key)

    async def revert(self, action: dict[str, Any], pre_state: dict[str, Any], key: str) -> dict[str, Any]:
        return await self.connector.revert(Action.from_dict(action), pre_state, key)

    async def measure(self, type_: str, sealed_baseline: str) -> MeasuredOutcome:
        """Read the post-period series of the targets and the comparison group and judge by
        difference-in-differences; raises SealBroken when the seal cannot be opened (per-person
        values never leave this method)."""
        entry = CATALOGUE[InterventionType(type_)]
        try:
            design = unseal(sealed_baseline, self.settings.privacy.pseudonymisation_key)
            acted = date.fromisoformat(design["as_of"])
            treated, comparison = list(design["treated"]), list(design["comparison"])
            pre = {str(k): [float(x) for x in v] for k, v in design["pre"].items()}
        except (ValueError, KeyError, TypeError) as exc:
            raise SealBroken(f"sealed baseline unreadable: {exc}") from exc
        post = await self.outcomes.read_series(entry.outcome_metric, [*treated, *comparison], acted, None)
        did = difference_in_differences(pre, post, set(treated), entry.higher_is_better, comparison=comparison)
        both = [t for t in treated if pre.get(t) and post.get(t)]
        before = {t: statistics.fmean(pre[t]) for t in both}
        after = {t: statistics.fmean(post[t]) for t in both}
        return MeasuredOutcome(**outcome_record(entry, did, before, after, self.settings.privacy.min_group_size))

    def alert(self, source: str, message: str, details: dict[str, Any]) -> None:
        self.alerts.raise_alert(source, message, details)

    async def evaluate(self, lookback_hours: float) -> list[InterventionInput]:
        findings = InterventionFindings(self.audit_store.pg)
        return await intervention_cycle.evaluate(findings, self.settings, lookback_hours)


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
