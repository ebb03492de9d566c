"""The demo's backup stage: an incremental pgBackRest backup of the ledger now, the repository's
contents, and the freshness the alert rules read (from the backup exporter the stack runs)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from ops.backup.postgres import stack_cluster
from ops.backup.repository import list_backups, take_backup
from ops.stack.config import port
from ops.stack.pgbackrest import BUCKET

GAUGES = ("co_backup_last_success_timestamp_seconds", "co_wal_archive_last_success_timestamp_seconds")


async def demo_stage(_: Any, out: Callable[[str], None]) -> None:
    cluster = stack_cluster()
    taken = await asyncio.to_thread(take_backup, cluster, "incr")
    out(
        f"{taken['type']} backup {taken['label']} in {taken['duration_s']} s: "
        f"{taken['repo_size_bytes']:,} bytes, AES-256 encrypted, in s3://{BUCKET}"
    )
    listing = await asyncio.to_thread(list_backups, cluster)
    out(f"{len(listing['backups'])} backups in the repository; WAL archived up to {listing['wal_max']}")
    await asyncio.sleep(1)
    async with httpx.AsyncClient(timeout=5) as client:
        body = (await client.get(f"http://127.0.0.1:{port('backup_exporter')}/metrics")).text
    for line in body.splitlines():
        name, _, value = line.partition(" ")
        if name in GAUGES:
            out(f"{name}: {time.time() - float(value):.0f} s ago")
    out("recovery drill: ./dev drill:restore; runbook: docs/runbooks/backup-restore.md")
