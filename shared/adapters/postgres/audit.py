"""The intervention audit log (append-only, HMAC-chained, anchored outside PostgreSQL) and the
interventions projection.

Why each part is there (the threat model is in docs/security.md):

* Privileges. Migrations run as the owner role; the application role may only INSERT and SELECT
  this table (``migrations.grant_app_role``), so the writer cannot UPDATE, DELETE, TRUNCATE,
  ALTER it or disable its immutability trigger.
* The chain is keyed: ``row_hash = HMAC-SHA256(chain key, canonical fields)``. The key lives in
  the application's secrets (``CO_AUDIT_CHAIN_KEY_FILE``) and is never sent to the database, so
  whoever can only write SQL cannot recompute a chain after editing rows.
* Canonical encoding: every hashed field is length-prefixed (:func:`encode_fields`), so no
  choice of field values (an actor containing a newline, say) can make two different rows
  hash alike.
* Anchors: ``causal-organism audit-anchor`` periodically copies the head (id, hash) to an S3
  object written with credentials the application does not have; :func:`verify` proves every
  anchored head is still in the chain, at its id, with its hash, so a cut tail or a rewritten
  past fails even though the remaining rows chain correctly.
* Personal data lives outside the hashed payload. ``details`` (hashed) must not name people;
  the pseudonyms a row refers to go in ``personal`` (any JSON) and ``subjects`` (the list of
  pseudonyms, for finding a person's rows), stored in ``intervention_audit_personal`` under a
  random, non-identifying ``personal_ref``. The chained row hashes only the ref and
  ``HMAC-SHA256(salt, personal payload)`` with a random per-row salt kept beside the payload.
  Erasing a person deletes their personal rows (salt included): the chain still verifies, the
  remaining digest is unlinkable to any pseudonym without the salt, and while the personal row
  exists :func:`verify` proves it unaltered. A missing personal row is reported as erased.

Appends are serialised by a transaction-scoped advisory lock, so two writers can never chain
onto the same previous row; ``event_key`` makes an append idempotent (a retried activity
writes its row once). The hash covers PostgreSQL's own canonical ``jsonb::text`` of the details
and the timestamp as epoch microseconds, so the value hashed is exactly the value stored.
Rows written before the keyed chain (``chain = 1``, plain SHA-256 over newline-joined fields)
still verify, but only as a prefix: a legacy row after a keyed one is a forgery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from shared.adapters.postgres.pool import PgPool

GENESIS = "0" * 64
LEGACY_CHAIN, KEYED_CHAIN = 1, 2
_DOMAIN = b"causal-organism/intervention-audit/v2"
_APPEND_LOCK = 7_426_030
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class AuditKeyMissing(RuntimeError):
    """Appending or verifying needs the chain key (CO_AUDIT_CHAIN_KEY or CO_AUDIT_CHAIN_KEY_FILE)."""

    def __init__(self) -> None:
        super().__init__("the audit chain key is not configured: set CO_AUDIT_CHAIN_KEY or CO_AUDIT_CHAIN_KEY_FILE")


def epoch_us(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def encode_fields(*fields: str | int) -> bytes:
    """Length-prefixed encoding: each field as 8-byte big-endian length + UTF-8 bytes."""
    out = bytearray(_DOMAIN)
    for value in fields:
        data = str(value).encode()
        out += len(data).to_bytes(8, "big") + data
    return bytes(out)


def legacy_row_hash(
    prev: str, event_key: str, intervention_id: str, event: str, actor: str, at_us: int, details: str
) -> str:
    """The pre-key chain rule (rows with ``chain = 1``), kept so old logs still verify."""
    text = "\n".join([prev, event_key, intervention_id, event, actor, str(at_us), details])
    return hashlib.sha256(text.encode()).hexdigest()


def row_hash(
    key: bytes,
    prev: str,
    event_key: str,
    intervention_id: str,
    event: str,
    actor: str,
    at_us: int,
    details: str,
    personal_ref: str | None = None,
    personal_digest: str | None = None,
) -> str:
    """The keyed chain rule, in one place (used by append and verify)."""
    message = encode_fields(
        prev, event_key, intervention_id, event, actor, at_us, details, personal_ref or "", personal_digest or ""
    )
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def personal_digest(salt: bytes, payload: str) -> str:
    """Commitment to a personal payload; unlinkable to it once the salt is erased."""
    return hmac.new(salt, payload.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Anchor:
    """A chain head copied outside PostgreSQL: row ``id`` had hash ``row_hash``."""

    id: int
    row_hash: str


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
    head_id: int = 0
    anchors_checked: int = 0
    personal_erased: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "head": self.head,
            "head_id": self.head_id,
            "first_bad_id": self.first_bad_id,
            "problem": self.problem,
            "anchors_checked": self.anchors_checked,
            "personal_erased": self.personal_erased,
        }


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


async def head(conn: asyncpg.Connection) -> Anchor | None:
    """The chain's current head (what an anchor records), or None for an empty log."""
    row = await conn.fetchrow("SELECT id, row_hash FROM intervention_audit_log ORDER BY id DESC LIMIT 1")
    return Anchor(row["id"], row["row_hash"]) if row else None


