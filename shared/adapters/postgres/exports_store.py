"""The ``exports`` table (migration 0050): requests, status, progress and object lifetimes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from shared.adapters.postgres.pool import PgPool
from shared.adapters.postgres.rows import row_as


@dataclass(frozen=True)
class ExportRow:
    id: str
    kind: str
    params: dict[str, Any]
    requested_by: str
    roles: list[str]
    compress: bool
    status: str
    rows: int
    bytes: int
    total_rows: int | None
    object_key: str | None
    workflow_id: str | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    delete_after: datetime | None
    deleted_at: datetime | None

    @property
    def percent(self) -> float | None:
        if self.status == "succeeded":
            return 100.0
        if not self.total_rows:
            return None
        return round(min(100.0, 100.0 * self.rows / self.total_rows), 1)


def _row(r: asyncpg.Record) -> ExportRow:
    return row_as(ExportRow, r, json_columns=("params",))


class ExportsStore:
    def __init__(self, pool: PgPool) -> None:
        self._pool = pool

    async def create(
        self,
        export_id: str,
        kind: str,
        params: dict[str, Any],
        requested_by: str,
        roles: list[str],
        compress: bool,
        workflow_id: str,
    ) -> ExportRow:
        row = await self._pool.fetchrow(
            """INSERT INTO exports (id, kind, params, requested_by, roles, compress, status, workflow_id)
               VALUES ($1, $2, $3::jsonb, $4, $5, $6, 'queued', $7) RETURNING *""",
            export_id,
            kind,
            json.dumps(params),
            requested_by,
            roles,
            compress,
            workflow_id,
        )
        return _row(row)

    async def get(self, export_id: str) -> ExportRow | None:
        row = await self._pool.fetchrow("SELECT * FROM exports WHERE id = $1", export_id)
        return _row(row) if row else None

    async def list_for(self, requested_by: str | None, limit: int = 50) -> list[ExportRow]:
        """The requester's exports, newest first (everyone's when ``requested_by`` is None)."""
        rows = await self._pool.fetch(
            """SELECT * FROM exports WHERE ($1::text IS NULL OR requested_by = $1)
               ORDER BY created_at DESC LIMIT $2""",
            requested_by,
            limit,
        )
        return [_row(r) for r in rows]

    async def mark_running(self, export_id: str, object_key: str) -> bool:
        """queued/running -> running (a retried attempt starts over); False if it was cancelled."""
        done = await self._pool.fetchval(
            """UPDATE exports SET status = 'running', started_at = coalesce(started_at, now()),
                      rows = 0, bytes = 0, object_key = $2
               WHERE id = $1 AND status IN ('queued', 'running') RETURNING true""",
            export_id,
            object_key,
        )
        return bool(done)

    async def progress(self, export_id: str, rows: int, nbytes: int, total_rows: int | None) -> None:
        await self._pool.execute(
            "UPDATE exports SET rows = $2, bytes = $3, total_rows = $4 WHERE id = $1 AND status = 'running'",
            export_id,
            rows,
            nbytes,
            total_rows,
        )

    async def succeed(self, export_id: str, rows: int, nbytes: int, delete_after: datetime) -> bool:
        done = await self._pool.fetchval(
            """UPDATE exports SET status = 'succeeded', rows = $2, bytes = $3, total_rows = $2,
                      completed_at = now(), delete_after = $4
               WHERE id = $1 AND status = 'running' RETURNING true""",
            export_id,
            rows,
            nbytes,
            delete_after,
        )
        return bool(done)

    async def finish(self, export_id: str, status: str, error: str | None = None) -> bool:
        """queued/running -> failed or cancelled."""
        done = await self._pool.fetchval(
            """UPDATE exports SET status = $2, error = $3, completed_at = now()
               WHERE id = $1 AND status IN ('queued', 'running') RETURNING true""",
            export_id,
            status,
            error,
        )
        return bool(done)

    async def due_for_deletion(self, now: datetime, limit: int = 1000) -> list[ExportRow]:
        rows = await self._pool.fetch(
            """SELECT * FROM exports WHERE deleted_at IS NULL AND delete_after <= $1
               ORDER BY delete_after LIMIT $2""",
            now,
            limit,
        )
        return [_row(r) for r in rows]

    async def with_objects(self) -> list[ExportRow]:
        """Every export whose object may still exist (what an erasure must delete)."""
        rows = await self._pool.fetch("SELECT * FROM exports WHERE deleted_at IS NULL AND object_key IS NOT NULL")
        return [_row(r) for r in rows]

    async def mark_deleted(self, export_id: str, status: str) -> None:
        """The object is gone: ``expired`` (retention) or ``erased`` (an erasure removed it)."""
        await self._pool.execute(
            """UPDATE exports SET deleted_at = now(),
                      status = CASE WHEN status = 'succeeded' THEN $2 ELSE status END
               WHERE id = $1""",
            export_id,
            status,
        )
