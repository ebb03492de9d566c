"""Backups of the PostgreSQL ledger with pgBackRest, restores into fresh data directories, and the drill.

    ops/backup.py backup [--type full|diff|incr]     take a backup of the stack's cluster now
    ops/backup.py list                                the repository's backups and WAL range
    ops/backup.py restore [--to TIME] [--set LABEL]   restore into a NEW data directory, start it on
                                                      CO_PG_RESTORE_PORT, verify it, rebuild a graph
    ops/backup.py drill [--events N] [--corrupt-newest]  the recovery drill (own scratch cluster)

Each prints human lines, then one JSON object on the last line of stdout. A restore never
touches the running cluster's data directory; switching over is a documented, manual step
(docs/runbooks/backup-restore.md). The drill builds a cluster of its own (port CO_PG_DRILL_PORT,
stanza `drill`, its own repository path), so it can destroy that cluster's data directory for real.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from pydantic import SecretStr

from ops.stack import pgbackrest as bs
from ops.stack.config import (
    HOST,
    PG_DATABASES,
    PG_ROLE,
    ROOT,
    SECRETS,
    as_postgres,
    chown_postgres,
    derived_port,
    pg_bin_dir,
    secret,
    write_private,
)
from ops.stack.s3 import s3_client
from ops.stack.server import port_free, tail
from ops.stack.supervisor import stack_postgres
from shared.adapters.graph import build_graph_store
from shared.adapters.postgres.audit import append as audit_append
from shared.adapters.postgres.audit import verify as audit_verify
from shared.adapters.postgres.migrations import migrate
from shared.adapters.redis_pool import build_redis
from shared.adapters.streams import lag
from shared.platform.resources import Needs, open_resources
from shared.platform.settings import Settings, load_settings
from shared.platform.tokens import mint_token
from shared.services.graph_build import rebuild_graph
from shared.services.ingest import stream_names
from shared.services.replay import file_events, replay

DATA = Path(os.environ.get("CO_DATA_DIR", ROOT.parent / "shared" / "data"))  # real data, never copied here
# table -> ordering key: what the drill and `restore` compare (content checksums, row counts)
LEDGER_TABLES = {
    "event_receipts": "event_id",
    "interactions": "event_id, src, dst",
    "pair_totals": "src, dst",
    "person_totals": "person",
    "intervention_audit_log": "id",
    "interventions": "intervention_id",
}


class BackupError(Exception):
    """A failure worth one clear line (exit 1, no traceback)."""


def say(msg: str) -> None:
    print(msg, flush=True)


def superuser_password() -> str:
    return secret("pg_superuser_password")


def stack_cluster() -> bs.Cluster:
    return stack_postgres().backup_cluster()


def pgbackrest_ok(out: subprocess.CompletedProcess[str], what: str) -> str:
    """The command's output, or a BackupError that says what most likely went wrong first."""
    if out.returncode != 0:
        text = (out.stderr.strip() or out.stdout.strip())[-800:]
        unreadable = ("FormatError", "CryptoError", "cipher", "decrypt", "unable to read", "unable to load")
        hint = ""
        if any(marker in text for marker in unreadable):
            hint = (
                "the repository could not be decrypted or read: wrong passphrase "
                "(var/secrets/backup_cipher_pass) or damaged backup files\n  "
            )
        raise BackupError(f"pgbackrest {what} failed (exit {out.returncode}): {hint}{text}")
    return out.stdout


# ----------------------------------------------------------------------------- PostgreSQL processes


