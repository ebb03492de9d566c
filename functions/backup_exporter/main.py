"""Backup exporter: serves backup and WAL-archive freshness on /metrics for Prometheus.

A small process of its own because the freshness comes from pgBackRest (which needs the
repository's passphrase) and no other function should hold that. Locally the stack runs it
(`ops/stack/`, port CO_BACKUP_EXPORTER_PORT); in production the Deployment backup-exporter in
knative/backup.yaml (docs/runbooks/backup-restore.md).
Run: ``python -m functions.backup_exporter.main``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from prometheus_client import CollectorRegistry, start_http_server

from shared.platform.settings import load_settings
from shared.services.backup_freshness import build_gauges, refresh, run_forever


async def main_async() -> None:
    settings = load_settings()
    registry = CollectorRegistry()
    gauges = build_gauges(registry)
    await refresh(settings, gauges)  # the first scrape must not see the gauges' initial 0
    server, thread = start_http_server(
        settings.backup.exporter_port, addr=settings.backup.exporter_host, registry=registry
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await run_forever(settings, gauges, stop)
    finally:
        server.shutdown()
        thread.join(timeout=5)


def main() -> None:
    logging.basicConfig(level=os.environ.get("CO_LOG_LEVEL", "INFO"))
    asyncio.run(main_async())


if __name__ == "__main__":
    main()
