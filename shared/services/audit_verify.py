"""Use case behind `causal-organism audit-verify`: check the audit log's hash chain."""

from __future__ import annotations

from typing import Any

import asyncpg

from shared.adapters.postgres.audit import verify
from shared.platform.settings import Settings


async def run_verify(settings: Settings, expect_head: str | None = None) -> dict[str, Any]:
    conn = await asyncpg.connect(settings.pg_dsn.get_secret_value())
    try:
        return (await verify(conn, expect_head)).to_json()
    finally:
        await conn.close()