def pg_ctl(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    cmd = as_postgres([str(pg_bin_dir() / "pg_ctl"), *args])
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/")


def start_postgres(data_dir: Path, port: int, *, archive: bool, timeout: float = 3600) -> None:
    """Start a cluster on ``port`` (socket in its own directory). ``archive=False`` switches WAL
    archiving off, so a restored copy never pushes into the repository it came from."""
    opts = f"-c port={port} -c listen_addresses={HOST} -c unix_socket_directories={data_dir}"
    if not archive:
        opts += " -c archive_mode=off"
    out = pg_ctl("-D", str(data_dir), "-l", str(data_dir.parent / f"{data_dir.name}.log"), "-o", opts,
                 "-w", "-t", str(int(timeout)), "start", timeout=timeout + 30)  # fmt: skip
    if out.returncode != 0:
        log = data_dir.parent / f"{data_dir.name}.log"
        raise BackupError(f"postgres on {data_dir} did not start: {out.stderr.strip()}\n{tail(log)}")


def stop_postgres(data_dir: Path, mode: str = "fast") -> None:
    if (data_dir / "postmaster.pid").exists():
        pg_ctl("-D", str(data_dir), "-m", mode, "-w", "-t", "120", "stop", timeout=180)


def superuser_dsn(port: int, database: str = "postgres") -> str:
    from urllib.parse import quote

    return f"postgresql://postgres:{quote(superuser_password(), safe='')}@{HOST}:{port}/{database}"


def app_dsn(port: int, database: str) -> str:
    from urllib.parse import quote

    return f"postgresql://{PG_ROLE}:{quote(secret('pg_password'), safe='')}@{HOST}:{port}/{database}"


async def wait_promoted(port: int, data_dir: Path, timeout_s: float = 3600) -> None:
    """Recovery replays the archived WAL; the restore is usable once the server left recovery.
    A server that stops instead (e.g. the target lies beyond the archived WAL) is reported."""
    deadline = time.monotonic() + timeout_s
    log = data_dir.parent / f"{data_dir.name}.log"
    while time.monotonic() < deadline:
        if not (data_dir / "postmaster.pid").exists():
            hint = ""
            if "recovery target was reached" in tail(log, 40):
                hint = (
                    " (the target lies after the newest archived transaction: choose an earlier time,"
                    " or restore without --to for the latest point)"
                )
            raise BackupError(f"the restored server stopped during recovery{hint}; see {log}\n{tail(log, 4)}")
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            conn = await asyncpg.connect(superuser_dsn(port), timeout=5)
            try:
                if not await conn.fetchval("SELECT pg_is_in_recovery()"):
                    return
            finally:
                await conn.close()
        await asyncio.sleep(0.5)
    raise BackupError(f"the restored cluster on port {port} did not finish recovery in {timeout_s:.0f} s")


# ----------------------------------------------------------------------------- ledger fingerprints


@dataclass(frozen=True)
class LedgerFingerprint:
    counts: dict[str, int]
    checksums: dict[str, str]
    last_applied_at: float | None  # newest committed event (event_receipts.applied_at)
    person_totals: dict[str, tuple[float, float, int, int]]
    pair_weights: dict[tuple[str, str], float]
    audit_ok: bool
    audit_head: str


async def fingerprint(dsn: str, audit_key: bytes) -> LedgerFingerprint:
    """Row counts, content checksums and the audit chain of a ledger database."""
    conn = await asyncpg.connect(dsn)
    try:
        present = {
            r["relname"]
            for r in await conn.fetch(
                "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') AND relnamespace = 'public'::regnamespace"
            )
        }
        counts: dict[str, int] = {}
        checksums: dict[str, str] = {}
        for table, key in LEDGER_TABLES.items():
            if table not in present:
                continue
            row = await conn.fetchrow(
                f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {key}), '')) AS sum "
                f"FROM {table} t"
            )
            counts[table], checksums[table] = int(row["n"]), str(row["sum"])
        last = await conn.fetchval("SELECT extract(epoch FROM max(applied_at))::float8 FROM event_receipts")
        people = {
            r["person"]: (float(r["out_weight"]), float(r["in_weight"]), int(r["out_degree"]), int(r["in_degree"]))
            for r in await conn.fetch("SELECT person, out_weight, in_weight, out_degree, in_degree FROM person_totals")
        }
        pairs = {
            (r["src"], r["dst"]): float(r["weight"])
            for r in await conn.fetch("SELECT src, dst, weight FROM pair_totals")
        }
        report = await audit_verify(conn, audit_key)
    finally:
        await conn.close()
    return LedgerFingerprint(counts, checksums, last, people, pairs, report.ok, report.head)


async def graph_weights(settings: Settings) -> dict[tuple[str, str], float]:
    graph = build_graph_store(settings)
    try:
        snap = await graph.snapshot()
    finally:
        await graph.close()
    return {(e.src, e.dst): float(e.weight) for e in snap.edges}


# ----------------------------------------------------------------------------- backup, list


def take_backup(cluster: bs.Cluster, kind: str) -> dict[str, Any]:
    t0 = time.monotonic()
    pgbackrest_ok(cluster.pgbackrest("backup", f"--type={kind}"), "backup")
    seconds = time.monotonic() - t0
    newest = list_backups(cluster)["backups"][-1]
    return newest | {"duration_s": round(seconds, 2)}


