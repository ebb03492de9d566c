"""The intervention audit log (append-only, hash-chained) and the interventions projection.

Appends are serialised by a transaction-scoped advisory lock, so two writers can never chain
onto the same previous row; ``event_key`` makes an append idempotent (a retried activity
writes its row once). The hash covers PostgreSQL's own canonical ``jsonb::text`` of the details
and the timestamp as epoch microseconds, so the value hashed is exactly the value stored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from shared.adapters.postgres.pool import PgPool

GENESIS = "0" * 64
_APPEND_LOCK = 7_426_030
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_us(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def row_hash(prev: str, event_key: str, intervention_id: str, event: str, actor: str, at_us: int, details: str) -> str:
    """The chain rule, in one place (used by append and verify)."""
    text = "\n".join([prev, event_key, intervention_id, event, actor, str(at_us), details])
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    id: int
    event_key: str
    intervention_id: str
    event: str
    actor: str
    occurred_at: datetime
    details: dict[str, Any]
    prev_hash: str
    row_hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event_key": self.event_key,
            "intervention_id": self.intervention_id,
            "event": self.event,
            "actor": self.actor,
            "occurred_at": self.occurred_at.isoformat(),
            "details": self.details,
            "prev_hash": self.prev_hash,
            "row_hash": self.row_hash,
        }


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    rows: int
    head: str
    first_bad_id: int | None = None
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "head": self.head,
            "first_bad_id": self.first_bad_id,
            "problem": self.problem,
        }


_COLUMNS = "id, event_key, intervention_id, event, actor, occurred_at, details::text AS details, prev_hash, row_hash"


def _record(row: asyncpg.Record) -> AuditRecord:
    return AuditRecord(
        id=row["id"],
        event_key=row["event_key"],
        intervention_id=row["intervention_id"],
        event=row["event"],
        actor=row["actor"],
        occurred_at=row["occurred_at"],
        details=json.loads(row["details"]),
        prev_hash=row["prev_hash"],
        row_hash=row["row_hash"],
    )


async def append(
    conn: asyncpg.Connection,
    *,
    event_key: str,
    intervention_id: str,
    event: str,
    actor: str,
    details: dict[str, Any],
    occurred_at: datetime | None = None,
    projection: dict[str, Any] | None = None,
) -> AuditRecord:
    """Append one row (once per ``event_key``) and upsert the projection, in one transaction."""
    at = (occurred_at or datetime.now(UTC)).astimezone(UTC)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _APPEND_LOCK)
        # one round trip: is this step already recorded, the chain's head, and PostgreSQL's
        # canonical text of the details (what gets stored, so what gets hashed)
        head = await conn.fetchrow(
            """SELECT (SELECT id FROM intervention_audit_log WHERE event_key = $1) AS existing,
                      (SELECT row_hash FROM intervention_audit_log ORDER BY id DESC LIMIT 1) AS prev,
                      $2::jsonb::text AS canonical""",
            event_key,
            json.dumps(details, default=str),
        )
        if head["existing"] is not None:
            existing = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM intervention_audit_log WHERE id = $1", head["existing"]
            )
            return _record(existing)
        prev = head["prev"] or GENESIS
        canonical = head["canonical"]
        digest = row_hash(prev, event_key, intervention_id, event, actor, epoch_us(at), canonical)
        row = await conn.fetchrow(
            f"""INSERT INTO intervention_audit_log
                   (event_key, intervention_id, event, actor, occurred_at, details, prev_hash, row_hash)
               VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)
               RETURNING {_COLUMNS}""",
            event_key,
            intervention_id,
            event,
            actor,
            at,
            canonical,
            prev,
            digest,
        )
        if projection is not None:
            await upsert_projection(conn, projection, at)
        return _record(row)


async def upsert_projection(conn: asyncpg.Connection, p: dict[str, Any], at: datetime) -> None:
    await conn.execute(
        """INSERT INTO interventions (intervention_id, workflow_id, type, impact, status, proposed_by,
               proposed_at, approval_deadline, decided_by, decision_reason, updated_at, summary)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb)
           ON CONFLICT (intervention_id) DO UPDATE SET
               status = EXCLUDED.status,
               approval_deadline = EXCLUDED.approval_deadline,
               decided_by = COALESCE(EXCLUDED.decided_by, interventions.decided_by),
               decision_reason = COALESCE(EXCLUDED.decision_reason, interventions.decision_reason),
               updated_at = EXCLUDED.updated_at,
               summary = EXCLUDED.summary""",
        p["intervention_id"],
        p["workflow_id"],
        p["type"],
        p["impact"],
        p["status"],
        p["proposed_by"],
        datetime.fromisoformat(p["proposed_at"]),
        datetime.fromisoformat(p["approval_deadline"]) if p.get("approval_deadline") else None,
        p.get("decided_by"),
        p.get("decision_reason"),
        at,
        json.dumps(p.get("summary", {}), default=str),
    )


async def query(
    conn: asyncpg.Connection,
    *,
    intervention_id: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    events: list[str] | None = None,
    limit: int = 500,
) -> list[AuditRecord]:
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM intervention_audit_log
            WHERE ($1::text IS NULL OR intervention_id = $1)
              AND ($2::text IS NULL OR actor = $2)
              AND ($3::timestamptz IS NULL OR occurred_at >= $3)
              AND ($4::timestamptz IS NULL OR occurred_at < $4)
              AND ($5::text[] IS NULL OR event = ANY($5))
            ORDER BY id LIMIT $6""",
        intervention_id,
        actor,
        since,
        until,
        events,
        limit,
    )
    return [_record(r) for r in rows]


