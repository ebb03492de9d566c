"""The audit log's hash chain: how a row is hashed, and the walk that proves the chain intact.

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
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

GENESIS = "0" * 64
LEGACY_CHAIN, KEYED_CHAIN = 1, 2
_DOMAIN = b"causal-organism/intervention-audit/v2"
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
        return asdict(self)


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
