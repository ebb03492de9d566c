"""Audit entries for data leaving or being removed (exports, links, retention, erasures).

The one place these features write to the audit log, so the log's design (issue 11) can change
under them in one function. Entries never name an erased person: an erasure's entry carries its
own id and counts only.
"""

from __future__ import annotations

import uuid
from typing import Any

from shared.adapters.postgres import audit
from shared.adapters.postgres.pool import PgPool


async def record(pg: PgPool, *, event: str, actor: str, subject: str, details: dict[str, Any]) -> None:
    """Append one audit row. ``subject`` is the record's own reference ("export:<id>",
    "erasure:<id>", "retention:<run>"), never a person's identifier."""
    async with pg.acquire() as conn:
        await audit.append(
            conn,
            event_key=f"{event}:{subject}:{uuid.uuid4().hex}",
            intervention_id=subject,
            event=event,
            actor=actor,
            details=details,
        )
