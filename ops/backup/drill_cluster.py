"""The drill's scratch cluster (own port, stanza and repository path) and the function processes it runs."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from pydantic import SecretStr

from ops.backup.postgres import (
    BackupError,
    app_dsn,
    start_postgres,
    stop_postgres,
    superuser_dsn,
    superuser_password,
)
from ops.backup.repository import (
    delete_repo,
)
from ops.stack import pgbackrest as bs
from ops.stack.config import (
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
from ops.stack.server import port_free
from ops.stack.supervisor import stack_postgres
from shared.adapters.graph import build_graph_store
from shared.adapters.postgres.migrations import migrate
from shared.adapters.redis_pool import build_redis
from shared.platform.settings import Settings, load_settings


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
    settings = base_settings.replace(
        **{
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
        "CO_PG_DSN": settings.postgres.dsn.get_secret_value(),
        "CO_GRAPH_NAME": settings.graph.name,
        "CO_STREAM_NAME": settings.ingest.stream_name,
        "CO_DEAD_LETTER_STREAM": settings.ingest.dead_letter_stream,
        "CO_GRAPH_BUILD_KEY": settings.graph.build_key,
        "CO_GRAPH_CHANGED_CHANNEL": settings.graph.changed_channel,
        "CO_CACHE_PREFIX": settings.cache.prefix,
        "CO_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    conn = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
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
            drill.settings.ingest.stream_name, drill.settings.ingest.dead_letter_stream, drill.settings.graph.build_key
        )
        await redis.aclose()
        if not keep:
            delete_repo(drill.cluster.repo_path)
            shutil.rmtree(drill.base, ignore_errors=True)
