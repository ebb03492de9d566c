"""`./dev bench:api -- --per-function`: requests/s of ONE instance of each HTTP function.

Each function's app (``functions.<name>.main:app``, what its container runs) is started alone
in one uvicorn process against the real local stack, then ``--clients`` closed-loop clients (no
think time) send its hottest read ``--requests`` times: the instance's saturation throughput.
Besides req/s (which a loaded machine lowers) it reports the server process's CPU milliseconds
per request (which it does not): ``1000 / cpu_ms`` is the req/s one core could serve.

Reads: the metrics API's cached read (``/v1/metrics/graph/live``, every answer ``X-Cache:
HIT``) and uncached read (``/v1/metrics/employees/{id}``, each id once: ``MISS``, a graph
query and a cache fill); the PostgreSQL list reads of the analysis, interventions and exports
APIs; ``/health/live`` (the bare HTTP stack) of every function. Keys:
``<function>_<read>_rps`` and ``<function>_<read>_cpu_ms_per_req``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
import psutil

from ops.processes import serve, settings_env
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token


@dataclass(frozen=True)
class Read:
    function: str
    name: str
    paths: str  # "{id}" is replaced by a fresh person id per request (uncached reads)
    expect_cache: str | None = None


READS = (
    Read("metrics_api", "cached", "/v1/metrics/graph/live", "HIT"),
    Read("metrics_api", "uncached", "/v1/metrics/employees/{id}", "MISS"),
    Read("metrics_api", "health_live", "/health/live"),
    Read("analysis_api", "list", "/v1/analyses"),
    Read("analysis_api", "health_live", "/health/live"),
    Read("interventions_api", "list", "/v1/interventions"),
    Read("interventions_api", "health_live", "/health/live"),
    Read("exports_api", "list", "/v1/exports"),
    Read("exports_api", "health_live", "/health/live"),
    Read("privacy_api", "health_live", "/health/live"),
    Read("query_api", "health_live", "/health/live"),
    Read("ingest_http", "health_live", "/health/live"),
)


def server_process(base: str) -> psutil.Process:
    """The uvicorn process listening on ``base``'s port."""
    port = int(base.rsplit(":", 1)[1])
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return psutil.Process(conn.pid)
    raise RuntimeError(f"nothing listens on {base}")


def cpu_of(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return float(t.user + t.system)


async def saturate(base: str, token: str, paths: list[str], clients: int, expect: str | None) -> tuple[float, int]:
    """``clients`` keep-alive connections work through ``paths``; returns wall seconds and wrong X-Cache answers."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for path in paths:
        queue.put_nowait(path)
    wrong = 0

    async def client() -> None:
        nonlocal wrong
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=60
        ) as http:
            while not queue.empty():
                path = queue.get_nowait()
                r = await http.get(path)
                if r.status_code != 200:
                    raise RuntimeError(f"{path}: {r.status_code} {r.text[:200]}")
                if expect is not None and r.headers.get("x-cache") != expect:
                    wrong += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, wrong


async def per_function(settings: Settings, ids: list[str], clients: int, requests: int) -> dict[str, Any]:
    token = mint_token(settings, subject="bench-per-function", roles=["admin"])
    env = settings_env(settings)
    out: dict[str, Any] = {}
    fresh = iter(ids)

    def paths(read: Read, n: int) -> list[str]:
        return [read.paths.replace("{id}", next(fresh)) if "{id}" in read.paths else read.paths for _ in range(n)]

    by_function: dict[str, list[Read]] = {}
    for read in READS:
        by_function.setdefault(read.function, []).append(read)
    for function, reads in by_function.items():
        with serve(f"functions.{function}.main:app", env) as base:
            proc = server_process(base)
            for read in reads:
                await saturate(
                    base, token, paths(read, clients), clients, None
                )  # connections, token cache, plans, hot entry
                cpu0 = cpu_of(proc)
                wall, wrong = await saturate(base, token, paths(read, requests), clients, read.expect_cache)
                cpu_ms = (cpu_of(proc) - cpu0) * 1000 / requests
                key = f"{function}_{read.name}"
                out[f"{key}_rps"] = round(requests / wall, 1)
                out[f"{key}_cpu_ms_per_req"] = round(cpu_ms, 3)
                out[f"{key}_rps_per_core"] = round(1000 / cpu_ms, 1) if cpu_ms else None
                if read.expect_cache is not None:
                    out[f"{key}_wrong_cache"] = wrong
    return out
