"""Prometheus metrics: one registry per process (no global registry state), the request metrics
every HTTP function gets from the app factory, and the gauges read from Redis and PostgreSQL
when Prometheus scrapes (so they are true even while the consumer or the worker is down).

Metric names and what each means: docs/observability.md.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from shared.adapters.postgres.operational import ANALYSIS_DURATION_BUCKETS, OperationalFigures, operational_figures
from shared.adapters.streams import StreamNames, lag

if TYPE_CHECKING:
    from shared.adapters.postgres.pool import PgPool
    from shared.platform.resources import Resources
    from shared.platform.settings import Settings

log = logging.getLogger(__name__)

# seconds; the P95 > 2 s alert needs buckets on both sides of 2
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
UNMATCHED_ROUTE = "<unmatched>"  # 404s: never the raw path (unbounded label values, ids in paths)
SCRAPE_TIMEOUT_S = 2.0

ScrapeHook = Callable[[], Awaitable[None]]


def new_registry() -> CollectorRegistry:
    return CollectorRegistry(auto_describe=True)


def status_class(status: int) -> str:
    return f"{status // 100}xx"


class PoolCollector(Collector):
    """Exports in-use / idle / waiting / max for every pool the function holds."""

    def __init__(self, resources: Resources) -> None:
        self._resources = resources

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = {
            field: GaugeMetricFamily(f"co_pool_{field}", f"pool connections: {field}", labels=["pool"])
            for field in ("in_use", "idle", "waiting", "max_size")
        }
        for stats in self._resources.pool_stats():
            for field, family in families.items():
                family.add_metric([stats.name], float(getattr(stats, field)))
        yield from families.values()


class HttpMetrics:
    """RED metrics of one HTTP function: requests, errors (4xx and 5xx) and duration, by method,
    route template (``/people/{person_id}``, never the raw path) and status class."""

    def __init__(self, registry: CollectorRegistry, function: str) -> None:
        self.function = function
        labels = ["function", "method", "route", "status_class"]
        self.requests = Counter("co_http_requests", "HTTP requests served", labels, registry=registry)
        self.errors = Counter("co_http_request_errors", "HTTP requests answered 4xx or 5xx", labels, registry=registry)
        self.duration = Histogram(
            "co_http_request_duration_seconds",
            "HTTP request duration, from the first byte received to the last byte sent",
            ["function", "method", "route"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        cls = status_class(status)
        self.requests.labels(self.function, method, route, cls).inc()
        if status >= 400:
            self.errors.labels(self.function, method, route, cls).inc()
        self.duration.labels(self.function, method, route).observe(seconds)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


class RouteTemplates:
    """Path -> route template (``/v1/analyses/{analysis_id}``), matched like the router does, so
    answers given before routing (the factory's 413) are labelled with their route too."""

    def __init__(self) -> None:
        self._compiled: list[tuple[re.Pattern[str], str]] | None = None

    def _build(self, app: Any) -> list[tuple[re.Pattern[str], str]]:
        from fastapi.routing import iter_route_contexts
        from starlette.routing import compile_path

        compiled: list[tuple[re.Pattern[str], str]] = []
        for ctx in iter_route_contexts(app.routes):
            path = ctx.path_format or ctx.path
            if path:
                compiled.append((compile_path(path)[0], path))
        return compiled

    def __call__(self, scope: Scope) -> str:
        if self._compiled is None:
            self._compiled = self._build(scope["app"])
        path = scope.get("path", "")
        for regex, template in self._compiled:
            if regex.match(path):
                return template
        return UNMATCHED_ROUTE


class RequestMetricsMiddleware:
    """Outermost app middleware: counts every answer, the factory's own 413/429/503 included;
    an exception that escapes the app is counted as the 500 the server will send."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self.route_template = RouteTemplates()

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]], send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            self.metrics.observe(scope["method"], self.route_template(scope), status, time.perf_counter() - started)


class StreamGauges:
    """Lag, pending entries and dead-letter length of the ingestion stream, read from Redis.
    Exported by the consumer and by every function holding Redis, so a stopped consumer's
    growing backlog is still seen (rules aggregate with ``max``)."""

    def __init__(self, registry: CollectorRegistry, redis: aioredis.Redis, names: StreamNames) -> None:
        self._redis = redis
        self._names = names
        labels = ["stream", "group"]
        self.lag = Gauge("co_stream_lag", "Entries not yet delivered to the consumer group", labels, registry=registry)
        self.pending = Gauge("co_stream_pending", "Entries delivered but not acknowledged", labels, registry=registry)
        self.dead_letters = Gauge(
            "co_stream_dead_letter_length", "Entries in the dead-letter stream", ["stream"], registry=registry
        )

    async def refresh(self) -> None:
        figures = await lag(self._redis, self._names)
        dead = int(await self._redis.xlen(self._names.dead_letter))
        self.lag.labels(self._names.stream, self._names.group).set(figures["lag"])
        self.pending.labels(self._names.stream, self._names.group).set(figures["pending"])
        self.dead_letters.labels(self._names.dead_letter).set(dead)


class OperationalGauges(Collector):
    """Metrics refresh freshness, analyses, interventions and approvals, read from PostgreSQL.
    The analysis-duration histogram is built from the ``analyses`` table too (every completed
    analysis, cumulative): the same figure from every process and across worker restarts, so
    ``increase()`` over it is the durable truth (aggregate with ``max by (le, ...)``).
    A figure never read (table empty or missing, database down since start) is not exported at
    all: a made-up 0 would read as "the last refresh was in 1970" and fire the staleness alert."""

    def __init__(self, registry: CollectorRegistry, pg: PgPool) -> None:
        self._pg = pg
        self._figures: OperationalFigures | None = None
        registry.register(self)

    async def refresh(self) -> None:
        async with self._pg.acquire() as conn:
            self._figures = await operational_figures(conn)

    def collect(self) -> Iterator[GaugeMetricFamily | HistogramMetricFamily]:
        f = self._figures
        if f is None:
            return
        if f.refresh_last_success is not None:
            yield GaugeMetricFamily(
                "co_metrics_refresh_last_success_timestamp_seconds",
                "When the last successful network-metrics refresh finished (unix seconds)",
                value=f.refresh_last_success,
            )
            yield GaugeMetricFamily(
                "co_metrics_refresh_last_duration_seconds",
                "Duration of the last successful refresh",
                value=f.refresh_last_duration_s or 0.0,
            )
        analyses = GaugeMetricFamily("co_analyses", "Causal analyses by status", labels=["status"])
        for status, count in f.analyses_by_status.items():
            analyses.add_metric([status], count)
        durations = HistogramMetricFamily(
            "co_analysis_duration_seconds",
            "Duration of every completed causal analysis, by engine and verdict ('failed' for failures)",
            labels=["engine", "verdict"],
        )
        for (engine, verdict), h in f.analysis_durations.items():
            buckets = [
                (floatToGoString(b), float(n)) for b, n in zip(ANALYSIS_DURATION_BUCKETS, h.cumulative, strict=True)
            ]
            durations.add_metric([engine, verdict], [*buckets, ("+Inf", float(h.count))], h.total_s)
        interventions = GaugeMetricFamily("co_interventions", "Interventions by state", labels=["state"])
        for state, count in f.interventions_by_state.items():
            interventions.add_metric([state], count)
        yield from (analyses, durations, interventions)
        if f.interventions_table:
            yield GaugeMetricFamily("co_approval_backlog", "Interventions awaiting approval", value=f.approval_backlog)
            yield GaugeMetricFamily(
                "co_approval_oldest_pending_age_seconds",
                "Age of the oldest intervention awaiting approval (0 when none); approvals expire at 24 h",
                value=f.approval_oldest_age_s,
            )


async def run_scrape_hooks(hooks: list[ScrapeHook]) -> None:
    """Refresh the read-at-scrape gauges, each bounded in time; a failing one keeps its last values."""
    for hook in hooks:
        try:
            await asyncio.wait_for(hook(), SCRAPE_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - a scrape must not fail because one source is down
            log.warning("metrics refresh %s failed", getattr(hook, "__qualname__", hook), exc_info=True)


def stream_names_of(settings: Settings) -> StreamNames:
    return StreamNames(settings.ingest.stream_name, settings.ingest.stream_group, settings.ingest.dead_letter_stream)


def scrape_hooks_for(registry: CollectorRegistry, resources: Resources) -> list[ScrapeHook]:
    """The gauges a process can read with the dependencies it holds."""
    names = stream_names_of(resources.settings)
    hooks: list[ScrapeHook] = []
    if resources.needs.redis:
        hooks.append(StreamGauges(registry, resources.redis, names).refresh)
    if resources.needs.pg:
        hooks.append(OperationalGauges(registry, resources.pg).refresh)
    return hooks


class ConsumerMetrics:
    """The graph updater's own figures: batches, their duration and what became of each entry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.batch_duration = Histogram(
            "co_consumer_batch_duration_seconds",
            "Time to apply one batch (ledger, graph, ack)",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.entries = Counter(
            "co_consumer_entries", "Stream entries handled, by outcome", ["outcome"], registry=registry
        )
        self.failures = Counter("co_consumer_batch_failures", "Batches that failed as a whole", registry=registry)