def list_backups(cluster: bs.Cluster) -> dict[str, Any]:
    out = pgbackrest_ok(cluster.pgbackrest("info", "--output=json", timeout=300), "info")
    stanzas = json.loads(out)
    entry = stanzas[0] if stanzas else {}
    backups = [
        {
            "label": b["label"],
            "type": b["type"],
            "prior": b.get("prior"),
            "start": datetime.fromtimestamp(b["timestamp"]["start"], UTC).isoformat(),
            "stop": datetime.fromtimestamp(b["timestamp"]["stop"], UTC).isoformat(),
            "size_bytes": b["info"]["size"],
            "repo_size_bytes": b["info"]["repository"]["delta"],
            "wal_start": b["archive"]["start"],
            "wal_stop": b["archive"]["stop"],
            "error": bool(b.get("error")),
        }
        for b in entry.get("backup", [])
    ]
    archive = entry.get("archive", [{}])
    return {
        "stanza": entry.get("name", cluster.stanza),
        "status": entry.get("status", {}).get("message"),
        "backups": backups,
        "wal_min": archive[-1].get("min") if archive else None,
        "wal_max": archive[-1].get("max") if archive else None,
    }


# ----------------------------------------------------------------------------- restore


def restore_files(
    cluster: bs.Cluster, target: Path, *, to: str | None, backup_set: str | None, config: Path | None = None
) -> None:
    """pgBackRest restore into ``target`` (must be new or empty; never the running cluster's)."""
    if target.resolve() == cluster.data_dir.resolve():
        raise BackupError("refusing to restore over the cluster's own data directory; choose a fresh one")
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty; a restore goes into a fresh directory")
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    chown_postgres(target)
    args = ["restore", f"--pg1-path={target}", "--process-max=4"]  # S3 round trips, not CPU, bound it
    if to:  # without a target, recovery replays every archived segment and promotes at the end
        args += ["--type=time", f"--target={to}", "--target-action=promote"]
    if backup_set:
        args += [f"--set={backup_set}"]
    pgbackrest_ok(cluster.pgbackrest(*args, config=config), "restore")


def restore_with_fallback(
    cluster: bs.Cluster, target: Path, *, to: str | None, backup_set: str | None = None
) -> tuple[str | None, list[dict[str, str]]]:
    """Restore the newest usable backup: when one fails (damaged object, missing file), wipe the
    target and try the next older one. Returns (the set used, the failures on the way)."""
    if backup_set:
        restore_files(cluster, target, to=to, backup_set=backup_set)
        return backup_set, []
    usable = [b for b in reversed(list_backups(cluster)["backups"]) if not b["error"]]
    if to:  # recovery can only stop after a backup's end: use backups that finished before the target
        target_at = parse_target(to)
        usable = [b for b in usable if datetime.fromisoformat(b["stop"]) < target_at]
        if not usable:
            raise BackupError(
                f"no backup finished before {to}: the earliest point to restore to is after the oldest backup"
            )
    labels = [b["label"] for b in usable]
    if not labels:
        raise BackupError(f"no backups in stanza {cluster.stanza}; take one with `./dev backup`")
    failures: list[dict[str, str]] = []
    for label in labels:
        try:
            restore_files(cluster, target, to=to, backup_set=label)
            return label, failures
        except BackupError as exc:
            lines = [ln.strip() for ln in str(exc).splitlines() if "ERROR" in ln] or [str(exc)]
            failures.append({"set": label, "error": lines[0][:300]})
            say(f"  backup {label} failed to restore; trying the previous one ({failures[-1]['error'][:120]})")
            shutil.rmtree(target, ignore_errors=True)
    raise BackupError("every backup failed to restore: " + json.dumps(failures))


def parse_target(to: str) -> datetime:
    """A recovery target time as pgBackRest takes it ('2026-12-03 14:05:00+00'); no zone = UTC."""
    try:
        at = datetime.fromisoformat(to.strip().replace(" ", "T", 1))
    except ValueError as exc:
        raise BackupError(f"--to {to!r} is not a time like '2026-12-03 14:05:00+00'") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def rebuild_into(settings: Settings) -> float:
    t0 = time.monotonic()
    async with open_resources(settings, Needs(graph=True, redis=True, pg=True)) as r:
        await r.graph.ensure_schema()
        await rebuild_graph(settings, r.redis, r.pg, r.graph)
    return time.monotonic() - t0


