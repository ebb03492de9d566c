"""`./dev bench:capacity`: the metric-refresh cost curve for docs/capacity.md, in one command.

Sizes (default ``2000 10000 enron 100000``): a generated organisation of N people (teams of 20,
~14 ties a person: ops/bench_metrics.synthetic_org) or ``enron`` (SNAP email-Enron, 36,692
people, from the shared data directory). Each is bulk-loaded into an empty graph of its own
(``GraphStore.bulk_load``: CREATE in big batches, not the ingest path's per-row MERGE) with a
scratch database, then ONE full refresh runs (what the hourly schedule runs). Per size: load
seconds, refresh wall and CPU seconds (this process, its children = the betweenness workers,
and the stack's graph store, PostgreSQL and Redis), phases, mode and pivots, peak RSS (this
process, its children, the graph store server) and the load average before and after.

Progress goes to stderr; the last stdout line is one JSON object with ``refresh_<size>_s``,
``refresh_<size>_cpu_s``, ``load_<size>_s`` per size and the details under ``runs``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
import uuid
from typing import Any

import psutil

from load.harness import cpu_seconds, delete_graph, stack_processes
from ops.bench_metrics import load, synthetic_org
from ops.stack.config import ROOT
from shared.adapters.datasets import data_dir_for, enron
from shared.adapters.graph.base import TieRow
from shared.adapters.postgres.databases import create_database, drop_database
from shared.platform.resources import Needs, open_resources
from shared.platform.settings import load_settings
from shared.services.metrics_refresh import refresh_metrics

DEFAULT_SIZES = ["2000", "10000", "enron", "100000"]


def own_cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def peak_rss_mb() -> dict[str, float]:
    """ru_maxrss is in KiB on Linux; the children figure is the largest single child."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"process": round(me.ru_maxrss / 1024, 1), "largest_child": round(kids.ru_maxrss / 1024, 1)}


def organisation(size: str) -> tuple[dict[str, str | None], list[TieRow]]:
    """The people (id -> team) and ties of one size: generated, or email-Enron as bench:metrics loads it."""
    if size == "enron":
        edges = enron(data_dir_for(ROOT))
        people: dict[str, str | None] = {}
        for a, b in edges:
            people.setdefault(a, f"dept-{int(a) % 97}")
            people.setdefault(b, f"dept-{int(b) % 97}")
        return people, [TieRow(a, b, 1, 1.0, 1) for a, b in set(edges)]
    n = int(size)
    teams, ties = synthetic_org(n, team_size=20, seed=n)
    return dict(teams), ties


def graph_store_rss_mb(servers: list[psutil.Process], port: int) -> float | None:
    for proc in servers:
        try:
            if any(c.laddr and c.laddr.port == port for c in proc.net_connections(kind="tcp")):
                return round(proc.memory_info().rss / 2**20, 1)
        except psutil.Error:
            continue
    return None


async def one(size: str) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    base = load_settings()
    dsn = await create_database(base.postgres.dsn.get_secret_value(), f"co_cap_{run}")
    settings = load_settings(pg_dsn=dsn, graph_name=f"cap_{run}", log_level="WARNING")
    try:
        async with open_resources(settings, Needs(graph=True, redis=True, pg=True)) as res:
            started = time.monotonic()
            people, ties = organisation(size)
            build_s = time.monotonic() - started
            started = time.monotonic()
            await load(res, people, ties)
            load_s = time.monotonic() - started
            servers = stack_processes()
            cpu0, own0, load_before = cpu_seconds(servers), own_cpu(), os.getloadavg()
            started = time.monotonic()
            result = await refresh_metrics(res, trigger="bench-capacity", force=True, reading="cumulative")
            wall = time.monotonic() - started
            cpu1, own1, load_after = cpu_seconds(servers), own_cpu(), os.getloadavg()
            graph_rss = graph_store_rss_mb(servers, settings.graph.falkordb.port)
            assert result.status == "succeeded", result
    finally:
        await delete_graph(settings)
        await drop_database(base.postgres.dsn.get_secret_value(), f"co_cap_{run}")
    server_cpu = sum(cpu1.get(pid, 0.0) - before for pid, before in cpu0.items())
    return {
        "people": result.people,
        "ties": result.ties,
        "mode": result.mode,
        "pivots": result.pivots,
        "build_org_s": round(build_s, 1),
        "load_graph_s": round(load_s, 1),
        "refresh_wall_s": round(wall, 2),
        "refresh_cpu_s": round(own1 - own0 + server_cpu, 2),
        "refresh_cpu_s_servers": round(server_cpu, 2),
        "phases_ms": {
            "snapshot": round(result.snapshot_ms),
            "compute": round(result.compute_ms),
            "writeback": round(result.writeback_ms),
            "history_and_summary": round(result.history_ms),
        },
        "peak_rss_mb": {**peak_rss_mb(), "graph_store_after_refresh": graph_rss},
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        "--people",
        nargs="+",
        default=DEFAULT_SIZES,
        help="head counts and/or 'enron' (default: %(default)s)",
    )
    args = parser.parse_args()
    out: dict[str, Any] = {"benchmark": "capacity", "cpus": psutil.cpu_count(), "loadavg_start": os.getloadavg()}
    runs: dict[str, Any] = {}
    started = time.monotonic()
    for size in args.sizes:
        figures = asyncio.run(one(size))
        print(f"{size}: {json.dumps(figures)}", file=sys.stderr, flush=True)
        runs[size] = figures
        out[f"refresh_{size}_s"] = figures["refresh_wall_s"]
        out[f"refresh_{size}_cpu_s"] = figures["refresh_cpu_s"]
        out[f"load_{size}_s"] = figures["load_graph_s"]
    out["total_s"] = round(time.monotonic() - started, 1)
    out["peak_rss_mb"] = max(max(r["peak_rss_mb"]["process"], r["peak_rss_mb"]["largest_child"]) for r in runs.values())
    out["loadavg_end"] = os.getloadavg()
    out["runs"] = runs
    print(json.dumps(out))


if __name__ == "__main__":
    main()
