"""Per-process resources (pools and clients), built from settings and injected, never global.

Each function opens only what it needs; the lifespan closes everything it opened. Readiness
checks every resource the function holds.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.adapters.graph import build_graph_store
from shared.adapters.graph.base import GraphStore
from shared.adapters.objects import build_s3
from shared.adapters.pool_stats import PoolStats
from shared.adapters.postgres.pool import PgPool
from shared.adapters.redis_pool import build_redis, redis_stats
from shared.platform.errors import ApiError
from shared.platform.settings import Settings
from shared.platform.temporal_connection import connect_temporal

if TYPE_CHECKING:
    import redis.asyncio as aioredis
    from temporalio.client import Client as TemporalClient

log = logging.getLogger(__name__)

READY_CHECK_TIMEOUT_S = 2.0
_TRUTHY = frozenset({"1", "true", "yes"})
_READY_STATES = frozenset({"ready", "done", "complete", "completed", "idle"})


@dataclass(frozen=True)
class Needs:
    """Which dependencies a function uses."""

    graph: bool = False
    redis: bool = False
    pg: bool = False
    temporal: bool = False
    s3: bool = False

    @classmethod
    def everything(cls) -> Needs:
        return cls(graph=True, redis=True, pg=True, temporal=True, s3=True)


@dataclass
class Resources:
    settings: Settings
    needs: Needs
    _graph: GraphStore | None = None
    _redis: aioredis.Redis | None = None
    _pg: PgPool | None = None
    _s3: Any = None
    _s3_lock: threading.Lock = field(default_factory=threading.Lock)
    _temporal: TemporalClient | None = None
    _temporal_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def graph(self) -> GraphStore:
        if self._graph is None:
            if self.needs.graph:  # down at start-up; readiness reconnects
                raise ApiError(503, "unavailable", "the graph store is unavailable", headers={"Retry-After": "5"})
            raise RuntimeError("this function was not given a graph store")
        return self._graph

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            raise RuntimeError("this function was not given redis")
        return self._redis

    @property
    def pg(self) -> PgPool:
        if self._pg is None:
            raise RuntimeError("this function was not given postgres")
        return self._pg

    @property
    def s3(self) -> Any:
        """Built on first use: boto3 costs a function's cold start ~0.3 s (docs/benchmarks.md)."""
        if self._s3 is None and not self.needs.s3:
            raise RuntimeError("this function was not given object storage")
        with self._s3_lock:  # the readiness check builds it in a thread, a request on the loop
            if self._s3 is None:
                self._s3 = build_s3(self.settings)
        return self._s3

    async def temporal(self) -> TemporalClient:
        """Connect on first use, so a function starts serving even while Temporal is down."""
        async with self._temporal_lock:
            if self._temporal is None:
                self._temporal = await connect_temporal(self.settings)
            return self._temporal

    def pool_stats(self) -> list[PoolStats]:
        stats: list[PoolStats] = []
        if self._graph is not None:
            stats.append(self._graph.pool_stats())
        if self._redis is not None:
            stats.append(redis_stats(self._redis))
        if self._pg is not None:
            stats.append(self._pg.stats())
        return stats

    async def readiness(self, timeout_s: float = READY_CHECK_TIMEOUT_S) -> dict[str, dict[str, Any]]:
        """Check each dependency with a real request, concurrently, each bounded in time."""
        checks: dict[str, Callable[[], Awaitable[Any]]] = {}
        if self.needs.graph:
            checks["graph"] = self._graph_ping
        if self.needs.redis:
            checks["redis"] = self.redis.ping
        if self.needs.pg:
            checks["postgres"] = self.pg.ping
        if self.needs.temporal:
            checks["temporal"] = self._temporal_health
        if self.needs.s3:
            checks["s3"] = lambda: asyncio.to_thread(lambda: self.s3.list_buckets())  # built off the loop

        async def run(name: str, check: Callable[[], Awaitable[Any]]) -> tuple[str, dict[str, Any]]:
            started = time.perf_counter()
            try:
                await asyncio.wait_for(check(), timeout_s)
                return name, {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
            except Exception as exc:  # noqa: BLE001 - readiness reports any failure
                # public endpoint: no dependency error text (hosts, users, versions); the log has it
                log.warning("readiness: %s unavailable: %s: %s", name, type(exc).__name__, str(exc)[:300])
                return name, {"ok": False, "error": "unavailable"}

        results = dict(await asyncio.gather(*(run(n, c) for n, c in checks.items())))
        if self.needs.graph and self._redis is not None:
            results["graph_build"] = await self._graph_build_state()
        return results

    async def _graph_build_state(self) -> dict[str, Any]:
        """Graph readiness as the ingest path's asynchronous graph build reports it in Redis.

        ``graph_build_key`` (a hash: state, done, total, ...) wins; else ``graph_ready_key``
        ("1"/"0" or a hash with ``state``). Neither present: ``unknown``, which does not block
        readiness (a graph maintained only incrementally never writes them).
        """
        try:
            return await asyncio.wait_for(self._read_graph_build(), READY_CHECK_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - Redis down is reported by the redis check
            return {"ok": True, "state": "unknown", "error": type(exc).__name__}

    async def _read_graph_build(self) -> dict[str, Any]:
        for key in (self.settings.graph.build_key, self.settings.graph.ready_key):
            kind = _text(await self.redis.type(key))
            if kind == "hash":
                raw = await self.redis.hgetall(key)
                fields = {_text(k)[:64]: _text(v)[:128] for k, v in list(raw.items())[:20]}
                state = fields.get("state") or ("ready" if fields.get("ready") in _TRUTHY else "building")
                progress = {k: v for k, v in fields.items() if k in _PUBLIC_PROGRESS}  # never the error text
                return {"ok": state in _READY_STATES, "state": state, "progress": progress}
            if kind == "string":
                value = _text(await self.redis.get(key) or b"").strip().lower()
                state = "ready" if value in _TRUTHY or value in _READY_STATES else value[:32] or "building"
                return {"ok": state in _READY_STATES, "state": state}
        return {"ok": True, "state": "unknown"}

    async def _graph_ping(self) -> None:
        if self._graph is None:  # it was down at start-up: try again
            self._graph = await asyncio.to_thread(build_graph_store, self.settings)
        await self._graph.ping()

    async def _temporal_health(self) -> None:
        client = await self.temporal()
        await client.service_client.check_health()

    async def close(self) -> None:
        if self._graph is not None:
            await self._graph.close()
        if self._redis is not None:
            await self._redis.aclose()
        if self._pg is not None:
            await self._pg.close()


_PUBLIC_PROGRESS = frozenset({"state", "ready", "done", "total", "started_at", "eta_s", "percent"})


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


@asynccontextmanager
async def open_resources(settings: Settings, needs: Needs) -> AsyncIterator[Resources]:
    """Build the pools a function needs. Connections are made lazily where the client allows; the S3
    client and the Temporal connection are made on first use."""
    res = Resources(settings=settings, needs=needs)
    try:
        if needs.graph:
            try:  # the FalkorDB client probes the server while constructing (a sync INFO)
                res._graph = build_graph_store(settings)
            except Exception as exc:  # noqa: BLE001 - start anyway: not ready, but alive
                log.warning("graph store unavailable at start-up (%s); readiness will retry", type(exc).__name__)
        if needs.redis:
            res._redis = build_redis(settings)
        if needs.pg:
            res._pg = await PgPool.connect(
                settings.postgres.dsn.get_secret_value(),
                min_size=settings.postgres.min_size,
                max_size=settings.postgres.max_size,
                command_timeout_s=settings.postgres.command_timeout_s,
                acquire_timeout_s=settings.postgres.acquire_timeout_s,
            )
        yield res
    finally:
        await res.close()
