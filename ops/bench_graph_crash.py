"""`task bench:graph-crash`: kill -9 the graph store while ingest runs at full rate; time the recovery.

A FalkorDB of its own (the stack's exact persistence configuration: AOF everysec with an RDB
preamble and the automatic rewrite policy, ops/stack/redis_server.py), a scratch ledger database, the real
ingest function, graph updaters and query API as processes. It replays email-Enron through HTTP
as fast as accepted; after ``--kill-after`` of the events it SIGKILLs FalkorDB and restarts it at
once (what a supervisor or Kubernetes does), then measures:

* ``load_s``: restart until FalkorDB answers (AOF base + incremental tail loaded);
* ``api_ready_s``: kill until the query API's /health/ready answers 200 again;
* ``caught_up_s``: kill until every stream entry that was in flight at the kill is acknowledged
  (redelivered and re-applied: the graph holds everything committed before the crash);
* after the replay ends and the stream drains: the graph compared with the ledger, edge by edge
  and person by person (``graph_exact``), and the ledger's event count against the events sent
  (``events_lost``, ``events_double_counted``: each event applied once).

Prints human lines, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

import asyncpg
import httpx
from pydantic import SecretStr

from ops.backup.drill import drained, drill_events
from ops.backup.ledger import graph_weights
from ops.processes import uvicorn_args, wait_http
from ops.stack.config import ROOT, derived_port
from ops.stack.falkordb_server import FalkorDB
from shared.adapters.graph import build_graph_store
from shared.adapters.postgres.databases import scratch_database
from shared.adapters.redis_pool import build_redis
from shared.platform.settings import Settings, load_settings
from shared.platform.tokens import mint_token
from shared.services.replay import replay


class CrashFalkorDB(FalkorDB):
    """The stack's FalkorDB configuration on another port and directory, ours to kill."""

    name = "falkordb_crash"

    @property
    def port(self) -> int:
        return derived_port("CO_CRASH_FALKORDB_PORT", 87, 6390)


def aof_bytes(server: CrashFalkorDB) -> int:
    return sum(p.stat().st_size for p in server.workdir.rglob("*") if p.is_file())


async def in_flight_ids(settings: Settings) -> tuple[bytes, int]:
    """The newest stream entry id now, and how many entries are pending (delivered, not acked)."""
    redis = build_redis(settings)
    try:
        info = await redis.xinfo_stream(settings.ingest.stream_name)
        pending = await redis.xpending(settings.ingest.stream_name, settings.ingest.stream_group)
    finally:
        await redis.aclose()
    return info["last-generated-id"], int(pending["pending"])


async def caught_up(settings: Settings, boundary: bytes, started: float, timeout_s: float = 900) -> float:
    """Seconds from ``started`` until no entry at or before ``boundary`` is unread or pending."""
    redis = build_redis(settings)
    try:
        while time.monotonic() - started < timeout_s:
            rows = await redis.xpending_range(
                settings.ingest.stream_name, settings.ingest.stream_group, min="-", max=boundary, count=1
            )
            groups = await redis.xinfo_groups(settings.ingest.stream_name)
            delivered = max((g["last-delivered-id"] for g in groups), default=b"0-0")
            if not rows and _id(delivered) >= _id(boundary):
                return time.monotonic() - started
            await asyncio.sleep(0.2)
    finally:
        await redis.aclose()
    raise RuntimeError("the entries in flight at the crash were never acknowledged")


def _id(entry_id: bytes | str) -> tuple[int, int]:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


