"""Alerts for failures nobody is waiting on (schedules, failed rollbacks): log, metric, error report."""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from shared.platform.settings import Settings

log = logging.getLogger("causal_organism.alerts")


class AlertSink:
    """One per process. Counts alerts in ``registry`` and reports to Sentry when a DSN is set."""

    def __init__(self, settings: Settings, registry: CollectorRegistry) -> None:
        self._sentry = settings.observability.sentry_dsn is not None
        self.counter = Counter("co_alerts", "alerts raised for permanent failures", ["source"], registry=registry)

    def raise_alert(self, source: str, message: str, details: dict[str, Any] | None = None) -> None:
        log.error("ALERT source=%s: %s %s", source, message, details or {})
        self.counter.labels(source=source).inc()
        if self._sentry:
            import sentry_sdk

            with sentry_sdk.new_scope() as scope:
                scope.set_tag("alert_source", source)
                scope.set_context("alert", details or {})
                sentry_sdk.capture_message(f"{source}: {message}", level="error")

    def count(self, source: str) -> float:
        return self.counter.labels(source=source)._value.get()
