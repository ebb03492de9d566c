"""The backup exporter (functions/backup_exporter): co_backup_* / co_wal_archive_* freshness gauges."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import psutil

from ops.stack.config import IS_ROOT, ROOT, VENV
from ops.stack.environment import app_environment
from ops.stack.postgres import Postgres
from ops.stack.server import Server, http_get


class BackupExporter(Server):
    """Serves the freshness of the stack cluster's backups and WAL archive for Prometheus."""

    name = "backup_exporter"
    port_key = "backup_exporter"
    ready_timeout = 90.0  # a Python process importing the project: slow when eight stacks share two cores
    stop_timeout = 10.0
    needs = ("postgres", "s3")  # its first reading asks pgBackRest, which reads the S3 repository

    def exe(self) -> Path:
        return VENV / "bin" / "python"

    def is_ours(self, proc: psutil.Process) -> bool:
        with contextlib.suppress(psutil.Error):
            return super().is_ours(proc) and "functions.backup_exporter.main" in proc.cmdline()
        return False

    def command(self) -> list[str]:
        return [str(self.exe()), "-m", "functions.backup_exporter.main"]

    def environment(self) -> dict[str, str]:
        cluster = Postgres().backup_cluster()
        return (
            dict(os.environ)
            | app_environment()
            | {
                "PYTHONPATH": str(ROOT),
                "CO_BACKUP_PGBACKREST_CONFIG": str(cluster.config),
                "CO_BACKUP_STANZA": cluster.stanza,
                "CO_BACKUP_RUN_AS": "postgres" if IS_ROOT else "",
                "CO_BACKUP_EXPORTER_PORT": str(self.port),
            }
        )

    def probe(self) -> None:
        http_get(self.port, "/metrics")
