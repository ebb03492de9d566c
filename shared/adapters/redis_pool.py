"""redis.asyncio client on a bounded, blocking pool (callers queue, then time out clearly)."""

from __future__ import annotations

import redis.asyncio as aioredis

from shared.adapters.pool_stats import PoolStats, redis_pool_stats
from shared.platform.settings import Settings


def build_redis(settings: Settings) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis.url,
        max_connections=settings.redis.max_connections,
        timeout=settings.redis.pool_timeout_s,
        socket_timeout=settings.redis.socket_timeout_s,
        socket_connect_timeout=settings.redis.socket_timeout_s,
        health_check_interval=settings.redis.health_check_interval_s,
        decode_responses=False,
    )
    return aioredis.Redis(connection_pool=pool)


def redis_stats(client: aioredis.Redis) -> PoolStats:
    return redis_pool_stats("redis", client.connection_pool)