async def cmd_restore(args: argparse.Namespace) -> dict[str, Any]:
    cluster = stack_cluster()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = Path(args.target_dir) if args.target_dir else cluster.base / f"restore-{stamp}"
    port = bs.restore_pg_port()
    if not port_free(port):
        raise BackupError(f"port {port} (CO_PG_RESTORE_PORT) is busy: stop the previous restore first")
    t0 = time.monotonic()
    used, failures = restore_with_fallback(cluster, target, to=args.to, backup_set=args.set)
    restored_s = time.monotonic() - t0
    start_postgres(target, port, archive=False)
    try:
        await wait_promoted(port, target)
        recovered_s = time.monotonic() - t0
        base = load_settings()
        dsn = app_dsn(port, PG_DATABASES[0])
        fp = await fingerprint(dsn, base.audit_key or b"")
        settings = base.model_copy(
            update={
                "pg_dsn": SecretStr(dsn),
                "graph_name": f"{base.graph_name}_restore_{stamp}",
                "graph_build_key": f"{base.graph_build_key}:restore:{stamp}",
            }
        )
        rebuild_s = await rebuild_into(settings)
        weights = await graph_weights(settings)
        result = {
            "target_dir": str(target),
            "port": port,
            "backup_set": used,
            "fallbacks": failures,
            "recovery_target": args.to or "latest",
            "newest_event_at": datetime.fromtimestamp(fp.last_applied_at, UTC).isoformat()
            if fp.last_applied_at
            else None,
            "counts": fp.counts,
            "audit_chain_ok": fp.audit_ok,
            "graph_name": settings.graph_name,
            "graph_edges_equal": weights == fp.pair_weights,
            "restore_s": round(restored_s, 2),
            "recovery_s": round(recovered_s, 2),
            "graph_rebuild_s": round(rebuild_s, 2),
        }
    finally:
        if not args.keep_running:
            stop_postgres(target)
    say(f"restored {used} to {args.to or 'the latest archived WAL'} into {target}")
    say(f"  ledger rows {fp.counts}; audit chain {'verifies' if fp.audit_ok else 'BROKEN'}")
    say(
        f"  graph {settings.graph_name} rebuilt in {rebuild_s:.1f} s; "
        f"edge weights equal the ledger: {result['graph_edges_equal']}"
    )
    say("  the running cluster was not touched; to switch over see docs/runbooks/backup-restore.md")
    return result


# ----------------------------------------------------------------------------- the drill


@dataclass
class Drill:
    """A scratch cluster with its own stanza, ingest path and API, so the drill can destroy it."""

    tag: str
    base: Path
    cluster: bs.Cluster
    settings: Settings
    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]]

    @property
    def dsn(self) -> str:
        return app_dsn(self.cluster.port, PG_DATABASES[0])


def drill_ports() -> tuple[int, int]:
    """(ingest HTTP, query API) ports for the drill's own function processes."""
    return derived_port("CO_DRILL_INGEST_PORT", 84, 8791), derived_port("CO_DRILL_API_PORT", 85, 8792)


