"""PostgreSQL side of erasing one person: the ``erasures`` record, the ledger, metric history
(per-person rows deleted, team series recomputed without them), outcomes, attributes, and JSON
columns that may quote a pseudonym. Every step is idempotent (a retried activity repeats it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from shared.adapters.postgres.ledger_maintenance import Recomputed, recompute_totals
from shared.adapters.postgres.metrics_store import HOURLY_SUMS_FROM_TEAM, TEAM_SUMS_FROM_EMPLOYEES
from shared.adapters.postgres.pool import PgPool, rows_affected
from shared.adapters.postgres.rows import row_as
from shared.domain.metrics import NULLABLE_METRICS, NUMERIC_METRICS

ERASED = "p_erased"  # what a pseudonym quoted inside JSON becomes
_SUMS = ", ".join(f"sum_{m}" for m in NUMERIC_METRICS)
_TEAM_FROM_EMPLOYEES = TEAM_SUMS_FROM_EMPLOYEES  # what metrics_after_write_teams() writes (migration 0012)
_HOURLY_FROM_TEAM = HOURLY_SUMS_FROM_TEAM
_SUBTRACT = ", ".join(
    [f"sum_{m} = h.sum_{m} - coalesce(e.sum_{m}, 0)" for m in NUMERIC_METRICS]
    + [f"n_{m} = h.n_{m} - e.n_{m}" for m in NULLABLE_METRICS]
)
# JSON columns that may quote a pseudonym (summaries of bridges, intervention targets, analyses)
JSON_COLUMNS: tuple[tuple[str, str], ...] = (
    ("interventions", "summary"),
    ("analyses", "spec"),
    ("analyses", "result"),
    ("analyses", "provenance"),
    ("metrics_summaries", "bridges"),
    ("period_graphs", "bridges"),
)
# tables keyed by the person: deleted outright
PERSON_TABLES: tuple[tuple[str, str], ...] = (
    ("outcomes", "employee"),
    ("employee_attributes", "employee"),
    ("employee_period_metrics", "employee"),
)


@dataclass(frozen=True)
class ErasureRow:
    id: str
    subject: str | None
    status: str
    requested_by: str
    workflow_id: str | None
    report: dict[str, Any]
    error: str | None
    created_at: datetime
    completed_at: datetime | None


def _row(r: asyncpg.Record) -> ErasureRow:
    return row_as(ErasureRow, r, json_columns=("report",))


class ErasureStore:
    def __init__(self, pool: PgPool) -> None:
        self._pool = pool

    # ---- the erasure record -----------------------------------------------------------

    async def create(self, erasure_id: str, subject: str, requested_by: str, workflow_id: str) -> ErasureRow:
        row = await self._pool.fetchrow(
            """INSERT INTO erasures (id, subject, status, requested_by, workflow_id)
               VALUES ($1, $2, 'queued', $3, $4) RETURNING *""",
            erasure_id,
            subject,
            requested_by,
            workflow_id,
        )
        return _row(row)

    async def get(self, erasure_id: str) -> ErasureRow | None:
        row = await self._pool.fetchrow("SELECT * FROM erasures WHERE id = $1", erasure_id)
        return _row(row) if row else None

    async def running_for(self, subject: str) -> ErasureRow | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM erasures WHERE subject = $1 AND status IN ('queued', 'running')", subject
        )
        return _row(row) if row else None

    async def step_done(self, erasure_id: str, step: str, result: dict[str, Any]) -> None:
        await self._pool.execute(
            """UPDATE erasures SET status = 'running', report = report || jsonb_build_object($2::text, $3::jsonb)
               WHERE id = $1""",
            erasure_id,
            step,
            json.dumps(result),
        )

    async def finish(self, erasure_id: str, status: str, error: str | None = None) -> ErasureRow:
        """Done: the subject is forgotten here too (only the id and the counts remain)."""
        row = await self._pool.fetchrow(
            """UPDATE erasures SET status = $2, error = $3, subject = NULL, completed_at = now()
               WHERE id = $1 RETURNING *""",
            erasure_id,
            status,
            error,
        )
        return _row(row)

    # ---- the ledger ---------------------------------------------------------------------

    async def erase_ledger(self, person: str) -> tuple[int, Recomputed]:
        """Delete the person's interactions and totals; recompute the counterparts' totals."""
        async with self._pool.acquire() as conn, conn.transaction():
            pairs = [
                (r["src"], r["dst"])
                for r in await conn.fetch(
                    """SELECT src, dst FROM pair_totals WHERE src = $1
                       UNION SELECT src, dst FROM pair_totals WHERE dst = $1""",
                    person,
                )
            ]
            deleted = rows_affected(await conn.execute("DELETE FROM interactions WHERE src = $1 OR dst = $1", person))
            others = sorted({p for pair in pairs for p in pair} - {person})
            changed = await recompute_totals(conn, pairs, others)
            await conn.execute("DELETE FROM person_totals WHERE person = $1", person)
        changed.people = [p for p in changed.people if p.id != person]
        return deleted, changed

    # ---- metric history -------------------------------------------------------------------

    async def erase_history(self, person: str) -> dict[str, int]:
        """Delete the person's history rows and recompute the team series they were part of:
        raw team rows are rebuilt from the remaining people; hourly team rollups are rebuilt from
        the raw team rows where those are still kept, and otherwise have the person's own
        hourly sums subtracted (members_min lowered by one: a conservative bound, so a team
        that may have dropped under the minimum group size is withheld)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """CREATE TEMP TABLE er_times ON COMMIT DROP AS
                   SELECT DISTINCT time, team FROM employee_metrics WHERE employee = $1 AND team IS NOT NULL""",
                person,
            )
            await conn.execute(
                f"""CREATE TEMP TABLE er_hourly ON COMMIT DROP AS
                    SELECT bucket, team, n, {_SUMS}, n_cross_team_ratio, n_after_hours_share
                      FROM employee_metrics_hourly WHERE employee = $1 AND team IS NOT NULL""",
                person,
            )
            raw = rows_affected(await conn.execute("DELETE FROM employee_metrics WHERE employee = $1", person))
            hourly = rows_affected(
                await conn.execute("DELETE FROM employee_metrics_hourly WHERE employee = $1", person)
            )
            await conn.execute("DELETE FROM team_metrics m USING er_times t WHERE m.time = t.time AND m.team = t.team")
            team_raw = rows_affected(
                await conn.execute(
                    f"""INSERT INTO team_metrics (time, team, members, {_SUMS}, n_cross_team_ratio,
                                                 n_after_hours_share)
                        SELECT e.time, e.team, count(*), {_TEAM_FROM_EMPLOYEES}
                          FROM employee_metrics e JOIN er_times t ON e.time = t.time AND e.team = t.team
                         GROUP BY e.time, e.team"""
                )
            )
            # rollup buckets whose raw team rows are kept: rebuilt exactly
            await conn.execute(
                """CREATE TEMP TABLE er_rebuild ON COMMIT DROP AS
                   SELECT DISTINCT date_trunc('hour', time, 'UTC') AS bucket, team FROM er_times"""
            )
            await conn.execute(
                "DELETE FROM team_metrics_hourly h USING er_rebuild r WHERE h.bucket = r.bucket AND h.team = r.team"
            )
            await conn.execute(
                f"""INSERT INTO team_metrics_hourly (bucket, team, refreshes, members_min, members_sum, {_SUMS},
                                                    n_cross_team_ratio, n_after_hours_share)
                    SELECT date_trunc('hour', m.time, 'UTC'), m.team, count(*), min(m.members), sum(m.members),
                           {_HOURLY_FROM_TEAM}
                      FROM team_metrics m JOIN er_rebuild r
                        ON date_trunc('hour', m.time, 'UTC') = r.bucket AND m.team = r.team
                     GROUP BY 1, 2"""
            )
            # older buckets (raw rows past retention): subtract the person's own sums
            subtracted = rows_affected(
                await conn.execute(
                    f"""UPDATE team_metrics_hourly h SET members_sum = h.members_sum - e.n,
                               members_min = greatest(h.members_min - 1, 0), {_SUBTRACT}
                          FROM er_hourly e
                         WHERE h.bucket = e.bucket AND h.team = e.team
                           AND NOT EXISTS (SELECT 1 FROM er_rebuild r WHERE r.bucket = e.bucket AND r.team = e.team)"""
                )
            )
        return {
            "employee_metrics": raw,
            "employee_metrics_hourly": hourly,
            "team_points_recomputed": team_raw,
            "team_rollups_adjusted": subtracted,
        }

    async def person_periods(self, person: str) -> list[tuple[str, datetime]]:
        rows = await self._pool.fetch(
            "SELECT DISTINCT period_kind, period_start FROM employee_period_metrics WHERE employee = $1", person
        )
        return [(r["period_kind"], r["period_start"]) for r in rows]

    # ---- everything else keyed by or quoting the person ----------------------------------

    async def erase_rows_and_quotes(self, person: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        async with self._pool.acquire() as conn, conn.transaction():
            for table, column in PERSON_TABLES:
                counts[table] = rows_affected(await conn.execute(f"DELETE FROM {table} WHERE {column} = $1", person))
            for table, column in JSON_COLUMNS:
                counts[f"{table}.{column}"] = rows_affected(
                    await conn.execute(
                        f"""UPDATE {table} SET {column} = replace({column}::text, $1, $2)::jsonb
                            WHERE strpos({column}::text, $1) > 0""",
                        person,
                        ERASED,
                    )
                )
            counts["exports.params"] = rows_affected(
                await conn.execute(
                    "UPDATE exports SET params = params - 'employee' WHERE params->>'employee' = $1", person
                )
            )
        return counts

    async def drop_older_summaries(self, keep_run_id: int) -> int:
        """Summaries before the post-erasure refresh: their team means still include the person
        (a difference between two summaries would reveal their figures)."""
        async with self._pool.acquire() as conn:
            return rows_affected(await conn.execute("DELETE FROM metrics_summaries WHERE run_id <> $1", keep_run_id))

    async def traces(self, person: str) -> dict[str, int]:
        """Every table of the database whose rows, as text, contain the pseudonym (the erasure's
        own check, before its own record forgets the subject; the tests scan independently)."""
        async with self._pool.acquire() as conn:
            tables = await conn.fetch(
                """SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                    AND n.nspname NOT LIKE 'pg_toast%' AND NOT c.relispartition
                    AND c.relname <> 'erasures'"""
            )
            found: dict[str, int] = {}
            for t in tables:
                n = await conn.fetchval(f"SELECT count(*) FROM {t['name']} AS x WHERE strpos(x::text, $1) > 0", person)
                if n:
                    found[t["name"]] = int(n)
        return found
