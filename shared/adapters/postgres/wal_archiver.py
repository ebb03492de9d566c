"""PostgreSQL's own record of WAL archiving (``pg_stat_archiver``), for the backup freshness gauges."""

from __future__ import annotations

import asyncpg


async def last_archived_at(dsn: str) -> float | None:
    """Unix time of the archive_command's last success; None before the first. pg_stat_archiver
    is readable by every role, so the application's DSN is enough (a one-off connection: the
    exporter holds no pool)."""
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        value = await conn.fetchval("SELECT extract(epoch FROM last_archived_time)::float8 FROM pg_stat_archiver")
    finally:
        await conn.close()
    return float(value) if value is not None else None
