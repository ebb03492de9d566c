"""`./dev bench:capacity`: the metric-refresh cost curve for docs/capacity.md.

For each head count (default 2,000, 10,000 and 100,000) a generated organisation (teams of 20,
~13 ties a person: ops/bench_metrics.synthetic_org) is loaded into a graph of its own with a
scratch database, then one full refresh runs (what the hourly schedule runs). Reports wall
seconds, CPU seconds (this process, its children and the graph store and PostgreSQL servers)
and the load average. email-Enron (36,691 people) is measured by `./dev bench:metrics`.
The last stdout line is one JSON object.
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
from shared.adapters.postgres.databases import create_database, drop_database
from shared.platform.resources import Needs, open_resources
from shared.platform.settings import load_settings
from shared.services.metrics_refresh import refresh_metrics


def own_cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


async def one(people: int) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    base = load_settings()
    dsn = await create_database(base.postgres.dsn.get_secret_value(), f"co_cap_{run}")
    settings = load_settings(pg_dsn=dsn, graph_name=f"cap_{run}", log_level="WARNING")
    try:
        async with open_resources(settings, Needs(graph=True, redis=True, pg=True)) as res:
            await res.graph.ensure_schema()
            teams, ties = synthetic_org(people, team_size=20, seed=people)
            started = time.monotonic()
            await load(res, teams, ties)  # type: ignore[arg-type]
            load_s = time.monotonic() - started
            servers = stack_processes()
            cpu0, own0, load0 = cpu_seconds(servers), own_cpu(), os.getloadavg()
            started = time.monotonic()
            result = await refresh_metrics(res, trigger="bench-capacity", force=True)
            wall = time.monotonic() - started
            cpu1, own1 = cpu_seconds(servers), own_cpu()
            assert result.status == "succeeded", result
    finally:
        await delete_graph(settings)
        await drop_database(base.postgres.dsn.get_secret_value(), f"co_cap_{run}")
    server_cpu = sum(cpu1.get(pid, 0.0) - before for pid, before in cpu0.items())
    return {
        "people": result.people,
        "ties": result.ties,
        "mode": result.mode,
        "load_graph_s": round(load_s, 1),
        "refresh_wall_s": round(wall, 2),
        "refresh_cpu_s": round(own1 - own0 + server_cpu, 2),
        "phases_ms": {
            "snapshot": round(result.snapshot_ms),
            "compute": round(result.compute_ms),
            "writeback": round(result.writeback_ms),
            "history_and_summary": round(result.history_ms),
        },
        "loadavg": [round(x, 2) for x in load0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[2_000, 10_000, 100_000])
    args = parser.parse_args()
    out: dict[str, Any] = {"benchmark": "capacity", "cpus": psutil.cpu_count()}
    for n in args.people:
        figures = asyncio.run(one(n))
        print(f"{n} people: {json.dumps(figures)}", file=sys.stderr, flush=True)
        out[f"refresh_{n}"] = figures
    print(json.dumps(out))


if __name__ == "__main__":
    main()
