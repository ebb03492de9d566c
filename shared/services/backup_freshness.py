"""Backup freshness for the alert rules: when the newest backup and the newest WAL archive succeeded.

Two gauges, in unix seconds, so a rule can say ``time() - co_backup_last_success_timestamp_seconds
> 26 * 3600``: the newest pgBackRest backup's stop time (from the repository itself, so a backup
that wrote nothing readable does not count) and PostgreSQL's own ``pg_stat_archiver.last_archived_time``
(the archive_command's last success). A gauge reads 0 while there is no value (no backup yet,
or pgBackRest cannot read the repository), so the stale alert fires then too;
``co_backup_exporter_errors_total`` counts failed refreshes so a broken exporter is visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

from shared.adapters.pgbackrest import read_info
from shared.adapters.postgres.wal_archiver import last_archived_at
from shared.platform.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FreshnessGauges:
    backup_last_success: Gauge
    wal_archive_last_success: Gauge
    backups_in_repository: Gauge
    errors: Counter


def build_gauges(registry: CollectorRegistry) -> FreshnessGauges:
    return FreshnessGauges(
        backup_last_success=Gauge(
            "co_backup_last_success_timestamp_seconds",
            "Unix time the newest successful pgBackRest backup finished",
            registry=registry,
        ),
        wal_archive_last_success=Gauge(
            "co_wal_archive_last_success_timestamp_seconds",
            "Unix time PostgreSQL last archived a WAL segment successfully (pg_stat_archiver)",
            registry=registry,
        ),
        backups_in_repository=Gauge(
            "co_backup_repository_backups", "Successful backups held in the repository", registry=registry
        ),
        errors=Counter("co_backup_exporter_errors", "Failed freshness refreshes", ["source"], registry=registry),
    )


def pgbackrest_secret_env(settings: Settings) -> dict[str, str]:
    """Secrets pgBackRest can only take from its config file or its own variables (production)."""
    env: dict[str, str] = {}
    pairs = (
        ("PGBACKREST_REPO1_CIPHER_PASS", settings.backup.cipher_pass),
        ("PGBACKREST_REPO1_S3_KEY", settings.s3.access_key),
        ("PGBACKREST_REPO1_S3_KEY_SECRET", settings.s3.secret_key),
    )
    if settings.backup.pgbackrest_config is None:  # locally the config file holds them
        env = {name: value.get_secret_value() for name, value in pairs if value is not None}
    return env


async def refresh(settings: Settings, gauges: FreshnessGauges) -> None:
    """One refresh of both gauges; each source fails on its own."""
    if settings.backup.pgbackrest_config is not None or settings.backup.cipher_pass is not None:
        try:
            state = await read_info(
                settings.backup.stanza,
                config=settings.backup.pgbackrest_config,
                run_as=settings.backup.run_as or None,
                secret_env=pgbackrest_secret_env(settings),
            )
            gauges.backups_in_repository.set(state.backups)
            if state.last_backup_stop is not None:
                gauges.backup_last_success.set(state.last_backup_stop)
        except Exception:
            gauges.errors.labels("pgbackrest").inc()
            log.exception("pgbackrest info failed")
    try:
        archived = await last_archived_at(settings.postgres.dsn.get_secret_value())
        if archived is not None:
            gauges.wal_archive_last_success.set(archived)
    except Exception:
        gauges.errors.labels("postgres").inc()
        log.exception("reading pg_stat_archiver failed")


async def run_forever(settings: Settings, gauges: FreshnessGauges, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await refresh(settings, gauges)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.backup.refresh_s)
