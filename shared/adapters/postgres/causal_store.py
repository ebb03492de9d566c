"""PostgreSQL side of causal analysis: outcomes, person attributes and the analyses table.

The result of an analysis is written by a guarded UPDATE (``status <> 'succeeded'``), so an
activity retried after a crash, or run twice, completes the analysis exactly once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from shared.adapters.postgres.pool import PgPool
from shared.adapters.postgres.rows import row_as

TERMINAL = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class AnalysisRow:
    id: str
    spec: dict[str, Any]
    status: str
    progress: dict[str, Any]
    result: dict[str, Any] | None
    provenance: dict[str, Any] | None
    error: str | None
    requested_by: str | None
    workflow_id: str | None
    attempts: int
    completions: int
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


def _row(r: Any) -> AnalysisRow:
    return row_as(AnalysisRow, r, json_columns=("spec", "progress", "result", "provenance"))


class CausalStore:
    def __init__(self, pool: PgPool) -> None:
        self._pool = pool

    # ---- outcomes and attributes -------------------------------------------------------

    async def upsert_outcomes(self, rows: Sequence[tuple[str, date, str, float, str]]) -> int:
        """(pseudonym, period, metric, value, source); a re-sent value replaces the old one."""
        if not rows:
            return 0
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "CREATE TEMP TABLE _outcomes_in"
                " (employee text, period date, metric text, value float8, source text) ON COMMIT DROP"
            )
            await conn.copy_records_to_table("_outcomes_in", records=rows)
            await conn.execute(
                """INSERT INTO outcomes (employee, period, metric, value, source)
                   SELECT DISTINCT ON (employee, period, metric) employee, period, metric, value, source
                     FROM _outcomes_in
                   ON CONFLICT (employee, period, metric) DO UPDATE
                     SET value = excluded.value, source = excluded.source, recorded_at = now()"""
            )
        return len(rows)

    async def upsert_attributes(self, rows: Sequence[tuple[str, float | None, str | None, str | None]]) -> int:
        """HR attributes per person; a team given here is authoritative (the ledger's person
        totals follow at once, the graph at the person's next event or a rebuild)."""
        if not rows:
            return 0
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                """INSERT INTO employee_attributes (employee, tenure_years, role, team) VALUES ($1, $2, $3, $4)
                   ON CONFLICT (employee) DO UPDATE SET
                     tenure_years = coalesce(excluded.tenure_years, employee_attributes.tenure_years),
                     role = coalesce(excluded.role, employee_attributes.role),
                     team = coalesce(excluded.team, employee_attributes.team), updated_at = now()""",
                rows,
            )
            teams = [(r[0], r[3]) for r in rows if r[3] is not None]
            if teams:
                await conn.executemany(
                    """UPDATE person_totals SET team = $2, version = version + 1, updated_at = now()
                        WHERE person = $1 AND team IS DISTINCT FROM $2""",
                    teams,
                )
        return len(rows)

    async def outcome_count(self, employee: str, metric: str) -> int:
        async with self._pool.acquire() as conn:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM outcomes WHERE employee = $1 AND metric = $2", employee, metric
                )
            )

    # ---- analyses -------------------------------------------------------------------------

    async def create(self, spec: dict[str, Any], requested_by: str | None, workflow_id: str | None = None) -> str:
        """Record a queued analysis. With ``workflow_id`` the id derives from it (idempotent)."""
        key = uuid.uuid5(uuid.NAMESPACE_URL, "co-analysis:" + workflow_id) if workflow_id else uuid.uuid4()
        await self._pool.execute(
            """INSERT INTO analyses (id, spec, status, requested_by, workflow_id, progress)
               VALUES ($1, $2::jsonb, 'queued', $3, $4, '{"stage": "queued", "fraction": 0}'::jsonb)
               ON CONFLICT (id) DO NOTHING""",
            key,
            json.dumps(spec),
            requested_by,
            workflow_id or f"analysis-{key}",
        )
        return str(key)

    async def get(self, analysis_id: str) -> AnalysisRow | None:
        try:
            key = uuid.UUID(analysis_id)
        except ValueError:
            return None
        r = await self._pool.fetchrow("SELECT * FROM analyses WHERE id = $1", key)
        return _row(r) if r else None

    async def list(self, limit: int = 50, status: str | None = None) -> list[AnalysisRow]:
        rows = await self._pool.fetch(
            """SELECT * FROM analyses WHERE ($1::text IS NULL OR status = $1)
               ORDER BY created_at DESC LIMIT $2""",
            status,
            limit,
        )
        return [_row(r) for r in rows]

    async def mark_running(self, analysis_id: str, attempt: int) -> bool:
        """Start (or resume after a crash) unless already finished; False means finished."""
        r = await self._pool.fetchrow(
            """UPDATE analyses SET status = 'running', attempts = greatest(attempts, $2),
                      started_at = coalesce(started_at, now()), updated_at = now()
                WHERE id = $1 AND status NOT IN ('succeeded', 'failed', 'cancelled') RETURNING id""",
            uuid.UUID(analysis_id),
            attempt,
        )
        return r is not None

    async def set_progress(self, analysis_id: str, progress: dict[str, Any]) -> None:
        await self._pool.execute(
            "UPDATE analyses SET progress = $2::jsonb, updated_at = now() WHERE id = $1 AND status = 'running'",
            uuid.UUID(analysis_id),
            json.dumps(progress),
        )

    async def complete(self, analysis_id: str, result: dict[str, Any], provenance: dict[str, Any]) -> bool:
        """Store the result once; False if it was already stored (a retried activity)."""
        r = await self._pool.fetchrow(
            """UPDATE analyses SET status = 'succeeded', result = $2::jsonb, provenance = $3::jsonb,
                      progress = '{"stage": "done", "fraction": 1}'::jsonb, completions = completions + 1,
                      completed_at = now(), updated_at = now()
                WHERE id = $1 AND status <> 'succeeded' RETURNING id""",
            uuid.UUID(analysis_id),
            json.dumps(result),
            json.dumps(provenance),
        )
        return r is not None

    async def finish_unsuccessfully(self, analysis_id: str, status: str, error: str) -> None:
        if status not in ("failed", "cancelled"):
            raise ValueError(status)
        await self._pool.execute(
            """UPDATE analyses SET status = $2, error = $3, completed_at = now(), updated_at = now()
                WHERE id = $1 AND status NOT IN ('succeeded', 'failed', 'cancelled')""",
            uuid.UUID(analysis_id),
            status,
            error[:2000],
        )