async def init_drill_cluster(tag: str) -> Drill:
    base = stack_postgres().base / "drill"
    if base.exists():
        stop_postgres(base / "data", "immediate")
        stop_postgres(base / "restored", "immediate")
        shutil.rmtree(base)
    base.mkdir(mode=0o700)
    chown_postgres(base)
    data = base / "data"
    cluster = bs.Cluster(
        base=base,
        data_dir=data,
        port=bs.drill_pg_port(),
        stanza="drill",
        repo_path=f"/drill-{tag}",
        superuser_password=superuser_password(),
    )
    if not port_free(cluster.port):
        raise BackupError(f"port {cluster.port} (CO_PG_DRILL_PORT) is busy: is another drill running?")
    pwfile = base / ".pwfile"
    write_private(pwfile, superuser_password() + "\n", for_postgres=True)
    out = subprocess.run(
        as_postgres([str(pg_bin_dir() / "initdb"), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
                        f"--pwfile={pwfile}", "--encoding=UTF8", "--locale=C.UTF-8"]),
        capture_output=True, text=True, cwd="/", timeout=300,
    )  # fmt: skip
    pwfile.unlink()
    if out.returncode != 0:
        raise BackupError(f"initdb failed: {out.stderr}")
    cluster.write_config(SECRETS)
    bs.ensure_bucket()
    conf = data / "drill.conf"
    write_private(conf, "\n".join(cluster.server_settings()) + "\n", for_postgres=True)
    with open(data / "postgresql.conf", "a") as f:
        f.write("\ninclude_if_exists = 'drill.conf'\n")
    start_postgres(data, cluster.port, archive=True)
    admin = await asyncpg.connect(superuser_dsn(cluster.port))
    try:
        pw = secret("pg_password").replace("'", "''")
        await admin.execute(f"CREATE ROLE {PG_ROLE} LOGIN PASSWORD '{pw}'")
        await admin.execute(f"CREATE DATABASE {PG_DATABASES[0]} OWNER {PG_ROLE}")
    finally:
        await admin.close()
    bs.stanza_create(cluster)
    base_settings = load_settings()
    settings = base_settings.model_copy(
        update={
            "pg_dsn": SecretStr(app_dsn(cluster.port, PG_DATABASES[0])),
            "graph_name": f"drill_{tag}",
            "stream_name": f"drill:{tag}",
            "dead_letter_stream": f"drill:{tag}:dead",
            "graph_build_key": f"drill:{tag}:graph:build",
            "graph_changed_channel": f"drill:{tag}:changed",
            "cache_prefix": f"drill:{tag}:cache",
        }
    )
    env = dict(os.environ) | {
        "CO_PG_DSN": settings.pg_dsn.get_secret_value(),
        "CO_GRAPH_NAME": settings.graph_name,
        "CO_STREAM_NAME": settings.stream_name,
        "CO_DEAD_LETTER_STREAM": settings.dead_letter_stream,
        "CO_GRAPH_BUILD_KEY": settings.graph_build_key,
        "CO_GRAPH_CHANGED_CHANNEL": settings.graph_changed_channel,
        "CO_CACHE_PREFIX": settings.cache_prefix,
        "CO_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    conn = await asyncpg.connect(settings.pg_dsn.get_secret_value())
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return Drill(tag, base, cluster, settings, env, [])


def spawn(drill: Drill, args: list[str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=drill.env, stdout=subprocess.DEVNULL)
    drill.procs.append(proc)
    return proc


def stop_procs(drill: Drill) -> None:
    for p in drill.procs:
        p.terminate()
    for p in drill.procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
    drill.procs.clear()


def uvicorn_args(app: str, port: int) -> list[str]:
    return ["-m", "uvicorn", app, "--host", HOST, "--port", str(port), "--log-level", "warning", "--no-access-log"]


async def wait_http(url: str, timeout_s: float = 120, status: int = 200) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == status:
                    return
            await asyncio.sleep(0.2)
    raise BackupError(f"{url} did not answer {status} within {timeout_s:.0f} s")


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


def repo_objects(prefix: str) -> list[dict[str, Any]]:
    s3 = s3_client()
    out: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bs.BUCKET, Prefix=prefix.lstrip("/")):
        out.extend(page.get("Contents", []))
    return out


def corrupt_backup(cluster: bs.Cluster, label: str) -> str:
    """Overwrite the largest file of backup ``label`` in S3 with garbage of the same size."""
    prefix = f"{cluster.repo_path.lstrip('/')}/backup/{cluster.stanza}/{label}/pg_data/"
    objects = repo_objects(prefix)
    if not objects:
        raise BackupError(f"backup {label} has no data objects under {prefix}")
    victim = max(objects, key=lambda o: o["Size"])
    s3_client().put_object(Bucket=bs.BUCKET, Key=victim["Key"], Body=os.urandom(max(64, int(victim["Size"]))))
    return str(victim["Key"])


def delete_repo(prefix: str) -> None:
    s3 = s3_client()
    keys = [{"Key": o["Key"]} for o in repo_objects(prefix)]
    for i in range(0, len(keys), 1000):
        s3.delete_objects(Bucket=bs.BUCKET, Delete={"Objects": keys[i : i + 1000]})


def cleanup_drill(tag: str) -> None:
    """Remove what a drill run with --keep left: its scratch directories and its repository path."""
    base = stack_postgres().base / "drill"
    stop_postgres(base / "data", "immediate")
    stop_postgres(base / "restored", "immediate")
    shutil.rmtree(base, ignore_errors=True)
    delete_repo(f"/drill-{tag}")


@contextlib.asynccontextmanager
async def drill_session(tag: str, keep: bool) -> AsyncIterator[Drill]:
    drill = await init_drill_cluster(tag)
    try:
        yield drill
    finally:
        stop_procs(drill)
        stop_postgres(drill.cluster.data_dir, "immediate")
        stop_postgres(drill.base / "restored", "fast")
        graph = build_graph_store(drill.settings)
        with contextlib.suppress(Exception):
            await graph.clear()
        await graph.close()
        redis = build_redis(drill.settings)
        await redis.delete(
            drill.settings.stream_name, drill.settings.dead_letter_stream, drill.settings.graph_build_key
        )
        await redis.aclose()
        if not keep:
            delete_repo(drill.cluster.repo_path)
            shutil.rmtree(drill.base, ignore_errors=True)


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
        await wait_http(f"http://{HOST}:{ingest_port}/health/live")
        token = mint_token(drill.settings, subject="drill", roles=["service"])
        url = f"http://{HOST}:{ingest_port}/v1/events"

        t0 = time.monotonic()
        accepted = await ingest(drill, first_batch, url, token)
        await append_audit(drill.dsn, drill.settings.audit_key or b"", 0, 10)
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
        await append_audit(drill.dsn, drill.settings.audit_key or b"", 10, 5)
        if args.corrupt_newest:
            incr = take_backup(drill.cluster, "incr")
            victim = corrupt_backup(drill.cluster, incr["label"])
            result["corrupted_backup"] = incr["label"]
            result["corrupted_object"] = victim
            say(f"  incremental backup {incr['label']}, then corrupted {victim}")
        accepted += await ingest(drill, events, url, token)
        await append_audit(drill.dsn, drill.settings.audit_key or b"", 15, 5)
        result["events_ingested"] = accepted
        stop_procs(drill)

        original = await fingerprint(drill.dsn, drill.settings.audit_key or b"")
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
        restored_settings = drill.settings.model_copy(
            update={"graph_name": f"drill_{tag}_restored", "graph_build_key": f"drill:{tag}:restored:build"}
        )
        drill.env |= {
            "CO_GRAPH_NAME": restored_settings.graph_name,
            "CO_GRAPH_BUILD_KEY": restored_settings.graph_build_key,
        }
        redis = build_redis(restored_settings)
        await redis.hset(restored_settings.graph_build_key, mapping={"state": "building", "done": 0, "total": 0})
        await redis.aclose()
        spawn(drill, uvicorn_args("functions.query_api.main:app", api_port))
        rebuild_s = await rebuild_into(restored_settings)
        await wait_http(f"http://{HOST}:{api_port}/health/ready", timeout_s=300)
        result["rto_s"] = round(time.monotonic() - restore_start, 2)
        result["graph_rebuild_s"] = round(rebuild_s, 2)
        say(
            f"  API ready with a rebuilt graph {result['rto_s']} s after the restore started "
            f"(rebuild {rebuild_s:.1f} s)"
        )

        recovered = await fingerprint(drill.dsn, drill.settings.audit_key or b"")
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


# ----------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ops/backup.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("backup", help="take a backup of the stack's PostgreSQL now")
    p.add_argument("--type", choices=["full", "diff", "incr"], default="full")
    sub.add_parser("list", help="backups in the repository and the archived WAL range")
    p = sub.add_parser("restore", help="restore into a fresh data directory, verify, rebuild a graph")
    p.add_argument("--to", help="recovery target time, e.g. '2026-12-03 14:05:00+00' (default: latest)")
    p.add_argument("--set", help="backup label to restore from (default: newest that restores)")
    p.add_argument("--target-dir", help="fresh directory (default: next to the data directory)")
    p.add_argument("--keep-running", action="store_true", help="leave the restored server running")
    p = sub.add_parser("drill", help="the recovery drill on a scratch cluster")
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--dataset", choices=["enron", "eu"], default="eu")
    p.add_argument("--consumers", type=int, default=2)
    p.add_argument("--corrupt-newest", action="store_true", help="damage the newest backup first")
    p.add_argument("--keep", action="store_true", help="keep the scratch cluster and repository")
    p.add_argument("--tag", default=None)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "backup":
            result = take_backup(stack_cluster(), args.type)
            say(f"{result['type']} backup {result['label']} in {result['duration_s']} s "
                f"({result['repo_size_bytes']:,} bytes written to S3, encrypted)")  # fmt: skip
        elif args.cmd == "list":
            result = list_backups(stack_cluster())
            for b in result["backups"]:
                say(f"  {b['label']:<36} {b['type']:<5} {b['stop']}  {b['repo_size_bytes']:>12,} B")
            say(f"{len(result['backups'])} backups; WAL archived {result['wal_min']} .. {result['wal_max']}")
        elif args.cmd == "restore":
            result = asyncio.run(cmd_restore(args))
        else:
            result = asyncio.run(run_drill(args))
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(json.dumps({"ok": False, "error": str(exc).splitlines()[0]}))
        return 1
    print(json.dumps(result))
    return 0 if result.get("passed", True) else 1


if __name__ == "__main__":
    sys.exit(main())
