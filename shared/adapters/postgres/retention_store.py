"""The retention job's SQL (migration 0051's ``retention_runs`` and the tables it expires).

The service (``shared.services.retention``) decides the cutoffs and the order; this module only
counts or deletes what is older than them, and records each run with its report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.adapters.postgres.ledger_maintenance import Recomputed, recompute_totals
from shared.adapters.postgres.pool import PgPool, rows_affected

# table -> (count query, delete query); $1 is the table's cutoff. The latest metrics summary is always kept.
_RECORD_TABLES: dict[str, tuple[str, str]] = {
    "outcomes": (
        "SELECT count(*) FROM outcomes WHERE recorded_at < $1",
        "DELETE FROM outcomes WHERE recorded_at < $1",
    ),
    "employee_attributes": (
        "SELECT count(*) FROM employee_attributes WHERE updated_at < $1",
        "DELETE FROM employee_attributes WHERE updated_at < $1",
    ),
    "analyses": (
        "SELECT count(*) FROM analyses WHERE created_at < $1 AND status IN ('succeeded', 'failed', 'cancelled')",
        "DELETE FROM analyses WHERE created_at < $1 AND status IN ('succeeded', 'failed', 'cancelled')",
    ),
    "metrics_summaries": (
        """SELECT count(*) FROM metrics_summaries WHERE computed_at < $1
             AND run_id <> (SELECT run_id FROM metrics_summaries ORDER BY computed_at DESC LIMIT 1)""",
        """DELETE FROM metrics_summaries WHERE computed_at < $1
             AND run_id <> (SELECT run_id FROM metrics_summaries ORDER BY computed_at DESC LIMIT 1)""",
    ),
}
RECORD_TABLES: tuple[str, ...] = tuple(_RECORD_TABLES)


@dataclass(frozen=True)
class ExpiredBatch:
    """One batch of interactions deleted, with the totals recomputed in the same transaction."""

    rows: int
    changed: Recomputed


class RetentionStore:
    def __init__(self, pool: PgPool) -> None:
        self._pool = pool

    async def start_run(self, dry_run: bool, now: datetime) -> int:
        async with self._pool.acquire() as conn:
            return int(
                await conn.fetchval(
                    "INSERT INTO retention_runs (dry_run, now_at) VALUES ($1, $2) RETURNING id", dry_run, now
                )
            )

    async def finish_run(self, run_id: int, report: Mapping[str, Any]) -> None:
        await self._pool.execute(
            "UPDATE retention_runs SET finished_at = clock_timestamp(), report = $2::jsonb WHERE id = $1",
            run_id,
            json.dumps(report),
        )

    async def count_interactions_before(self, cutoff: datetime) -> int:
        return int(await self._pool.fetchval("SELECT count(*) FROM interactions WHERE occurred_at < $1", cutoff))

    async def count_receipts_before(self, cutoff: datetime) -> int:
        return int(await self._pool.fetchval("SELECT count(*) FROM event_receipts WHERE occurred_at < $1", cutoff))

    async def delete_receipts_before(self, cutoff: datetime) -> int:
        async with self._pool.acquire() as conn:
            return rows_affected(await conn.execute("DELETE FROM event_receipts WHERE occurred_at < $1", cutoff))

    async def count_records_before(self, cutoffs: Mapping[str, datetime]) -> dict[str, int]:
        """Per table of ``RECORD_TABLES``: rows older than its cutoff."""
        async with self._pool.acquire() as conn:
            return {t: int(await conn.fetchval(_RECORD_TABLES[t][0], cutoffs[t])) for t in RECORD_TABLES}

    async def delete_records_before(self, cutoffs: Mapping[str, datetime]) -> dict[str, int]:
        """Per table of ``RECORD_TABLES``: delete rows older than its cutoff; returns rows deleted."""
        async with self._pool.acquire() as conn:
            return {t: rows_affected(await conn.execute(_RECORD_TABLES[t][1], cutoffs[t])) for t in RECORD_TABLES}

    async def expire_interactions_batch(self, cutoff: datetime, batch_rows: int) -> ExpiredBatch | None:
        """Delete up to ``batch_rows`` interactions older than ``cutoff`` and recompute the touched
        pairs' and people's totals in the same transaction; None when nothing is left to delete."""
        async with self._pool.acquire() as conn, conn.transaction():
            gone = await conn.fetch(
                """DELETE FROM interactions WHERE ctid = ANY(ARRAY(
                       SELECT ctid FROM interactions WHERE occurred_at < $1 LIMIT $2))
                   RETURNING src, dst""",
                cutoff,
                batch_rows,
            )
            if not gone:
                return None
            pairs = {(r["src"], r["dst"]) for r in gone}
            changed = await recompute_totals(conn, sorted(pairs), [])
        return ExpiredBatch(rows=len(gone), changed=changed)
