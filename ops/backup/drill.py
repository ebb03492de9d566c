"""The recovery drill: ingest real events, back up, damage the newest backup, destroy the data directory, restore.

It measures RPO and RTO and compares the restored ledger, audit chain and graph with the original.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ops.backup.drill_cluster import (
    Drill,
    drill_ports,
    drill_session,
    spawn,
    stop_procs,
)
from ops.backup.ledger import fingerprint, graph_weights
from ops.backup.postgres import (
    BackupError,
    say,
    start_postgres,
    stop_postgres,
    wait_promoted,
)
from ops.backup.repository import (
    corrupt_backup,
    restore_with_fallback,
    take_backup,
)
from ops.backup.restore import rebuild_into
from ops.processes import uvicorn_args, wait_http
from ops.stack import pgbackrest as bs
from ops.stack.config import (
    HOST,
    ROOT,
)
from shared.adapters.datasets import data_dir_for
from shared.adapters.postgres.audit import append as audit_append
from shared.adapters.redis_pool import build_redis
from shared.adapters.streams import lag
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token
from shared.services.ingest import stream_names
from shared.services.replay import file_events, replay

DATA = data_dir_for(ROOT)  # real data, never copied here


async def drained(settings: Settings, timeout_s: float = 3600) -> None:
    redis = build_redis(settings)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = await lag(redis, stream_names(settings))
            if state["lag"] == 0 and state["pending"] == 0:
                return
            await asyncio.sleep(0.2)
    finally:
        await redis.aclose()
    raise BackupError("the drill's stream did not drain")


def drill_events(events: int, dataset: str) -> Iterator[dict[str, Any]]:
    """Real SNAP interactions: email-Enron (undirected pairs, both directions) or email-Eu-core."""
    path = (
        DATA / "email-Enron" / "email-Enron.txt"
        if dataset == "enron"
        else (DATA / "email-Eu-core" / "email-Eu-core-temporal-first150days.txt")
    )
    n = 0
    for e in file_events(path, prefix=dataset):
        if e["actor"] == e["participants"][0]:
            continue
        yield e
        n += 1
        if n >= events:
            return


async def ingest(drill: Drill, events: Iterator[dict[str, Any]], url: str, token: str) -> int:
    report = await replay(events, url=url, token=token, rate=None, batch_size=1000, concurrency=3)
    if report.rejected_batches:
        raise BackupError(f"{report.rejected_batches} ingest batches were rejected")
    await drained(drill.settings)
    return report.accepted


async def append_audit(dsn: str, key: bytes, start: int, count: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for i in range(start, start + count):
            await audit_append(
                conn,
                key=key,
                event_key=f"drill-{i}",
                intervention_id=f"drill-intervention-{i % 3}",
                event="proposed" if i % 2 == 0 else "approved",
                actor="drill",
                details={"step": i},
            )
    finally:
        await conn.close()


async def wait_archived(dsn: str, timeout_s: float) -> float:
    """Wait (without forcing a WAL switch) until the segment holding the last commit is archived:
    archive_timeout does that by itself. Returns how long it took: the exposure window."""
    t0 = time.monotonic()
    conn = await asyncpg.connect(dsn)
    try:
        wanted = await conn.fetchval("SELECT pg_walfile_name(pg_current_wal_lsn())")
        while time.monotonic() - t0 < timeout_s:
            done = await conn.fetchval("SELECT last_archived_wal FROM pg_stat_archiver")
            if done is not None and done >= wanted:
                return time.monotonic() - t0
            await asyncio.sleep(0.25)
    finally:
        await conn.close()
    raise BackupError(f"WAL segment {wanted} was not archived within {timeout_s:.0f} s: check archive_command")


async def run_drill(args: argparse.Namespace) -> dict[str, Any]:
    tag = args.tag or uuid.uuid4().hex[:8]
    ingest_port, api_port = drill_ports()
    first = int(args.events * 0.8)
    events = drill_events(args.events, args.dataset)
    first_batch = (e for _, e in zip(range(first), events, strict=False))
    result: dict[str, Any] = {"dataset": args.dataset, "archive_timeout_s": bs.ARCHIVE_TIMEOUT_S}
    async with drill_session(tag, args.keep) as drill:
        say(f"drill {tag}: scratch cluster on port {drill.cluster.port}, stanza drill, repository /drill-{tag}")
        spawn(drill, uvicorn_args("functions.ingest_http.main:app", ingest_port))
        for i in range(args.consumers):
            spawn(drill, ["-m", "functions.graph_updater.main", "--consumer", f"drill-{i}"])
        await wait_http(f"http://{HOST}:{ingest_port}/health/live", status=200)
        token = mint_token(drill.settings, subject="drill", roles=["service"])
        url = f"http://{HOST}:{ingest_port}/v1/events"

        t0 = time.monotonic()
        accepted = await ingest(drill, first_batch, url, token)
        await append_audit(drill.dsn, drill.settings.audit.key or b"", 0, 10)
        say(f"  ingested {accepted} events through HTTP -> stream -> ledger + graph in {time.monotonic() - t0:.1f} s")
        full = take_backup(drill.cluster, "full")
        result["full_backup_s"] = full["duration_s"]
        result["full_backup_repo_bytes"] = full["repo_size_bytes"]
        # a point in time between the phases, for a point-in-time restore check (tests/backup)
        await asyncio.sleep(1.0)
        result["between_phases_at"] = datetime.now(UTC).isoformat()
        result["events_between_phases"] = accepted
        await asyncio.sleep(1.0)
        say(f"  full backup {full['label']} in {full['duration_s']} s ({full['repo_size_bytes']:,} bytes in S3)")
        second = (e for _, e in zip(range((args.events - first) // 2), events, strict=False))
        accepted += await ingest(drill, second, url, token)
        await append_audit(drill.dsn, drill.settings.audit.key or b"", 10, 5)
        if args.corrupt_newest:
            incr = take_backup(drill.cluster, "incr")
            victim = corrupt_backup(drill.cluster, incr["label"])
            result["corrupted_backup"] = incr["label"]
            result["corrupted_object"] = victim
            say(f"  incremental backup {incr['label']}, then corrupted {victim}")
        accepted += await ingest(drill, events, url, token)
        await append_audit(drill.dsn, drill.settings.audit.key or b"", 15, 5)
        result["events_ingested"] = accepted
        stop_procs(drill)

        original = await fingerprint(drill.dsn, drill.settings.audit.key or b"")
        result["wal_archive_wait_s"] = round(await wait_archived(drill.dsn, bs.ARCHIVE_TIMEOUT_S * 4 + 60), 2)
        say(
            f"  last committed event at {original.last_applied_at}; "
            f"its WAL archived after {result['wal_archive_wait_s']} s"
        )
        # the disaster: the server dies and its data directory is gone
        stop_postgres(drill.cluster.data_dir, "immediate")
        shutil.rmtree(drill.cluster.data_dir)
        say("  destroyed the data directory")

        restore_start = time.monotonic()
        target = drill.base / "restored"
        used, failures = restore_with_fallback(drill.cluster, target, to=None)
        result["restored_from"] = used
        result["fallbacks"] = len(failures)
        result["restore_files_s"] = round(time.monotonic() - restore_start, 2)
        start_postgres(target, drill.cluster.port, archive=False)
        await wait_promoted(drill.cluster.port, target)
        result["recovery_s"] = round(time.monotonic() - restore_start, 2)
        restored_settings = drill.settings.replace(
            **{"graph_name": f"drill_{tag}_restored", "graph_build_key": f"drill:{tag}:restored:build"}
        )
        drill.env |= {
            "CO_GRAPH_NAME": restored_settings.graph.name,
            "CO_GRAPH_BUILD_KEY": restored_settings.graph.build_key,
        }
        redis = build_redis(restored_settings)
        await redis.hset(restored_settings.graph.build_key, mapping={"state": "building", "done": 0, "total": 0})
        await redis.aclose()
        spawn(drill, uvicorn_args("functions.query_api.main:app", api_port))
        rebuild_s = await rebuild_into(restored_settings)
        await wait_http(f"http://{HOST}:{api_port}/health/ready", timeout_s=300, status=200)
        result["rto_s"] = round(time.monotonic() - restore_start, 2)
        result["graph_rebuild_s"] = round(rebuild_s, 2)
        say(
            f"  API ready with a rebuilt graph {result['rto_s']} s after the restore started "
            f"(rebuild {rebuild_s:.1f} s)"
        )

        recovered = await fingerprint(drill.dsn, drill.settings.audit.key or b"")
        weights = await graph_weights(restored_settings)
        rows_lost = sum(max(0, original.counts[t] - recovered.counts.get(t, 0)) for t in original.counts)
        people_differing = sum(1 for p, v in original.person_totals.items() if recovered.person_totals.get(p) != v)
        result |= {
            "rpo_s": round((original.last_applied_at or 0) - (recovered.last_applied_at or 0), 3),
            "rows_lost": rows_lost,
            "checksums_equal": original.checksums == recovered.checksums,
            "row_counts": recovered.counts,
            "people_checked": len(original.person_totals),
            "people_totals_differing": people_differing,
            "graph_edges": len(weights),
            "graph_edges_equal": weights == original.pair_weights,
            "audit_chain_ok": recovered.audit_ok and recovered.audit_head == original.audit_head,
        }
        result["passed"] = bool(
            result["rpo_s"] <= 60
            and rows_lost == 0
            and result["checksums_equal"]
            and people_differing == 0
            and result["graph_edges_equal"]
            and result["audit_chain_ok"]
            and result["rto_s"] < 3600
        )
    say(
        f"drill {'PASSED' if result['passed'] else 'FAILED'}: rpo {result['rpo_s']} s, rto {result['rto_s']} s, "
        f"rows lost {result['rows_lost']}, checksums equal {result['checksums_equal']}, "
        f"audit chain {'ok' if result['audit_chain_ok'] else 'BROKEN'}"
    )
    return result
