"""Backups and recovery on the real servers: the drill (small scale) with a damaged newest backup,
encryption of what lands in S3, a wrong passphrase, refusal to restore over a live cluster, and
the freshness gauges the alert rules read.

One drill run (python -m ops.backup drill, its own scratch cluster and repository path) feeds every
test here; it is kept until the module ends, then removed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from ops.backup.drill_cluster import cleanup_drill
from ops.backup.postgres import BackupError, app_dsn, start_postgres, stop_postgres, wait_promoted
from ops.backup.repository import list_backups, repo_objects, restore_files, restore_with_fallback
from ops.stack import pgbackrest
from ops.stack.config import IS_ROOT, PG_DATABASES, SECRETS, derived_port, secret
from ops.stack.s3 import s3_client
from ops.stack.supervisor import stack_postgres

ROOT = Path(__file__).resolve().parents[2]
MARKERS = (b"event_receipts", b"drill-intervention-", b"eu-1000")  # plaintext found in the data files


@pytest.fixture(scope="module")
def drill(stack_env: dict[str, str]) -> Iterator[dict[str, Any]]:
    tag = f"t{uuid.uuid4().hex[:7]}"
    out = subprocess.run(
        [sys.executable, "-m", "ops.backup", "drill", "--dataset", "eu", "--events", "3000", "--consumers", "1",
         "--corrupt-newest", "--keep", "--tag", tag],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    try:
        assert out.stdout.strip(), out.stderr[-3000:]
        result = json.loads(out.stdout.strip().splitlines()[-1])
        yield result | {"tag": tag, "stdout": out.stdout, "stderr": out.stderr[-3000:]}
    finally:
        cleanup_drill(tag)


def drill_cluster(tag: str) -> pgbackrest.Cluster:
    base = stack_postgres().base / "drill"
    return pgbackrest.Cluster(
        base=base, data_dir=base / "data", port=pgbackrest.drill_pg_port(), stanza="drill", repo_path=f"/drill-{tag}"
    )


def test_drill_recovers_everything_from_the_previous_backup_when_the_newest_is_damaged(drill: dict[str, Any]) -> None:
    assert drill.get("passed") is True, drill
    assert drill["rows_lost"] == 0
    assert drill["checksums_equal"] is True
    assert drill["rpo_s"] <= 60
    assert drill["rto_s"] < 3600
    assert drill["audit_chain_ok"] is True
    assert drill["graph_edges_equal"] is True and drill["graph_edges"] > 1000
    assert drill["people_totals_differing"] == 0 and drill["people_checked"] > 500
    assert drill["row_counts"]["event_receipts"] == drill["events_ingested"] == 3000
    assert drill["row_counts"]["intervention_audit_log"] == 20
    # the damaged incremental backup was tried, failed, and the full one before it was used
    assert drill["fallbacks"] == 1
    assert drill["restored_from"] != drill["corrupted_backup"]


def test_repository_objects_hold_no_plaintext(drill: dict[str, Any]) -> None:
    restored = stack_postgres().base / "drill" / "restored"
    heap = b"".join(
        p.read_bytes() for p in (restored / "base").rglob("*") if p.is_file() and p.stat().st_size < 50_000_000
    )
    for marker in MARKERS:  # positive control: the same markers are in the database's own files
        assert marker in heap, marker
    s3 = s3_client()
    objects = repo_objects(f"/drill-{drill['tag']}")
    data_objects = [
        o for o in objects if "/pg_data/" in o["Key"] or "/archive/" in o["Key"] and o["Key"].endswith(".lz4")
    ]
    assert len(data_objects) > 20
    for obj in objects:
        raw = s3.get_object(Bucket=pgbackrest.BUCKET, Key=obj["Key"])["Body"].read()
        for marker in MARKERS:
            assert marker not in raw, (obj["Key"], marker)
        if obj["Size"] > 0 and obj["Key"] != drill["corrupted_object"]:  # that one the drill overwrote
            assert raw.startswith(b"Salted__"), obj["Key"]  # OpenSSL-format AES-256-CBC


def test_wrong_passphrase_fails_clearly_and_writes_no_cluster(drill: dict[str, Any], tmp_path: Path) -> None:
    cluster = drill_cluster(drill["tag"])
    wrong = cluster.state_dir / "wrong.conf"
    cluster.write_config(SECRETS, cipher_pass="not-the-passphrase", path=wrong)
    target = cluster.base / f"wrong-{uuid.uuid4().hex[:6]}"
    with pytest.raises(BackupError) as err:
        restore_files(cluster, target, to=None, backup_set=drill["restored_from"], config=wrong)
    message = str(err.value)
    assert "wrong passphrase" in message.splitlines()[0]
    assert not (target / "PG_VERSION").exists() and not (target / "global" / "pg_control").exists()


async def test_point_in_time_restore_stops_at_the_target(drill: dict[str, Any]) -> None:
    """--to a moment between the ingest phases: only the first phase's events and audit rows."""
    cluster = drill_cluster(drill["tag"])
    target = cluster.base / f"pitr-{uuid.uuid4().hex[:6]}"
    used, _ = restore_with_fallback(cluster, target, to=drill["between_phases_at"])
    assert used != drill["corrupted_backup"]  # the damaged one finished after the target anyway
    port = derived_port("CO_TEST_PITR_PORT", 90, 5436)
    start_postgres(target, port, archive=False)
    try:
        await wait_promoted(port, target, timeout_s=300)
        conn = await asyncpg.connect(app_dsn(port, PG_DATABASES[0]))
        try:
            receipts = await conn.fetchval("SELECT count(*) FROM event_receipts")
            audit_rows = await conn.fetchval("SELECT count(*) FROM intervention_audit_log")
        finally:
            await conn.close()
    finally:
        stop_postgres(target)
    assert receipts == drill["events_between_phases"] < drill["events_ingested"]
    assert audit_rows == 10