def _fail(
    rows: int, prev: str, prev_id: int, bad_id: int | None, problem: str, counts: tuple[int, int]
) -> VerifyReport:
    return VerifyReport(
        False, rows, prev, bad_id, problem, head_id=prev_id, anchors_checked=counts[0], personal_erased=counts[1]
    )


async def verify(
    conn: asyncpg.Connection,
    key: bytes,
    *,
    anchors: Sequence[Anchor] = (),
    expect_head: str | None = None,
    batch: int = 5000,
) -> VerifyReport:
    """Walk the chain in id order, recomputing every hash; the first broken link is reported.

    Detects a modified row (its hash no longer matches), a deleted or inserted row (the next
    row's ``prev_hash`` no longer matches), an altered personal payload (its digest no longer
    matches), and, through the anchors (or a head kept by the caller, ``expect_head``), a cut
    tail or a re-chained past: every anchored head must still be in the chain with its hash.
    """
    if not key:
        raise AuditKeyMissing()
    by_id = {a.id: a.row_hash for a in anchors}
    prev, prev_id, rows, erased, seen_keyed, expect_seen, checked = GENESIS, 0, 0, 0, False, False, 0
    while True:
        chunk = await conn.fetch(
            """SELECT a.id, a.event_key, a.intervention_id, a.event, a.actor,
                      (extract(epoch FROM a.occurred_at) * 1000000)::bigint AS at_us,
                      a.details::text AS details, a.prev_hash, a.row_hash, a.chain,
                      a.personal_ref, a.personal_digest, p.ref AS found_ref, p.salt, p.payload::text AS personal
               FROM intervention_audit_log a LEFT JOIN intervention_audit_personal p ON p.ref = a.personal_ref
               WHERE a.id > $1 ORDER BY a.id LIMIT $2""",
            prev_id,
            batch,
        )
        if not chunk:
            break
        for r in chunk:
            rows += 1
            counts = (checked, erased)
            if r["prev_hash"] != prev:
                return _fail(rows, prev, prev_id, r["id"], "prev_hash does not match the previous row", counts)
            if r["chain"] == LEGACY_CHAIN and not seen_keyed and r["personal_ref"] is None:
                expected = legacy_row_hash(
                    prev, r["event_key"], r["intervention_id"], r["event"], r["actor"], r["at_us"], r["details"]
                )
            elif r["chain"] == KEYED_CHAIN:
                seen_keyed = True
                expected = row_hash(
                    key,
                    prev,
                    r["event_key"],
                    r["intervention_id"],
                    r["event"],
                    r["actor"],
                    r["at_us"],
                    r["details"],
                    r["personal_ref"],
                    r["personal_digest"],
                )
            else:
                return _fail(rows, prev, prev_id, r["id"], "row content does not match its hash", counts)
            if not hmac.compare_digest(expected, r["row_hash"]):
                return _fail(rows, prev, prev_id, r["id"], "row content does not match its hash", counts)
            if r["personal_ref"] is not None:
                if r["found_ref"] is None:
                    erased += 1
                elif personal_digest(bytes(r["salt"]), r["personal"]) != r["personal_digest"]:
                    return _fail(rows, prev, prev_id, r["id"], "personal data does not match its digest", counts)
            if r["id"] in by_id:
                if by_id[r["id"]] != r["row_hash"]:
                    return _fail(rows, prev, prev_id, r["id"], "an anchored head is not in the chain", counts)
                checked += 1
            expect_seen = expect_seen or r["row_hash"] == expect_head
            prev, prev_id = r["row_hash"], r["id"]
    counts = (checked, erased)
    if checked < len(by_id):
        missing = min((i for i in by_id if by_id[i] and i > prev_id), default=None)
        return _fail(rows, prev, prev_id, missing, "an anchored head is not in the chain", counts)
    if expect_head is not None and expect_head != GENESIS and not expect_seen:
        return _fail(rows, prev, prev_id, None, "the expected head is not in the chain", counts)
    return VerifyReport(True, rows, prev, head_id=prev_id, anchors_checked=checked, personal_erased=erased)


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

    async def get(self, intervention_id: str) -> dict[str, Any] | None:
        async with self._pg.acquire() as conn:
            return await get_projection(conn, intervention_id)

    async def list(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        async with self._pg.acquire() as conn:
            return await list_projections(conn, status, limit)
