"""Pools reuse connections, queue callers when exhausted, and time waiters out with a clear error."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from ops.processes import serve, settings_env
from shared.adapters.graph import build_graph_store
from shared.adapters.graph.base import PersonRow, TieRow
from shared.adapters.postgres.pool import PgPool, PoolExhaustedError
from shared.adapters.redis_pool import build_redis, redis_stats
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token


async def test_postgres_pool_reuses_and_queues_then_times_out(settings: Settings) -> None:
    pool = await PgPool.connect(settings.postgres.dsn.get_secret_value(), min_size=1, max_size=2, acquire_timeout_s=0.3)
    try:
        pids = set()
        for _ in range(20):
            async with pool.acquire() as conn:
                pids.add(await conn.fetchval("SELECT pg_backend_pid()"))
        assert len(pids) == 1, "sequential callers must reuse one connection"

        release = asyncio.Event()

        async def hold() -> None:
            async with pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
                await release.wait()

        holders = [asyncio.create_task(hold()) for _ in range(2)]
        await asyncio.sleep(0.1)
        assert pool.stats().in_use == 2

        async def queued_caller() -> int:
            async with pool.acquire(timeout_s=5.0) as conn:
                return int(await conn.fetchval("SELECT 42"))

        queued = asyncio.create_task(queued_caller())
        await asyncio.sleep(0.05)
        assert pool.stats().waiting == 1, "an exhausted pool queues the caller"
        release.set()
        assert await asyncio.wait_for(queued, 2.0) == 42  # served as soon as a holder released
        await asyncio.gather(*holders)

        release.clear()
        holders = [asyncio.create_task(hold()) for _ in range(2)]
        await asyncio.sleep(0.1)
        with pytest.raises(PoolExhaustedError, match="no connection free within 0.3s"):
            async with pool.acquire():
                pass
        release.set()
        await asyncio.gather(*holders)
        assert pool.stats().waiting == 0
    finally:
        await pool.close()


async def test_redis_pool_reuses_and_times_out(settings: Settings) -> None:
    client: aioredis.Redis = build_redis(settings.replace(**{"redis_max_connections": 2, "redis_pool_timeout_s": 0.3}))
    try:
        ids = {await client.client_id() for _ in range(30)}
        assert len(ids) == 1
        blockers = [asyncio.create_task(client.blpop([f"test:never:{i}"], timeout=1)) for i in range(2)]
        await asyncio.sleep(0.1)
        assert redis_stats(client).in_use == 2
        with pytest.raises(RedisConnectionError, match="No connection available"):
            await client.ping()
        await asyncio.gather(*blockers)
        assert await client.ping()
    finally:
        await client.aclose()


async def test_graph_pool_is_bounded_and_reused(settings: Settings, run_id: str) -> None:
    graph = build_graph_store(settings.replace(**{"graph_name": f"test_{run_id}_pool", "falkordb_max_connections": 3}))
    try:
        await graph.ensure_schema()
        await asyncio.gather(*(graph.counts() for _ in range(30)))
        stats = graph.pool_stats()
        assert stats.max_size == 3
        assert stats.in_use + stats.idle <= 3
    finally:
        await graph.clear()
        await graph.close()


async def test_two_api_processes_answer_identically(settings: Settings, resources: object, run_id: str) -> None:
    scoped = settings.replace(**{"graph_name": f"test_{run_id}_twoapi"})
    graph = build_graph_store(scoped)
    await graph.ensure_schema()
    await graph.upsert_ties([TieRow("p_a", "p_b", 3, 5.0, 5), TieRow("p_b", "p_c", 1, 2.0, 2)])
    await graph.upsert_people([PersonRow("p_a", 2, "t1", 5.0, 0.0, 1, 0), PersonRow("p_b", 4, "t1", 2.0, 5.0, 1, 1)])
    env = settings_env(scoped, CO_GRAPH_NAME=scoped.graph.name)
    headers = {"Authorization": f"Bearer {mint_token(scoped, subject='a', roles=['analyst'])}"}
    try:
        with (
            serve("functions.metrics_api.main:app", env) as first,
            serve("functions.metrics_api.main:app", env) as second,
        ):
            for path in ("/v1/metrics/graph/live", "/v1/metrics/employees/p_b", "/v1/metrics/employees/p_zz"):
                a = httpx.get(first + path, headers=headers)
                b = httpx.get(second + path, headers=headers)
                assert (a.status_code, a.json()) == (b.status_code, b.json()), path
            stats = httpx.get(first + "/v1/metrics/graph/live", headers=headers).json()
            assert stats == {"people": 3, "ties": 2, "total_weight": 7.0}
    finally:
        await graph.clear()
        await graph.close()