async def api_ready_after(url: str, started: float, timeout_s: float = 900) -> float:
    async with httpx.AsyncClient(timeout=5) as client:
        down_seen = False
        while time.monotonic() - started < timeout_s:
            with contextlib.suppress(httpx.HTTPError):
                status = (await client.get(url)).status_code
                if status != 200:
                    down_seen = True
                elif down_seen or time.monotonic() - started > 2:
                    return time.monotonic() - started
            await asyncio.sleep(0.1)
    raise RuntimeError("the API never became ready again")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    base = load_settings()
    tag = uuid.uuid4().hex[:8]
    server = CrashFalkorDB()
    if server.running() is None:
        server.check_ports()
        server.prepare()
        server.start()
    server.wait_ready(120)
    ingest_port, api_port = derived_port("CO_CRASH_INGEST_PORT", 88, 8793), derived_port("CO_CRASH_API_PORT", 89, 8794)
    procs: list[subprocess.Popen[bytes]] = []
    result: dict[str, Any] = {"dataset": "email-Enron", "consumer_claim_idle_ms": base.ingest.consumer_claim_idle_ms}
    async with scratch_database(base.postgres.dsn.get_secret_value(), f"co_crash_{tag}") as dsn:
        settings = base.replace(
            **{
                "pg_dsn": SecretStr(dsn),
                "falkordb_port": server.port,
                "graph_name": f"crash_{tag}",
                "stream_name": f"crash:{tag}",
                "dead_letter_stream": f"crash:{tag}:dead",
                "graph_build_key": f"crash:{tag}:build",
            }
        )
        env = dict(os.environ) | {
            "CO_PG_DSN": dsn,
            "CO_FALKORDB_PORT": str(server.port),
            "CO_GRAPH_NAME": settings.graph.name,
            "CO_STREAM_NAME": settings.ingest.stream_name,
            "CO_DEAD_LETTER_STREAM": settings.ingest.dead_letter_stream,
            "CO_GRAPH_BUILD_KEY": settings.graph.build_key,
            "CO_LOG_LEVEL": "ERROR",
            "PYTHONPATH": str(ROOT),
        }
        graph = build_graph_store(settings)
        await graph.ensure_schema()
        await graph.close()

        def spawn(argv: list[str]) -> None:
            procs.append(subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env, stdout=subprocess.DEVNULL))

        try:
            spawn(uvicorn_args("functions.ingest_http.main:app", ingest_port))
            spawn(uvicorn_args("functions.query_api.main:app", api_port))
            for i in range(args.consumers):
                spawn(["-m", "functions.graph_updater.main", "--consumer", f"crash-{i}"])
            await wait_http(f"http://127.0.0.1:{ingest_port}/health/live", status=200)
            await wait_http(f"http://127.0.0.1:{api_port}/health/ready", timeout_s=120, status=200)
            token = mint_token(settings, subject="bench", roles=["service"])
            events = list(drill_events(args.events, "enron"))
            cut = int(len(events) * args.kill_after)
            url = f"http://127.0.0.1:{ingest_port}/v1/events"
            t0 = time.monotonic()
            first = await replay(iter(events[:cut]), url=url, token=token, rate=None, batch_size=1000, concurrency=3)
            # keep sending while the store dies: the kill lands in the middle of full-rate ingest
            rest = asyncio.create_task(
                replay(iter(events[cut:]), url=url, token=token, rate=None, batch_size=1000, concurrency=3)
            )
            await asyncio.sleep(2.0)
            result["aof_bytes_at_kill"] = aof_bytes(server)
            boundary, pending = await in_flight_ids(settings)
            proc = server.running()
            assert proc is not None
            killed_at = time.monotonic()
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            print(
                f"killed FalkorDB (kill -9) {killed_at - t0:.1f} s into the replay; "
                f"AOF {result['aof_bytes_at_kill']:,} bytes"
            )
            server.pidfile.unlink(missing_ok=True)
            restart_at = time.monotonic()
            server.start()
            server.wait_ready(900)
            result["load_s"] = round(time.monotonic() - restart_at, 2)
            print(f"FalkorDB answers again after {result['load_s']} s")
            ready, done = await asyncio.gather(
                api_ready_after(f"http://127.0.0.1:{api_port}/health/ready", killed_at),
                caught_up(settings, boundary, killed_at),
            )
            result["api_ready_s"] = round(ready, 2)
            result["caught_up_s"] = round(done, 2)
            result["recovery_s"] = round(max(ready, done), 2)
            print(f"API ready after {ready:.1f} s; entries in flight at the kill re-applied after {done:.1f} s")
            second = await rest
            await drained(settings)
            sent = first.accepted + second.accepted
            conn = await asyncpg.connect(dsn)
            try:
                receipts = int(await conn.fetchval("SELECT count(*) FROM event_receipts"))
                interactions = int(await conn.fetchval("SELECT count(*) FROM interactions"))
                ledger = {
                    (r["src"], r["dst"]): float(r["weight"])
                    for r in await conn.fetch("SELECT src, dst, weight FROM pair_totals")
                }
                counted = float(await conn.fetchval("SELECT coalesce(sum(count), 0) FROM pair_totals"))
            finally:
                await conn.close()
            weights = await graph_weights(settings)
            redis = build_redis(settings)
            dead = int(await redis.xlen(settings.ingest.dead_letter_stream))
            await redis.aclose()
            result |= {
                "events_sent": sent,
                "events_in_ledger": receipts,
                "events_lost": max(0, sent - receipts),
                "events_double_counted": max(0, int(counted) - interactions),
                "dead_lettered": dead,
                "graph_edges": len(weights),
                "graph_exact": weights == ledger,
                "pending_at_kill": pending,
                "replay_s": round(time.monotonic() - t0, 1),
            }
            result["passed"] = bool(
                result["graph_exact"] and result["events_lost"] == 0 and result["events_double_counted"] == 0
                and dead == 0 and result["recovery_s"] < 60
            )  # fmt: skip
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(30)
            graph = build_graph_store(settings)
            with contextlib.suppress(Exception):
                await graph.clear()
            await graph.close()
            redis = build_redis(settings)
            await redis.delete(
                settings.ingest.stream_name, settings.ingest.dead_letter_stream, settings.graph.build_key
            )
            await redis.aclose()
            if not args.keep_server and (running := server.running()) is not None:
                server.stop(running)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400_000, help="capped at email-Enron's size")
    parser.add_argument("--kill-after", type=float, default=0.6, help="fraction of the events sent before the kill")
    parser.add_argument("--consumers", type=int, default=2)
    parser.add_argument("--keep-server", action="store_true")
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result))
    sys.exit(0 if result.get("passed") else 1)


if __name__ == "__main__":
    main()
