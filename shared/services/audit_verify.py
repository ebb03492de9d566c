"""Use cases behind `causal-organism audit-verify` and `audit-anchor`: check the audit log's keyed
chain against the heads anchored in S3, and anchor the current head."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg

from shared.adapters.audit_anchors import anchor_client, read_anchors, write_anchor
from shared.adapters.postgres.audit_chain import head, verify
from shared.platform.settings import Settings


async def run_verify(settings: Settings, expect_head: str | None = None, *, anchors: bool = True) -> dict[str, Any]:
    """Verify the chain; every head anchored in S3 (when ``anchors``) must still be in it."""
    found = []
    if anchors:
        s3 = anchor_client(settings)
        found = await asyncio.to_thread(read_anchors, s3, settings.audit.anchor_bucket, settings.audit.anchor_prefix)
    conn = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
    try:
        return (await verify(conn, settings.audit.key or b"", anchors=found, expect_head=expect_head)).to_json()
    finally:
        await conn.close()


async def run_anchor(settings: Settings) -> dict[str, Any]:
    """Verify, then copy the head to S3 (never anchors a broken chain). Idempotent."""
    report = await run_verify(settings)
    if not report["ok"]:
        return {"anchored": False, "verify": report}
    conn = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
    try:
        current = await head(conn)
    finally:
        await conn.close()
    if current is None:
        return {"anchored": False, "verify": report, "reason": "empty log"}
    s3 = anchor_client(settings)
    written = await asyncio.to_thread(
        write_anchor,
        s3,
        settings.audit.anchor_bucket,
        settings.audit.anchor_prefix,
        current,
        datetime.now(UTC).isoformat(),
    )
    return {"anchored": True, "written": written, "id": current.id, "row_hash": current.row_hash, "verify": report}
