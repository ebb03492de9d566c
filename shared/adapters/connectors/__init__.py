"""Connectors to the systems interventions act on, each call guarded by a circuit breaker."""

from __future__ import annotations

from shared.adapters.connectors.base import Connector, GuardedConnector
from shared.adapters.connectors.breaker import BreakerConfig, BreakerRegistry
from shared.adapters.connectors.simulator import SimulatorConnector
from shared.adapters.connectors.webhook import WebhookConnector
from shared.platform.settings import Settings


def breaker_registry(settings: Settings) -> BreakerRegistry:
    return BreakerRegistry(
        BreakerConfig(
            failure_threshold=settings.interventions.breaker.failure_threshold,
            reset_timeout_s=settings.interventions.breaker.reset_timeout_s,
            half_open_max_calls=settings.interventions.breaker.half_open_max_calls,
        )
    )


def build_connector(settings: Settings, breakers: BreakerRegistry) -> GuardedConnector:
    """The configured connector, wrapped in its service's breaker."""
    inner: Connector
    if settings.interventions.connector == "webhook":
        if not settings.interventions.webhook_url or settings.interventions.webhook_secret is None:
            raise RuntimeError("connector=webhook needs CO_WEBHOOK_URL and CO_WEBHOOK_SECRET")
        inner = WebhookConnector(
            settings.interventions.webhook_url,
            settings.interventions.webhook_secret.get_secret_value().encode(),
            settings.interventions.connector_timeout_s,
        )
    else:
        inner = SimulatorConnector(settings.interventions.simulator_url, settings.interventions.connector_timeout_s)
    return GuardedConnector(inner, breakers.get(inner.name))
