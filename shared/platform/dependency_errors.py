"""Telling "a store could not be reached" (retryable, not a bug) from every other failure; the
error handlers and the error reporter both ask."""

from __future__ import annotations

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


def dependency_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (or what it wraps) says a store could not be reached, not that a query was wrong."""
    kinds: tuple[type[BaseException], ...] = (
        ConnectionError,  # refused, reset (OSError family)
        TimeoutError,
        RedisConnectionError,
        RedisTimeoutError,
        asyncpg.CannotConnectNowError,
        asyncpg.PostgresConnectionError,
        asyncpg.exceptions.ConnectionDoesNotExistError,
        asyncpg.exceptions.TooManyConnectionsError,
    )
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kinds):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