async def verify(conn: asyncpg.Connection, expect_head: str | None = None, batch: int = 5000) -> VerifyReport:
    """Walk the chain in id order, recomputing every hash; the first broken link is reported.

    Detects a modified row (its hash no longer matches), a deleted or inserted row (the next
    row's ``prev_hash`` no longer matches) and, given an externally kept ``expect_head``, a
    truncated tail or a wholesale re-chained log.
    """
    prev, rows, last_id = GENESIS, 0, 0
    while True:
        chunk = await conn.fetch(
            """SELECT id, event_key, intervention_id, event, actor,
                      (extract(epoch FROM occurred_at) * 1000000)::bigint AS at_us,
                      details::text AS details, prev_hash, row_hash
               FROM intervention_audit_log WHERE id > $1 ORDER BY id LIMIT $2""",
            last_id,
            batch,
        )
        if not chunk:
            break
        for r in chunk:
            rows += 1
            if r["prev_hash"] != prev:
                return VerifyReport(False, rows, prev, r["id"], "prev_hash does not match the previous row")
            expected = row_hash(
                prev, r["event_key"], r["intervention_id"], r["event"], r["actor"], r["at_us"], r["details"]
            )
            if expected != r["row_hash"]:
                return VerifyReport(False, rows, prev, r["id"], "row content does not match its hash")
            prev, last_id = r["row_hash"], r["id"]
    if expect_head is not None and expect_head != prev:
        return VerifyReport(False, rows, prev, None, "chain head differs from the expected head")
    return VerifyReport(True, rows, prev)


async def get_projection(conn: asyncpg.Connection, intervention_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM interventions WHERE intervention_id = $1", intervention_id)
    return _projection(row) if row else None


async def list_projections(
    conn: asyncpg.Connection, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT * FROM interventions WHERE ($1::text IS NULL OR status = $1)
           ORDER BY proposed_at DESC LIMIT $2""",
        status,
        limit,
    )
    return [_projection(r) for r in rows]


def _projection(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    out["summary"] = json.loads(out["summary"]) if isinstance(out["summary"], str) else out["summary"]
    return out


class AuditStore:
    """The pool-bound facade the activities and the API use."""

    def __init__(self, pg: PgPool) -> None:
        self._pg = pg

    @property
    def pg(self) -> PgPool:
        return self._pg

    async def append(self, **kwargs: Any) -> AuditRecord:
        async with self._pg.acquire() as conn:
            return await append(conn, **kwargs)

    async def query(self, **kwargs: Any) -> list[AuditRecord]:
        async with self._pg.acquire() as conn:
            return await query(conn, **kwargs)

    async def verify(self, expect_head: str | None = None) -> VerifyReport:
        async with self._pg.acquire() as conn:
            return await verify(conn, expect_head)

    async def get(self, intervention_id: str) -> dict[str, Any] | None:
        async with self._pg.acquire() as conn:
            return await get_projection(conn, intervention_id)

    async def list(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        async with self._pg.acquire() as conn:
            return await list_projections(conn, status, limit)
