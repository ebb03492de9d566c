"""Scratch databases: created, migrated, used, dropped (tests and benchmarks isolate their data)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from shared.adapters.postgres.migrations import migrate


def sibling_dsn(base_dsn: str, database: str) -> str:
    """The same server and credentials as ``base_dsn``, another database."""
    return base_dsn.rsplit("/", 1)[0] + "/" + database


@asynccontextmanager
async def scratch_database(base_dsn: str, name: str) -> AsyncIterator[str]:
    """Create and migrate database ``name`` next to ``base_dsn``'s; yield its DSN; drop it after."""
    admin = await asyncpg.connect(base_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = sibling_dsn(base_dsn, name)
    try:
        conn = await asyncpg.connect(dsn)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield dsn
    finally:
        admin = await asyncpg.connect(base_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
