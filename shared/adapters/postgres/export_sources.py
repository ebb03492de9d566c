"""The queries an export streams, and the streaming itself: a server-side cursor inside one
read-only REPEATABLE READ transaction, so a long export reads one consistent snapshot while
memory stays bounded by the cursor's prefetch.

The metric history queries come from ``metrics_store`` (the API's own); the privacy gates
applied row by row stay in the exports service.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from shared.adapters.postgres.pool import PgPool

ANALYSES_SQL = """SELECT id::text AS id, status, requested_by, created_at, completed_at,
                         spec->>'treatment' AS treatment, spec->>'outcome' AS outcome,
                         spec::text AS spec, result::text AS result_with_diagnostics, error
                    FROM analyses ORDER BY created_at, id"""
# $1, $2: the half-open time range [start, end)
AUDIT_LOG_SQL = """SELECT id, event_key, intervention_id AS subject, event, actor, occurred_at,
                          details::text AS details, prev_hash, row_hash
                     FROM intervention_audit_log WHERE occurred_at >= $1 AND occurred_at < $2 ORDER BY id"""


async def stream_records(pool: PgPool, sql: str, args: Sequence[Any], prefetch: int) -> AsyncIterator[dict[str, Any]]:
    """Every row of ``sql`` as a dict, in order, from one snapshot."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        async for record in conn.cursor(sql, *args, prefetch=prefetch):
            yield dict(record)


async def column_names(pool: PgPool, sql: str) -> list[str]:
    """The columns ``sql`` would return (an empty export still gets its header)."""
    async with pool.acquire() as conn:
        stmt = await conn.prepare(sql)
        return [a.name for a in stmt.get_attributes()]


async def count_rows(pool: PgPool, sql: str, args: Sequence[Any]) -> int:
    return int(await pool.fetchval(f"SELECT count(*) FROM ({sql}) AS q", *args))
