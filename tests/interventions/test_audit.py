"""Audit log on the real PostgreSQL: append-only for the app role, chained, tamper detected.

Tampering is done for real: as the stack's PostgreSQL superuser (password in
var/secrets/pg_superuser_password) the test disables the immutability trigger, edits one row
and re-enables it; then the `causal-organism audit-verify` command must exit 1 naming that row.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from shared.adapters.postgres.audit import AuditStore
from shared.adapters.postgres.audit_chain import GENESIS
from shared.platform.resources import Resources
from shared.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


async def _superuser(settings: Settings) -> asyncpg.Connection:
    password = (ROOT / "var" / "secrets" / "pg_superuser_password").read_text().strip()
    dsn = urlsplit(settings.postgres.dsn.get_secret_value())  # same server and database, superuser
    return await asyncpg.connect(
        host=dsn.hostname, port=dsn.port, user="postgres", password=password, database=dsn.path.lstrip("/")
    )


def _cli_verify(settings: Settings) -> tuple[int, dict[str, object]]:
    env = {
        "CO_PG_DSN": settings.postgres.dsn.get_secret_value(),
        "CO_AUDIT_CHAIN_KEY_FILE": str(settings.audit.chain_key_file),
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-m", "shared.cli", "audit-verify", "--no-anchors"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    return out.returncode, json.loads(out.stdout.strip().splitlines()[-1])


async def test_append_is_chained_idempotent_and_concurrency_safe(resources: Resources) -> None:
    store = AuditStore(resources.pg, resources.settings.audit.key)
    tag = f"chain-{datetime.now(UTC).timestamp()}"

    async def one(i: int) -> None:
        await store.append(
            event_key=f"{tag}:{i}",
            intervention_id=tag,
            event="step",
            actor=f"actor-{i % 3}",
            details={"i": i, "x": 0.1},
        )

    await asyncio.gather(*(one(i) for i in range(40)))
    await one(7)  # a retried step writes nothing new
    rows = await store.query(intervention_id=tag)
    assert len(rows) == 40
    assert len({r.prev_hash for r in rows}) == 40  # nobody chained onto the same row twice
    for before, after in zip(rows, rows[1:], strict=False):
        assert after.prev_hash == before.row_hash
    assert (await store.verify()).ok
    assert len(await store.query(intervention_id=tag, actor="actor-1")) == 13
    later = datetime.now(UTC) + timedelta(hours=1)
    assert await store.query(intervention_id=tag, since=later) == []


async def test_app_role_cannot_update_delete_or_truncate(resources: Resources) -> None:
    store = AuditStore(resources.pg, resources.settings.audit.key)
    await store.append(event_key="guard:1", intervention_id="guard", event="e", actor="a", details={})
    async with resources.pg.acquire() as conn:
        for sql in (
            "UPDATE intervention_audit_log SET actor = 'mallory' WHERE event_key = 'guard:1'",
            "DELETE FROM intervention_audit_log WHERE event_key = 'guard:1'",
            "TRUNCATE intervention_audit_log",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
        # even after re-granting itself the privilege, the trigger still refuses
        await conn.execute("GRANT UPDATE ON intervention_audit_log TO CURRENT_USER")
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute("UPDATE intervention_audit_log SET actor = 'mallory' WHERE event_key = 'guard:1'")
        finally:
            await conn.execute("REVOKE UPDATE ON intervention_audit_log FROM CURRENT_USER")
    assert [r.actor for r in await store.query(intervention_id="guard")] == ["a"]


async def test_tampering_one_row_is_detected_by_the_verify_command(settings: Settings, resources: Resources) -> None:
    store = AuditStore(resources.pg, resources.settings.audit.key)
    for i in range(3):
        await store.append(
            event_key=f"tamper:{i}",
            intervention_id="tamper",
            event="approved",
            actor="alice",
            details={"n": i},
        )
    code, report = _cli_verify(settings)
    assert code == 0 and report["ok"] is True
    head = str(report["head"])
    assert head != GENESIS
    victim = (await store.query(intervention_id="tamper"))[1]

    su = await _superuser(settings)
    try:
        await su.execute("ALTER TABLE intervention_audit_log DISABLE TRIGGER intervention_audit_log_no_update")
        await su.execute("UPDATE intervention_audit_log SET actor = 'mallory' WHERE id = $1", victim.id)
        await su.execute("ALTER TABLE intervention_audit_log ENABLE ALWAYS TRIGGER intervention_audit_log_no_update")
        code, report = _cli_verify(settings)
        assert code == 1
        assert report["ok"] is False and report["first_bad_id"] == victim.id
        assert report["problem"] == "row content does not match its hash"

        # put it back: the chain verifies again, and a cut tail is caught with the kept head
        await su.execute("ALTER TABLE intervention_audit_log DISABLE TRIGGER intervention_audit_log_no_update")
        await su.execute("UPDATE intervention_audit_log SET actor = 'alice' WHERE id = $1", victim.id)
        last = (await store.query(intervention_id="tamper"))[-1]
        await su.execute("DELETE FROM intervention_audit_log WHERE id = $1", last.id)
        await su.execute("ALTER TABLE intervention_audit_log ENABLE ALWAYS TRIGGER intervention_audit_log_no_update")
    finally:
        await su.close()
    report_now = await store.verify()
    assert report_now.ok  # a cut tail alone keeps a valid chain...
    cut = await store.verify(expect_head=head)
    assert not cut.ok and cut.problem == "the expected head is not in the chain"  # ...the kept head catches it
