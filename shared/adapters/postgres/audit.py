"""The intervention audit log (append-only, HMAC-chained, anchored outside PostgreSQL) and the
interventions projection.

Why each part is there (the threat model is in docs/security.md):

* Privileges. Migrations run as the owner role; the application role may only INSERT and SELECT
  this table (``migrations.grant_app_role``), so the writer cannot UPDATE, DELETE, TRUNCATE,
  ALTER it or disable its immutability trigger.
* The chain (keyed hashing, canonical encoding, anchors, personal data outside the hash) and
  its verification: shared/adapters/postgres/audit_chain.py.

Appends are serialised by a transaction-scoped advisory lock, so two writers can never chain
onto the same previous row; ``event_key`` makes an append idempotent (a retried activity
writes its row once). The hash covers PostgreSQL's own canonical ``jsonb::text`` of the details
and the timestamp as epoch microseconds, so the value hashed is exactly the value stored.
Rows written before the keyed chain (``chain = 1``, plain SHA-256 over newline-joined fields)
still verify, but only as a prefix: a legacy row after a keyed one is a forgery.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import asyncpg

from shared.adapters.postgres.audit_chain import (
    GENESIS,
    KEYED_CHAIN,
    Anchor,
    AuditKeyMissing,
    VerifyReport,
    epoch_us,
    head,
    personal_digest,
    row_hash,
    verify,
)
from shared.adapters.postgres.pool import PgPool, rows_affected

_APPEND_LOCK = 7_426_030


@dataclass(frozen=True)
class AuditRecord:
    id: int
    event_key: str
    intervention_id: str
    event: str
    actor: str
    occurred_at: datetime
    details: dict[str, Any]  # as read: the hashed details with the personal fields (unless erased) merged in
    prev_hash: str
    row_hash: str
    personal: dict[str, Any] | None = None  # the part stored outside the chain (None: none, or erased)

    def to_json(self) -> dict[str, Any]:
        """The chained record as shown to readers: the personal part is already merged into ``details``."""
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "personal"}
        return shown | {"occurred_at": self.occurred_at.isoformat()}


_COLUMNS = """a.id, a.event_key, a.intervention_id, a.event, a.actor, a.occurred_at, a.details::text AS details,
              a.prev_hash, a.row_hash, p.payload::text AS personal"""
_FROM = "intervention_audit_log a LEFT JOIN intervention_audit_personal p ON p.ref = a.personal_ref"


def _record(row: asyncpg.Record) -> AuditRecord:
    personal = json.loads(row["personal"]) if row["personal"] is not None else None
    return AuditRecord(
        id=row["id"],
        event_key=row["event_key"],
        intervention_id=row["intervention_id"],
        event=row["event"],
        actor=row["actor"],
        occurred_at=row["occurred_at"],
        details={**json.loads(row["details"]), **(personal or {})},
        prev_hash=row["prev_hash"],
        row_hash=row["row_hash"],
        personal=personal,
    )


async def append(
    conn: asyncpg.Connection,
    *,
    key: bytes,
    event_key: str,
    intervention_id: str,
    event: str,
    actor: str,
    details: dict[str, Any],
    personal: Mapping[str, Any] | None = None,
    subjects: Sequence[str] = (),
    occurred_at: datetime | None = None,
    projection: dict[str, Any] | None = None,
) -> AuditRecord:
    """Append one row (once per ``event_key``) and upsert the projection, in one transaction.

    ``details`` is hashed and permanent: never put a person's pseudonym in it. ``personal`` and
    ``subjects`` (the pseudonyms the row refers to) are stored outside the chain (erasable).
    """
    if not key:
        raise AuditKeyMissing()
    at = (occurred_at or datetime.now(UTC)).astimezone(UTC)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _APPEND_LOCK)
        # one round trip: is this step already recorded, the chain's head, and PostgreSQL's
        # canonical text of the details and personal payload (what gets stored, so what gets hashed)
        head = await conn.fetchrow(
            """SELECT (SELECT id FROM intervention_audit_log WHERE event_key = $1) AS existing,
                      (SELECT row_hash FROM intervention_audit_log ORDER BY id DESC LIMIT 1) AS prev,
                      $2::jsonb::text AS canonical, $3::jsonb::text AS personal""",
            event_key,
            json.dumps(details, default=str),
            json.dumps(dict(personal), default=str) if personal is not None else None,
        )
        if head["existing"] is not None:
            existing = await conn.fetchrow(f"SELECT {_COLUMNS} FROM {_FROM} WHERE a.id = $1", head["existing"])
            return _record(existing)
        prev = head["prev"] or GENESIS
        canonical = head["canonical"]
        ref: str | None = None
        digest: str | None = None
        if head["personal"] is not None:
            ref, salt = uuid.uuid4().hex, os.urandom(32)
            digest = personal_digest(salt, head["personal"])
            await conn.execute(
                """INSERT INTO intervention_audit_personal (ref, salt, payload, subjects)
                   VALUES ($1, $2, $3::jsonb, $4)""",
                ref,
                salt,
                head["personal"],
                sorted(set(subjects)),
            )
        chained = row_hash(key, prev, event_key, intervention_id, event, actor, epoch_us(at), canonical, ref, digest)
        new_id = await conn.fetchval(
            """INSERT INTO intervention_audit_log (event_key, intervention_id, event, actor, occurred_at, details,
                   prev_hash, row_hash, chain, personal_ref, personal_digest)
               VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11)
               RETURNING id""",
            event_key,
            intervention_id,
            event,
            actor,
            at,
            canonical,
            prev,
            chained,
            KEYED_CHAIN,
            ref,
            digest,
        )
        if projection is not None:
            await upsert_projection(conn, projection, at)
        row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM {_FROM} WHERE a.id = $1", new_id)
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
        f"""SELECT {_COLUMNS} FROM {_FROM}
            WHERE ($1::text IS NULL OR a.intervention_id = $1)
              AND ($2::text IS NULL OR a.actor = $2)
              AND ($3::timestamptz IS NULL OR a.occurred_at >= $3)
              AND ($4::timestamptz IS NULL OR a.occurred_at < $4)
              AND ($5::text[] IS NULL OR a.event = ANY($5))
            ORDER BY a.id LIMIT $6""",
        intervention_id,
        actor,
        since,
        until,
        events,
        limit,
    )
    return [_record(r) for r in rows]


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
    """The pool-bound facade the activities and the API use.

    ``chain_key`` is needed to append and to verify; readers (queries, projections) need none.
    """

    def __init__(self, pg: PgPool, chain_key: bytes | None = None) -> None:
        self._pg = pg
        self._key = chain_key or b""

    @property
    def pg(self) -> PgPool:
        return self._pg

    async def append(self, **kwargs: Any) -> AuditRecord:
        async with self._pg.acquire() as conn:
            return await append(conn, key=self._key, **kwargs)

    async def query(self, **kwargs: Any) -> list[AuditRecord]:
        async with self._pg.acquire() as conn:
            return await query(conn, **kwargs)

    async def head(self) -> Anchor | None:
        async with self._pg.acquire() as conn:
            return await head(conn)

    async def verify(self, expect_head: str | None = None, anchors: Sequence[Anchor] = ()) -> VerifyReport:
        async with self._pg.acquire() as conn:
            return await verify(conn, self._key, anchors=anchors, expect_head=expect_head)

    async def forget_subject(self, pseudonym: str) -> int:
        """Delete the personal payloads (salts included) of every row naming ``pseudonym``."""
        async with self._pg.acquire() as conn:
            return rows_affected(
                await conn.execute(
                    "DELETE FROM intervention_audit_personal WHERE subjects @> ARRAY[$1]::text[]", pseudonym
                )
            )

    async def get(self, intervention_id: str) -> dict[str, Any] | None:
        async with self._pg.acquire() as conn:
            return await get_projection(conn, intervention_id)

    async def list(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        async with self._pg.acquire() as conn:
            return await list_projections(conn, status, limit)
