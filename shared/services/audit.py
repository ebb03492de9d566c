"""The audit area's one service: writing entries, reading the log, forgetting a person's
payloads, and verifying (and anchoring) the keyed chain.

Entries follow the log's design (docs/security.md, issue 11): the hashed ``details`` never name
a person; a pseudonym an entry refers to goes in ``personal``/``subjects``, outside the chain,
where an erasure deletes it (:func:`forget_person`) and the chain still verifies. The
intervention workflow appends its own steps through the store this module builds
(:func:`audit_store`), so the chain key is read in one place.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.adapters.audit_anchors import anchor_client, read_anchors, write_anchor
from shared.adapters.postgres.audit import AuditRecord, AuditStore
from shared.adapters.postgres.audit_chain import Anchor, VerifyReport
from shared.adapters.postgres.pool import PgPool
from shared.platform.resources import Resources
from shared.platform.settings import Settings

DECISION_EVENTS = ("approved", "rejected", "expired")


def audit_store(resources: Resources) -> AuditStore:
    return AuditStore(resources.pg, resources.settings.audit.key)


# ---- writing ------------------------------------------------------------------------------


async def record(
    pg: PgPool,
    key: bytes | None,
    *,
    event: str,
    actor: str,
    subject: str,
    details: dict[str, Any],
    personal: Mapping[str, Any] | None = None,
    people: Sequence[str] = (),
) -> None:
    """Append one entry for data leaving or being removed (exports, links, retention, erasures).
    ``subject`` is the record's own reference ("export:<id>", "erasure:<id>", "retention:<run>"),
    never a person's identifier; ``personal`` holds the pseudonyms the entry needs (``people``),
    erasable."""
    ref = f"{event}:{subject}:{uuid.uuid4().hex}"  # every call is its own entry
    erasable = {"personal": personal, "subjects": people}
    await AuditStore(pg, key).append(
        event_key=ref, intervention_id=subject, event=event, actor=actor, details=details, **erasable
    )


async def forget_person(pg: PgPool, pseudonym: str) -> int:
    """Delete the personal payloads (salts included) of every audit row that names ``pseudonym``;
    the chained rows keep only a random ref and an unlinkable digest. Returns rows forgotten."""
    return await AuditStore(pg).forget_subject(pseudonym)


# ---- reading ------------------------------------------------------------------------------


async def decisions(resources: Resources, limit: int) -> list[AuditRecord]:
    """Every intervention decision: approved, rejected (who and why) and expired."""
    return await audit_store(resources).query(events=list(DECISION_EVENTS), limit=limit)


async def audit_log(
    resources: Resources,
    *,
    intervention_id: str | None,
    actor: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[AuditRecord]:
    return await audit_store(resources).query(
        intervention_id=intervention_id, actor=actor, since=since, until=until, limit=limit
    )


async def verify(resources: Resources, expect_head: str | None) -> VerifyReport:
    """The chain checked with the key (no anchors: the API's and the web app's check)."""
    return await audit_store(resources).verify(expect_head)


# ---- `causal-organism audit-verify` / `audit-anchor` (settings only, no Resources) ---------


async def _one_off_store(settings: Settings) -> AuditStore:
    pool = await PgPool.connect(
        settings.postgres.dsn.get_secret_value(),
        min_size=1,
        max_size=1,
        command_timeout_s=None,
        acquire_timeout_s=10.0,
    )
    return AuditStore(pool, settings.audit.key)


@dataclass(frozen=True)
class AnchorResult:
    """One `audit-anchor` run: the verification, and the head copied to S3 (None when the chain
    does not verify or is empty; ``written`` is False when that head was already anchored)."""

    verify: VerifyReport
    head: Anchor | None = None
    written: bool = False
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.head is None:
            out: dict[str, Any] = {"anchored": False, "verify": self.verify.to_json()}
            return out | ({"reason": self.reason} if self.reason else {})
        return {
            "anchored": True,
            "written": self.written,
            "id": self.head.id,
            "row_hash": self.head.row_hash,
            "verify": self.verify.to_json(),
        }


async def run_verify(settings: Settings, expect_head: str | None = None, *, anchors: bool = True) -> VerifyReport:
    """Verify the chain; every head anchored in S3 (when ``anchors``) must still be in it."""
    found = []
    if anchors:
        s3 = anchor_client(settings)
        found = await asyncio.to_thread(read_anchors, s3, settings.audit.anchor_bucket, settings.audit.anchor_prefix)
    store = await _one_off_store(settings)
    try:
        return await store.verify(expect_head, anchors=found)
    finally:
        await store.pg.close()


async def run_anchor(settings: Settings) -> AnchorResult:
    """Verify, then copy the head to S3 (never anchors a broken chain). Idempotent."""
    report = await run_verify(settings)
    if not report.ok:
        return AnchorResult(verify=report)
    store = await _one_off_store(settings)
    try:
        current = await store.head()
    finally:
        await store.pg.close()
    if current is None:
        return AnchorResult(verify=report, reason="empty log")
    s3 = anchor_client(settings)
    written = await asyncio.to_thread(
        write_anchor,
        s3,
        settings.audit.anchor_bucket,
        settings.audit.anchor_prefix,
        current,
        datetime.now(UTC).isoformat(),
    )
    return AnchorResult(verify=report, head=current, written=written)
