"""Graph updater: the stream consumer KEDA scales on the group's lag (down to zero).

SIGTERM/SIGINT: the batch in hand is finished and acknowledged, then the process exits.
``CO_CONSUMER_METRICS_PORT`` > 0 serves Prometheus metrics (batches, entries, lag) there.
Run: ``python -m functions.graph_updater.main [--consumer NAME]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket

from prometheus_client import CollectorRegistry, start_http_server

from shared.platform.error_reporting import init_error_reporting
from shared.platform.logs import configure_logging
from shared.platform.observability import (
    ConsumerMetrics,
    PoolCollector,
    StreamGauges,
    new_registry,
    stream_names_of,
)
from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import Settings, load_settings
from shared.platform.tracing import configure_tracing
from shared.services.graph_updater import GraphUpdater

GAUGE_REFRESH_S = 5.0
log = logging.getLogger(__name__)


async def refresh_gauges(gauges: StreamGauges, stop: asyncio.Event) -> None:
    """Lag, pending and dead letters, read from Redis every few seconds while consuming."""
    while not stop.is_set():
        try:
            await gauges.refresh()
        except Exception:  # noqa: BLE001 - a metrics read must never stop the consumer
            log.warning("stream gauges not refreshed", exc_info=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), GAUGE_REFRESH_S)


def serve_metrics(settings: Settings, resources: Resources) -> tuple[CollectorRegistry, ConsumerMetrics | None]:
    registry = new_registry()
    if settings.observability.consumer_metrics_port <= 0:
        return registry, None
    registry.register(PoolCollector(resources))
    try:
        start_http_server(
            settings.observability.consumer_metrics_port,
            addr=settings.observability.metrics_bind_host,
            registry=registry,
        )
    except OSError as exc:  # another consumer on this host holds the port: consume anyway, unscraped
        log.warning("metrics port %d not served: %s", settings.observability.consumer_metrics_port, exc)
    return registry, ConsumerMetrics(registry)


async def consume(settings: Settings, consumer: str, stop: asyncio.Event) -> None:
    async with open_resources(settings, Needs(graph=True, redis=True, pg=True)) as resources:
        await resources.graph.ensure_schema()
        registry, metrics = serve_metrics(settings, resources)
        updater = GraphUpdater(settings, resources.redis, resources.pg, resources.graph, consumer, metrics)
        gauges = None
        if metrics is not None:
            gauges = asyncio.create_task(
                refresh_gauges(StreamGauges(registry, resources.redis, stream_names_of(settings)), stop)
            )
        try:
            await updater.run(stop)
        finally:
            stop.set()
            if gauges is not None:
                await gauges
        log.info("stopped cleanly: %s", updater.stats)


async def main_async(settings: Settings, consumer: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await consume(settings, consumer, stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--consumer", default=os.environ.get("CO_CONSUMER_NAME") or f"{socket.gethostname()}-{os.getpid()}"
    )
    args = parser.parse_args()
    settings = load_settings()
    configure_logging(settings)
    configure_tracing(settings)
    init_error_reporting(settings)
    asyncio.run(main_async(settings, args.consumer))


if __name__ == "__main__":
    main()
