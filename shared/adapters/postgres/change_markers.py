"""What the web app's live hub polls in PostgreSQL to notice a change no Redis message announces:
the audit log's last id (an intervention moved) and the analyses' last update."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.adapters.postgres.pool import PgPool


@dataclass(frozen=True)
class ChangeMarkers:
    audit_last_id: int
    analyses_last_change: datetime | None


async def read_change_markers(pool: PgPool) -> ChangeMarkers:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            """SELECT (SELECT coalesce(max(id), 0) FROM intervention_audit_log) AS audit,
                      (SELECT max(updated_at) FROM analyses) AS analyses"""
        )
    return ChangeMarkers(audit_last_id=int(row["audit"]), analyses_last_change=row["analyses"])
