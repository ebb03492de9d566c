"""A Redis client for a process that opens no ``Resources`` (the CloudEvents function's WSGI
entry): kept apart from ``resources.py`` so that light function imports no other driver."""

from __future__ import annotations

import redis.asyncio as aioredis

from shared.adapters.redis_pool import build_redis
from shared.platform.settings import Settings


def redis_client(settings: Settings) -> aioredis.Redis:
    """Bounded like every other function's pool (``redis_max_connections``)."""
    return build_redis(settings)
