"""Scratch databases: created, migrated, used, dropped (tests and benchmarks isolate their data)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_incrementing

from shared.adapters.postgres.migrations import migrate


def sibling_dsn(base_dsn: str, database: str) -> str:
    """The same server and credentials as ``base_dsn``, another database."""
    return base_dsn.rsplit("/", 1)[0] + "/" + database


async def create_database(base_dsn: str, name: str) -> str:
    """Create and migrate database ``name`` next to ``base_dsn``'s; returns its DSN."""
    admin = await asyncpg.connect(base_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = sibling_dsn(base_dsn, name)
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return dsn


@asynccontextmanager
async def scratch_database(base_dsn: str, name: str) -> AsyncIterator[str]:
    """A created and migrated database for the block's duration; dropped afterwards."""
    try:
        yield await create_database(base_dsn, name)
    finally:
        await drop_database(base_dsn, name)


async def drop_database(base_dsn: str, name: str, attempts: int = 10) -> None:
    """Drop with retries: an autovacuum worker (a superuser process) busy on freshly loaded
    tables cannot be terminated by the application role, so ``FORCE`` fails until it is done."""
    admin = await asyncpg.connect(base_dsn)
    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(asyncpg.InsufficientPrivilegeError),
            stop=stop_after_attempt(attempts),
            wait=wait_incrementing(start=1.0, increment=1.0),
            reraise=True,
        ):
            with attempt:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
