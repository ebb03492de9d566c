"""asyncpg pool with a bounded acquire wait and queue statistics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from shared.adapters.pool_stats import PoolStats


class PoolExhaustedError(Exception):
    """No connection became free within the acquire timeout."""


def rows_affected(status: str) -> int:
    """Rows affected, from asyncpg's command tag ("DELETE 12")."""
    return int(status.rsplit(" ", 1)[-1])


class PgPool:
    """Wraps an asyncpg pool: callers queue when it is exhausted and time out with a clear error."""

    def __init__(self, pool: asyncpg.Pool, *, max_size: int, acquire_timeout_s: float) -> None:
        self.raw = pool
        self._max = max_size
        self._timeout = acquire_timeout_s
        self._waiting = 0

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        min_size: int = 2,
        max_size: int = 10,
        command_timeout_s: float | None = 30.0,
        acquire_timeout_s: float = 10.0,
    ) -> PgPool:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            command_timeout=command_timeout_s,
            max_inactive_connection_lifetime=300.0,
        )
        return cls(pool, max_size=max_size, acquire_timeout_s=acquire_timeout_s)

    @asynccontextmanager
    async def acquire(self, timeout_s: float | None = None) -> AsyncIterator[asyncpg.Connection]:
        self._waiting += 1
        try:
            conn = await self.raw.acquire(timeout=timeout_s if timeout_s is not None else self._timeout)
        except TimeoutError as exc:
            raise PoolExhaustedError(
                f"postgres pool exhausted: no connection free within {timeout_s or self._timeout}s (max {self._max})"
            ) from exc
        finally:
            self._waiting -= 1
        try:
            yield conn
        finally:
            await self.raw.release(conn)

    def stats(self) -> PoolStats:
        size = self.raw.get_size()
        idle = self.raw.get_idle_size()
        return PoolStats(name="postgres", in_use=size - idle, idle=idle, waiting=self._waiting, max_size=self._max)

    # one statement on a pooled connection: for reads and single writes that need no transaction
    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        async with self.acquire() as conn:
            return list(await conn.fetch(query, *args))

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        async with self.acquire() as conn:
            return await conn.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        async with self.acquire() as conn:
            return await conn.fetchval(query, *args)

    async def execute(self, query: str, *args: Any) -> str:
        async with self.acquire() as conn:
            return str(await conn.execute(query, *args))

    async def ping(self) -> None:
        await self.fetchval("SELECT 1")

    async def close(self) -> None:
        await self.raw.close()
