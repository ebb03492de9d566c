"""Audit entries for data leaving or being removed (exports, links, retention, erasures).

The one place these features write to the audit log. They follow the log's design
(docs/security.md, issue 11): the hashed ``details`` never name a person; a pseudonym an entry
refers to goes in ``personal``/``subjects``, outside the chain, where an erasure deletes it
(:func:`forget_person`) and the chain still verifies. An erasure's own entry carries its id and
counts only.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from shared.adapters.postgres import audit
from shared.adapters.postgres.pool import PgPool


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
    """Append one audit row. ``subject`` is the record's own reference ("export:<id>",
    "erasure:<id>", "retention:<run>"), never a person's identifier; ``personal`` holds the
    pseudonyms the entry needs (``people``), erasable."""
    async with pg.acquire() as conn:
        await audit.append(
            conn,
            key=key or b"",
            event_key=f"{event}:{subject}:{uuid.uuid4().hex}",
            intervention_id=subject,
            event=event,
            actor=actor,
            details=details,
            personal=personal,
            subjects=people,
        )


async def forget_person(pg: PgPool, pseudonym: str) -> int:
    """Delete the personal payloads (salts included) of every audit row that names ``pseudonym``;
    the chained rows keep only a random ref and an unlinkable digest. Returns rows forgotten."""
    async with pg.acquire() as conn:
        status = await conn.execute(
            "DELETE FROM intervention_audit_personal WHERE subjects @> ARRAY[$1]::text[]", pseudonym
        )
    return int(status.rsplit(" ", 1)[-1])
