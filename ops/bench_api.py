"""`task bench:api`: read latency under 100 concurrent clients, cached and uncached.

Starts the dev server (every HTTP function, the full platform path: JWT verification, the
Redis rate limiter, the L1/L2 response cache) in a uvicorn process on loopback, against the
real local stack, with a graph of its own. Then 100 concurrent asyncio clients (httpx, one
keep-alive connection and one token each, in this process) each send a request, wait for the
answer, think for a moment (uniform 0.5..1.5 x ``--think-s``, like Locust's ``between``) and go on:

- cached read:   GET /v1/metrics/graph/live (every response must say ``X-Cache: HIT``);
- uncached read: GET /v1/metrics/employees/{id}, every id requested exactly once, so every
  response is a miss (``X-Cache: MISS``: L1 miss, Redis miss, graph query, cache fill).

Then, for the record, a saturation run without think time (the throughput this machine
sustains on the cached path, and on /health/live, which is the HTTP stack alone). With zero
think time, 100 closed-loop clients measure queueing (latency = clients / throughput), not
the service, which is why the floors apply to the runs with think time.

Rate limits are raised so the limiter runs (one Lua call per request) but never refuses.
Prints one JSON object last; exit status 1 if a response had the wrong X-Cache.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from load.harness import delete_graph
from ops.bench_api_functions import per_function
from ops.processes import serve, settings_env
from shared.adapters.graph import build_graph_store
from shared.adapters.graph.base import PersonRow
from shared.platform.settings import Settings, load_settings
from shared.platform.tokens import generate_local_keypair, mint_token


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    q = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {
        "p50_ms": round(q[49], 2),
        "p95_ms": round(q[94], 2),
        "p99_ms": round(q[98], 2),
        "max_ms": round(max(samples_ms), 2),
        "requests": len(samples_ms),
    }


async def seed(settings: Settings, people: int) -> list[str]:
    store = build_graph_store(settings)
    try:
        await store.ensure_schema()
        ids = [f"bench-{i:06d}" for i in range(people)]
        for start in range(0, people, 1000):
            rows = [
                PersonRow(id=p, version=1, team=f"team-{i % 40}", out_weight=float(i % 17), out_degree=i % 9)
                for i, p in enumerate(ids[start : start + 1000], start=start)
            ]
            await store.upsert_people(rows)
        return ids
    finally:
        await store.close()


async def drop_graph(settings: Settings) -> None:
    """Empty the graph, then remove it (on FalkorDB ``clear`` leaves the empty graph's key)."""
    store = build_graph_store(settings)
    try:
        await store.clear()
    finally:
        await store.close()
    await delete_graph(settings)


async def run_phase(
    clients: list[httpx.AsyncClient],
    paths_per_client: list[list[str]],
    expect_cache: str | None,
    think_s: float,
) -> tuple[list[float], float, int]:
    """Each client runs its paths in order, thinking ~``think_s`` (uniform 0.5x..1.5x) between
    requests; returns latencies (ms), wall seconds and responses with the wrong X-Cache."""
    latencies: list[float] = []
    wrong = 0

    async def one(http: httpx.AsyncClient, paths: list[str], rng: random.Random) -> None:
        nonlocal wrong
        if think_s:
            await asyncio.sleep(rng.uniform(0, think_s))  # clients do not start in lockstep
        for path in paths:
            started = time.perf_counter()
            r = await http.get(path)
            elapsed = (time.perf_counter() - started) * 1000
            if r.status_code != 200:
                raise RuntimeError(f"{path}: {r.status_code} {r.text[:200]}")
            if expect_cache is not None and r.headers.get("x-cache") != expect_cache:
                wrong += 1
            latencies.append(elapsed)
            if think_s:
                await asyncio.sleep(rng.uniform(0.5 * think_s, 1.5 * think_s))

    started = time.perf_counter()
    await asyncio.gather(
        *(one(c, p, random.Random(i)) for i, (c, p) in enumerate(zip(clients, paths_per_client, strict=True)))
    )
    return latencies, time.perf_counter() - started, wrong


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    keys = Path(tempfile.mkdtemp(prefix="bench-api-keys-"))
    private = generate_local_keypair(keys)
    high = 10**8
    settings = load_settings(
        graph_name=f"bench_api_{run}",
        cache_prefix=f"bench:{run}:cache",
        cache_channel=f"bench:{run}:cache:invalidate",
        rate_limit_prefix=f"bench:{run}:rl",
        cache_ttl_s=600,
        cache_l1_ttl_s=600,
        cache_l1_max_entries=100_000,
        rate_limit_read=high,
        jwt_private_key_file=private,
        jwt_public_keys_dir=keys / "jwt_public",
        log_level="WARNING",
    )
    if args.per_function:
        ids = await seed(settings, args.requests + 2 * args.per_function_clients)
        try:
            figures = await per_function(settings, ids, args.per_function_clients, args.requests)
        finally:
            await drop_graph(settings)
        return {
            "bench": "api_per_function",
            "clients": args.per_function_clients,
            "requests_per_read": args.requests,
            **figures,
            "cpus": os.cpu_count(),
            "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
        }
    total_uncached = args.clients * args.uncached_per_client
    ids = await seed(settings, max(args.people, total_uncached + args.clients * 5))
    tokens = [mint_token(settings, subject=f"bench-client-{i}", roles=["analyst"]) for i in range(args.clients)]
    env = settings_env(settings)
    try:
        with serve("functions.dev_server.main:app", env, workers=args.workers) as base:
            limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
            clients = [
                httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {t}"}, limits=limits, timeout=60)
                for t in tokens
            ]
            try:
                # warm up every connection, the token cache, pools, the Lua script and the hot entry
                await run_phase(clients, [["/v1/metrics/graph/live"] * 3 for _ in clients], None, 0)
                cached, cached_wall, cached_wrong = await run_phase(
                    clients,
                    [["/v1/metrics/graph/live"] * args.cached_per_client for _ in clients],
                    "HIT",
                    args.think_s,
                )
                shuffled = random.Random(7).sample(ids, total_uncached)
                n = args.uncached_per_client
                uncached_paths = [
                    [f"/v1/metrics/employees/{p}" for p in shuffled[i * n : (i + 1) * n]] for i in range(args.clients)
                ]
                uncached, uncached_wall, uncached_wrong = await run_phase(clients, uncached_paths, "MISS", args.think_s)
                # saturation (no think time): what this machine sustains, and the HTTP stack alone
                sat, sat_wall, _ = await run_phase(
                    clients, [["/v1/metrics/graph/live"] * 20 for _ in clients], "HIT", 0
                )
                live, live_wall, _ = await run_phase(clients, [["/health/live"] * 20 for _ in clients], None, 0)
            finally:
                await asyncio.gather(*(c.aclose() for c in clients))
    finally:
        await drop_graph(settings)
    c, u, st, lv = percentiles(cached), percentiles(uncached), percentiles(sat), percentiles(live)
    return {
        "bench": "api",
        "clients": args.clients,
        "think_s_mean": args.think_s,
        "server_workers": args.workers,
        "cached_read_p50_ms": c["p50_ms"],
        "cached_read_p95_ms": c["p95_ms"],
        "cached_read_p99_ms": c["p99_ms"],
        "cached_read_requests": c["requests"],
        "cached_read_rps": round(c["requests"] / cached_wall, 1),
        "cached_read_not_hit": cached_wrong,
        "uncached_read_p50_ms": u["p50_ms"],
        "uncached_read_p95_ms": u["p95_ms"],
        "uncached_read_p99_ms": u["p99_ms"],
        "uncached_read_requests": u["requests"],
        "uncached_read_rps": round(u["requests"] / uncached_wall, 1),
        "uncached_read_not_miss": uncached_wrong,
        "saturation_cached_rps": round(st["requests"] / sat_wall, 1),
        "saturation_cached_p95_ms": st["p95_ms"],
        "saturation_health_live_rps": round(lv["requests"] / live_wall, 1),
        "saturation_health_live_p95_ms": lv["p95_ms"],
        "floor_cached_p95_ms": 50,
        "floor_uncached_p95_ms": 200,
        "floors_met": c["p95_ms"] < 50 and u["p95_ms"] < 200,
        "cpus": os.cpu_count(),
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--cached-per-client", type=int, default=30)
    parser.add_argument("--uncached-per-client", type=int, default=20)
    parser.add_argument("--think-s", type=float, default=1.0, help="mean pause between a client's requests")
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_API_WORKERS", "1")))
    parser.add_argument(
        "--per-function",
        action="store_true",
        help="instead: req/s of one instance of each HTTP function's hottest read (ops/bench_api_functions.py)",
    )
    parser.add_argument("--per-function-clients", type=int, default=8, help="closed-loop clients per read")
    parser.add_argument("--requests", type=int, default=2000, help="requests per read with --per-function")
    args = parser.parse_args()
    try:  # the client's own overhead is part of every latency it measures: keep it small
        import uvloop

        result = uvloop.run(bench(args))
    except ImportError:
        result = asyncio.run(bench(args))
    print(json.dumps(result))
    wrong = [v for k, v in result.items() if k.endswith(("_not_hit", "_not_miss", "_wrong_cache"))]
    return 0 if not any(wrong) else 1


if __name__ == "__main__":
    sys.exit(main())
