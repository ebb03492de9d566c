"""The history of periods in PostgreSQL (migration 0013): per-person and per-team rows of each
closed period, the period's graph stats and top bridges, and the back-fill runs' progress.

A period is written in one transaction that first deletes what was there, so a re-run
back-fill replaces a period instead of duplicating it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from shared.adapters.postgres.pool import PgPool
from shared.domain.metrics import HISTORY_COLUMNS, NUMERIC_METRICS, EmployeeMetrics
from shared.domain.network_change import TEAM_FIGURES, TeamPeriod
from shared.domain.periods import Period

_EMPLOYEE_COLUMNS = ["period_kind", "period_start", *HISTORY_COLUMNS[1:]]
_TABLES = ("employee_period_metrics", "team_period_metrics", "period_graphs")


class PeriodStore:
    def __init__(self, pool: PgPool) -> None:
        self._pool = pool

    async def write_period(
        self,
        period: Period,
        rows: Sequence[EmployeeMetrics],
        teams: Sequence[TeamPeriod],
        graph: dict[str, Any],
        bridges: list[dict[str, Any]],
    ) -> None:
        kind, start = period.kind, period.label
        people = [(kind, start, *(getattr(r, c) for c in HISTORY_COLUMNS[1:])) for r in rows]
        team_rows = [
            (kind, start, t.team, t.members, t.withheld, *(t.figures.get(f) for f in TEAM_FIGURES)) for t in teams
        ]
        async with self._pool.acquire() as conn, conn.transaction():
            for table in _TABLES:
                await conn.execute(f"DELETE FROM {table} WHERE period_kind = $1 AND period_start = $2", kind, start)
            if people:
                await conn.copy_records_to_table("employee_period_metrics", records=people, columns=_EMPLOYEE_COLUMNS)
            if team_rows:
                await conn.copy_records_to_table(
                    "team_period_metrics",
                    records=team_rows,
                    columns=["period_kind", "period_start", "team", "members", "withheld", *TEAM_FIGURES],
                )
            await conn.execute(
                """INSERT INTO period_graphs (period_kind, period_start, period_end, people, ties, dropped_pairs,
                                              mode, pivots, epsilon, delta, bridges)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)""",
                kind,
                start,
                period.end.date(),
                graph["people"],
                graph["ties"],
                graph["dropped_pairs"],
                graph["mode"],
                graph["pivots"],
                graph["epsilon"],
                graph["delta"],
                json.dumps(bridges),
            )

    async def written_periods(self, kind: str) -> set[date]:
        rows = await self._pool.fetch("SELECT period_start FROM period_graphs WHERE period_kind = $1", kind)
        return {r["period_start"] for r in rows}

    async def employee_periods(self, employee: str, kind: str, start: date, end: date) -> list[dict[str, Any]]:
        return await self._series(
            "employee_period_metrics", "employee", ["team", *NUMERIC_METRICS], employee, kind, start, end
        )

    async def team_periods(self, team: str, kind: str, start: date, end: date) -> list[dict[str, Any]]:
        return await self._series(
            "team_period_metrics", "team", ["members", "withheld", *TEAM_FIGURES], team, kind, start, end
        )

    async def _series(
        self, table: str, key_column: str, columns: list[str], key: str, kind: str, start: date, end: date
    ) -> list[dict[str, Any]]:
        """One person's or team's closed periods in ``[start, end)``, oldest first."""
        rows = await self._pool.fetch(
            f"""SELECT period_start, {", ".join(columns)} FROM {table}
                 WHERE {key_column} = $1 AND period_kind = $2 AND period_start >= $3 AND period_start < $4
                 ORDER BY period_start""",
            key,
            kind,
            start,
            end,
        )
        return [dict(r) for r in rows]

    async def teams_in_period(self, kind: str, start: date) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            f"""SELECT period_start, team, members, withheld, {", ".join(TEAM_FIGURES)} FROM team_period_metrics
                 WHERE period_kind = $1 AND period_start = $2 ORDER BY team""",
            kind,
            start,
        )
        return [dict(r) for r in rows]

    async def period_graphs(self, kind: str, start: date, end: date) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            """SELECT period_start, period_end, people, ties, dropped_pairs, mode, pivots, epsilon, delta, bridges
                 FROM period_graphs
                WHERE period_kind = $1 AND period_start >= $2 AND period_start < $3
                ORDER BY period_start""",
            kind,
            start,
            end,
        )
        return [{**dict(r), "bridges": json.loads(r["bridges"])} for r in rows]

    # ---- back-fill runs -----------------------------------------------------------------

    async def start_backfill(self, kind: str, first: date, last: date, total: int) -> int:
        async with self._pool.acquire() as conn:
            return int(
                await conn.fetchval(
                    """INSERT INTO period_backfill_runs (period_kind, first_start, last_start, total, status)
                       VALUES ($1, $2, $3, $4, 'running') RETURNING run_id""",
                    kind,
                    first,
                    last,
                    total,
                )
            )

    async def backfill_progress(self, run_id: int, done: int) -> None:
        await self._pool.execute("UPDATE period_backfill_runs SET done = $2 WHERE run_id = $1", run_id, done)

    async def finish_backfill(self, run_id: int, status: str, error: str | None = None) -> None:
        await self._pool.execute(
            """UPDATE period_backfill_runs SET status = $2, error = $3, finished_at = clock_timestamp()
                WHERE run_id = $1""",
            run_id,
            status,
            error,
        )

    async def backfill_run(self, run_id: int) -> dict[str, Any] | None:
        row = await self._pool.fetchrow("SELECT * FROM period_backfill_runs WHERE run_id = $1", run_id)
        return dict(row) if row else None

    async def backfill_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = await self._pool.fetch("SELECT * FROM period_backfill_runs ORDER BY run_id DESC LIMIT $1", limit)
        return [dict(r) for r in rows]