def test_restore_refuses_the_running_data_directory() -> None:
    live = stack_postgres().backup_cluster()
    with pytest.raises(BackupError, match="own data directory"):
        restore_files(live, live.data_dir, to=None, backup_set=None)
    assert (live.data_dir / "PG_VERSION").exists()


GAUGES = ("co_backup_last_success_timestamp_seconds", "co_wal_archive_last_success_timestamp_seconds")


async def test_freshness_gauges_report_the_repository_and_the_archiver(
    drill: dict[str, Any], stack_env: dict[str, str], tmp_path: Path
) -> None:
    """The exporter (the process the stack runs) against the drill's repository and the stack's archiver."""
    cluster = drill_cluster(drill["tag"])
    newest = list_backups(cluster)["backups"][-1]
    port = derived_port("CO_TEST_EXPORTER_PORT", 86, 9189)
    env = (
        dict(os.environ)
        | stack_env
        | {
            "PYTHONPATH": str(ROOT),
            "CO_BACKUP_PGBACKREST_CONFIG": str(cluster.config),
            "CO_BACKUP_STANZA": "drill",
            "CO_BACKUP_RUN_AS": "postgres" if IS_ROOT else "",
            "CO_BACKUP_EXPORTER_PORT": str(port),
            "CO_BACKUP_REFRESH_S": "1",
        }
    )
    log = tmp_path / "exporter.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "functions.backup_exporter.main"], cwd=ROOT, env=env, stderr=sink, stdout=sink
        )
    try:
        values: dict[str, float] = {}
        body = ""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (len(values) == 2 and all(values.values())):
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            except httpx.HTTPError:
                time.sleep(0.5)
                continue
            for line in body.splitlines():
                name, _, value = line.partition(" ")
                if name in GAUGES:
                    values[name] = float(value)
            time.sleep(0.5)
        conn = await asyncpg.connect(stack_env["CO_PG_DSN"])
        try:
            archived = await conn.fetchval(
                "SELECT extract(epoch FROM last_archived_time)::float8 FROM pg_stat_archiver"
            )
        finally:
            await conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    stop = datetime.fromisoformat(newest["stop"]).timestamp()
    assert set(values) == set(GAUGES), log.read_text()[-2000:]
    assert values["co_backup_last_success_timestamp_seconds"] == pytest.approx(stop, abs=1.0)
    assert archived is not None and values["co_wal_archive_last_success_timestamp_seconds"] <= archived + 0.001
    assert time.time() - values["co_wal_archive_last_success_timestamp_seconds"] < 3600
    # abuse: the exporter publishes timestamps, never the repository's passphrase or S3 keys
    for name in ("backup_cipher_pass", "s3_secret_key"):
        assert secret(name) not in body
