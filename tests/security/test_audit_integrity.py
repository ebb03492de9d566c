"""Issue 11, item 4: the audit log cannot be rewritten by its writer.

A database created and migrated the production way: owned by the owner role (CO_PG_OWNER_DSN),
the application role (CO_PG_DSN's user) granted by the migration. The abuse cases run as that
application role; the tampering an insider with more than the app role could do runs as the
local PostgreSQL superuser, and `verify` (keyed chain + S3 anchors) must catch it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
from botocore.exceptions import ClientError

from shared.adapters.audit_anchors import AnchorConflict, anchor_client, read_anchors, write_anchor
from shared.adapters.objects import build_s3
from shared.adapters.postgres import audit
from shared.adapters.postgres import audit_chain as chain
from shared.adapters.postgres.databases import drop_database, sibling_dsn
from shared.adapters.postgres.migrations import migrate
from shared.platform.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
KEY = b"test-chain-key-never-in-the-database"


@dataclass
class AuditDb:
    app: asyncpg.Connection
    su: asyncpg.Connection
    settings: Settings


@pytest.fixture()
async def audit_db(stack_env: dict[str, str]) -> AsyncIterator[AuditDb]:
    owner_dsn, app_dsn = stack_env["CO_PG_OWNER_DSN"], stack_env["CO_PG_DSN"]
    name = f"co_sec_audit_{uuid.uuid4().hex[:8]}"
    owner = await asyncpg.connect(owner_dsn)
    await owner.execute(f'CREATE DATABASE "{name}"')
    await owner.close()
    owner = await asyncpg.connect(sibling_dsn(owner_dsn, name))
    await migrate(owner, app_role=urlsplit(app_dsn).username)
    await owner.close()
    parts = urlsplit(app_dsn)
    password = (ROOT / "var" / "secrets" / "pg_superuser_password").read_text().strip()
    app = await asyncpg.connect(sibling_dsn(app_dsn, name))
    su = await asyncpg.connect(host=parts.hostname, port=parts.port, user="postgres", password=password, database=name)
    settings = load_settings(
        pg_dsn=sibling_dsn(app_dsn, name), audit_anchor_prefix=f"test/{name}", audit_chain_key=KEY.decode()
    )
    try:
        yield AuditDb(app, su, settings)
    finally:
        await app.close()
        await su.close()
        await drop_database(owner_dsn, name)


async def _append(conn: asyncpg.Connection, n: int, tag: str, **extra: object) -> list[audit.AuditRecord]:
    return [
        await audit.append(
            conn, key=KEY, event_key=f"{tag}:{i}", intervention_id=tag, event="step", actor="alice",
            details={"i": i}, **extra,  # type: ignore[arg-type]
        )
        for i in range(n)
    ]  # fmt: skip


async def _as_superuser_unguarded(su: asyncpg.Connection, sql: str, *args: object) -> None:
    """What an insider with more than the app role could do: bypass the trigger and edit."""
    async with su.transaction():
        await su.execute("ALTER TABLE intervention_audit_log DISABLE TRIGGER intervention_audit_log_no_update")
        await su.execute(sql, *args)
        await su.execute("ALTER TABLE intervention_audit_log ENABLE ALWAYS TRIGGER intervention_audit_log_no_update")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE intervention_audit_log SET actor = 'mallory'",
        "DELETE FROM intervention_audit_log",
        "TRUNCATE intervention_audit_log",
        "ALTER TABLE intervention_audit_log DISABLE TRIGGER intervention_audit_log_no_update",
        "ALTER TABLE intervention_audit_log DISABLE TRIGGER ALL",
        "ALTER TABLE intervention_audit_log ADD COLUMN note text",
        "DROP TABLE intervention_audit_log",
        "GRANT UPDATE ON intervention_audit_log TO CURRENT_USER; UPDATE intervention_audit_log SET actor = 'x'",
        "DROP TRIGGER intervention_audit_log_no_update ON intervention_audit_log",
        "UPDATE intervention_audit_personal SET payload = '{}'::jsonb",
        "CREATE TABLE shadow (x int)",
    ],
)
async def test_app_role_can_only_insert_and_select(audit_db: AuditDb, statement: str) -> None:
    await _append(audit_db.app, 2, "priv", personal={"who": "p1"}, subjects=["p1"])
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await audit_db.app.execute(statement)
    assert await audit_db.app.fetchval("SELECT count(*) FROM intervention_audit_log") == 2
    assert (await chain.verify(audit_db.app, KEY)).ok


async def test_a_rechained_log_without_the_key_fails(audit_db: AuditDb) -> None:
    rows = await _append(audit_db.app, 3, "rechain")
    # the insider edits a row and recomputes the whole chain with the published (unkeyed) rule
    # and with a guessed key: neither verifies, because the key never reached the database
    for forge in (
        lambda prev, r: chain.legacy_row_hash(prev, r["event_key"], r["intervention_id"], r["event"], r["actor"],
                                               r["at_us"], r["details"]),
        lambda prev, r: chain.row_hash(b"guessed", prev, r["event_key"], r["intervention_id"], r["event"], r["actor"],
                                       r["at_us"], r["details"]),
    ):  # fmt: skip
        await _as_superuser_unguarded(audit_db.su, "UPDATE intervention_audit_log SET actor = 'mallory' WHERE id = $1",
                                      rows[1].id)  # fmt: skip
        prev = chain.GENESIS
        for r in await audit_db.su.fetch(
            """SELECT id, event_key, intervention_id, event, actor, details::text AS details,
                      (extract(epoch FROM occurred_at) * 1000000)::bigint AS at_us
               FROM intervention_audit_log ORDER BY id"""
        ):
            digest = forge(prev, r)
            await _as_superuser_unguarded(
                audit_db.su, "UPDATE intervention_audit_log SET prev_hash = $1, row_hash = $2 WHERE id = $3",
                prev, digest, r["id"],
            )  # fmt: skip
            prev = digest
        report = await chain.verify(audit_db.app, KEY)
        assert not report.ok and report.first_bad_id == rows[0].id
        assert report.problem == "row content does not match its hash"


def test_hashed_fields_are_length_prefixed() -> None:
    # newline-joined fields collide (actor "a\nb", event "c" vs actor "a", event "b\nc"); the encoding must not
    one = ("p", "k", "i", "c", "a\nb", 1, "{}")
    two = ("p", "k", "i", "b\nc", "a", 1, "{}")
    one_legacy = chain.legacy_row_hash(*one[:3], one[4], one[3], *one[5:])  # type: ignore[arg-type]
    two_legacy = chain.legacy_row_hash(*two[:3], two[4], two[3], *two[5:])  # type: ignore[arg-type]
    assert one_legacy == two_legacy  # the old rule: a collision
    assert chain.row_hash(KEY, *one) != chain.row_hash(KEY, *two)  # type: ignore[arg-type]
    assert chain.encode_fields("ab", "c") != chain.encode_fields("a", "bc")


async def test_anchored_heads_catch_a_cut_tail_and_allow_appends(audit_db: AuditDb) -> None:
    s = audit_db.settings
    rows = await _append(audit_db.app, 4, "anchor")
    s3 = anchor_client(s)
    bucket, prefix = s.audit.anchor_bucket, s.audit.anchor_prefix
    assert await asyncio.to_thread(write_anchor, s3, bucket, prefix, chain.Anchor(rows[2].id, rows[2].row_hash), "t")
    assert await asyncio.to_thread(write_anchor, s3, bucket, prefix, chain.Anchor(rows[3].id, rows[3].row_hash), "t")
    anchors = await asyncio.to_thread(read_anchors, s3, bucket, prefix)
    assert [a.id for a in anchors] == [rows[2].id, rows[3].id]

    # a legitimate append after the anchors verifies, and a head kept earlier is an ancestor
    await _append(audit_db.app, 1, "anchor-later")
    report = await chain.verify(audit_db.app, KEY, anchors=anchors, expect_head=rows[3].row_hash)
    assert report.ok and report.anchors_checked == 2 and report.rows == 5

    # the application's own S3 identity cannot overwrite or delete an anchor
    app_s3 = build_s3(s)
    forged = b'{"id": 1, "row_hash": "' + b"0" * 64 + b'"}'
    for attempt in (
        lambda: app_s3.put_object(Bucket=bucket, Key=f"{prefix}/{rows[3].id:020d}.json", Body=forged),
        lambda: app_s3.delete_object(Bucket=bucket, Key=f"{prefix}/{rows[3].id:020d}.json"),
    ):
        with pytest.raises(ClientError) as denied:
            await asyncio.to_thread(attempt)
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert await asyncio.to_thread(read_anchors, s3, bucket, prefix) == anchors
    with pytest.raises(AnchorConflict):  # the anchor job itself never overwrites a different head
        await asyncio.to_thread(write_anchor, s3, bucket, prefix, chain.Anchor(rows[3].id, "f" * 64), "t")

    # cut the last three rows (past the second anchor): the remaining chain is valid on its own...
    await _as_superuser_unguarded(audit_db.su, "DELETE FROM intervention_audit_log WHERE id >= $1", rows[3].id)
    assert (await chain.verify(audit_db.app, KEY)).ok
    # ...but an anchored head is gone, and so is the head kept earlier
    cut = await chain.verify(audit_db.app, KEY, anchors=anchors)
    assert not cut.ok and cut.problem == "an anchored head is not in the chain" and cut.first_bad_id == rows[3].id
    kept = await chain.verify(audit_db.app, KEY, expect_head=rows[3].row_hash)
    assert not kept.ok and kept.problem == "the expected head is not in the chain"


async def test_personal_data_is_outside_the_chain_and_erasable(audit_db: AuditDb) -> None:
    first = await audit.append(
        audit_db.app, key=KEY, event_key="pers:1", intervention_id="pers", event="proposed", actor="analyst-1",
        details={"type": "meeting_cap"}, personal={"proposal": {"target": {"people": ["p-1", "p-2"]}}},
        subjects=["p-1", "p-2"],
    )  # fmt: skip
    await _append(audit_db.app, 2, "pers-after")
    assert first.to_json()["details"] == {"type": "meeting_cap", "proposal": {"target": {"people": ["p-1", "p-2"]}}}
    hashed = await audit_db.app.fetchval("SELECT details::text FROM intervention_audit_log WHERE id = $1", first.id)
    assert "p-1" not in hashed  # no pseudonym inside the permanent, hashed payload

    # altering the personal payload in place is caught (its digest is chained)
    await audit_db.su.execute("UPDATE intervention_audit_personal SET payload = '{\"x\": 1}'::jsonb")
    bad = await chain.verify(audit_db.app, KEY)
    assert not bad.ok and bad.problem == "personal data does not match its digest" and bad.first_bad_id == first.id

    # erasing the person (their personal rows, salt included) keeps the chain verifiable
    await audit_db.app.execute("DELETE FROM intervention_audit_personal WHERE subjects @> ARRAY['p-1']")
    erased = await chain.verify(audit_db.app, KEY)
    assert erased.ok and erased.personal_erased == 1 and erased.rows == 3
    (row,) = await audit.query(audit_db.app, intervention_id="pers")
    assert row.personal is None and row.to_json()["details"] == {"type": "meeting_cap"}
