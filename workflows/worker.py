"""The Temporal worker: one process hosting every workflow package's workflows and activities.

Each package under ``workflows/`` that runs on this worker exposes:
- ``WORKFLOWS`` (in the package, sandbox-safe): a list of workflow classes;
- ``activities.build_activities(resources) -> list[Callable]``: the contract's activities bound
  to injected resources.
Add a package to ``WORKFLOW_PACKAGES`` to host it. A package that cannot be loaded (misspelt,
missing either half, failing import) stops the worker with ``WorkflowPackageError``: a worker
that silently hosted fewer workflows would leave their tasks unpolled.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from shared.platform.error_reporting import init_error_reporting
from shared.platform.logs import configure_logging
from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import Settings, load_settings
from shared.platform.temporal_connection import connect_temporal
from shared.platform.tracing import temporal_interceptors
from shared.platform.worker_reporting import worker_interceptors
from workflows.schedules import ensure_schedules

WORKFLOW_PACKAGES: tuple[str, ...] = (
    "workflows.metrics_refresh",
    "workflows.analysis",
    "workflows.intervention",
    "workflows.graph_rebuild",
    "workflows.exports",
    "workflows.data_retention",
    "workflows.period_backfill",
    "workflows.erasure",
)

log = logging.getLogger(__name__)


class WorkflowPackageError(RuntimeError):
    """A workflow package the worker was told to host cannot be loaded."""


def _load(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception as exc:
        raise WorkflowPackageError(f"workflow package part {name!r} cannot be loaded: {exc}") from exc


def collect(
    resources: Resources, packages: tuple[str, ...] = WORKFLOW_PACKAGES
) -> tuple[list[type], list[Callable[..., Any]]]:
    """Workflows and activities of every package; any package that does not load raises."""
    workflows: list[type] = []
    activities: list[Callable[..., Any]] = []
    for name in packages:
        found = getattr(_load(name), "WORKFLOWS", None)
        build = getattr(_load(f"{name}.activities"), "build_activities", None)
        if not found or build is None:
            raise WorkflowPackageError(f"{name} needs WORKFLOWS and activities.build_activities")
        workflows.extend(found)
        activities.extend(build(resources))
    return workflows, activities


def build_worker(
    client: Client,
    resources: Resources,
    executor: ThreadPoolExecutor,
    task_queue: str,
    packages: tuple[str, ...] = WORKFLOW_PACKAGES,
) -> Worker:
    workflows, activities = collect(resources, packages)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=workflows,
        activities=activities,
        activity_executor=executor,
        graceful_shutdown_timeout=timedelta(seconds=10),
        interceptors=worker_interceptors(),
    )


class ActivityMetrics(Collector):
    """Serves the Prometheus registries that activity objects keep (breakers, alerts, ...)."""

    def __init__(self, activities: list[Callable[..., Any]]) -> None:
        owners = {id(o): o for fn in activities if (o := getattr(fn, "__self__", None)) is not None}
        self._registries = [
            r for o in owners.values() if isinstance(r := getattr(o, "registry", None), CollectorRegistry)
        ]

    def collect(self) -> Iterator[Metric]:
        for registry in self._registries:
            yield from registry.collect()


def serve_metrics(worker: Worker, port: int, host: str = "127.0.0.1") -> None:
    """Expose the worker's activity metrics on ``port`` (the PodMonitor scrapes it); 0 disables."""
    if port <= 0:
        return
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ActivityMetrics(list(worker.config().get("activities") or [])))
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as exc:  # another worker on this host holds the port: run anyway, unscraped
        log.warning("metrics port %d not served: %s", port, exc)


def temporal_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime whose SDK metrics (task latencies, slots, failures) Prometheus scrapes
    on ``worker_sdk_metrics_port``; None keeps the SDK's default runtime (no endpoint)."""
    if settings.observability.worker_sdk_metrics_port <= 0:
        return None
    address = f"{settings.observability.metrics_bind_host}:{settings.observability.worker_sdk_metrics_port}"
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))


async def run(settings: Settings, packages: tuple[str, ...] = WORKFLOW_PACKAGES) -> None:
    async with open_resources(settings, Needs(graph=True, redis=True, pg=True, s3=True)) as resources:
        client = await connect_temporal(
            settings, runtime=temporal_runtime(settings), interceptors=temporal_interceptors(settings)
        )
        if settings.environment != "test":  # test workers (own queues) must not leave schedules behind
            log.info("schedules ensured: %s", await ensure_schedules(client, settings))  # idempotent
        with ThreadPoolExecutor(max_workers=8) as executor:
            worker = build_worker(client, resources, executor, settings.temporal.task_queue, packages)
            serve_metrics(worker, settings.observability.worker_metrics_port, settings.observability.metrics_bind_host)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            async with worker:
                log.info("worker running on task queue %s", settings.temporal.task_queue)
                await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="the Temporal worker")
    parser.add_argument("--package", action="append", help="host only these workflow packages (e.g. workflows.exports)")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(settings)
    init_error_reporting(settings)
    asyncio.run(run(settings, tuple(args.package or WORKFLOW_PACKAGES)))


if __name__ == "__main__":
    main()
