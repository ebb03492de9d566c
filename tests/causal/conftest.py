"""Causal tests get their own migrated database (other areas write employee_metrics in the
session database) and their own Temporal task queue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from pydantic import SecretStr

from shared.adapters.postgres.migrations import migrate
from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import Settings


@pytest.fixture(scope="session")
async def causal_dsn(stack_env: dict[str, str], run_id: str) -> AsyncIterator[str]:
    base = stack_env["CO_PG_DSN"]
    name = f"co_test_{run_id}_causal"
    admin = await asyncpg.connect(base)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = base.rsplit("/", 1)[0] + "/" + name
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    yield dsn
    await drop_database(base, name)


async def drop_database(base: str, name: str, attempts: int = 10) -> None:
    """Drop with retries: an autovacuum worker (superuser) busy on the freshly loaded tables
    cannot be terminated by our role, so FORCE fails until it finishes."""
    admin = await asyncpg.connect(base)
    try:
        for attempt in range(attempts):
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except asyncpg.InsufficientPrivilegeError:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(1.0 + attempt)
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def causal_settings(settings: Settings, causal_dsn: str, run_id: str) -> Settings:
    return settings.model_copy(
        update={
            "pg_dsn": SecretStr(causal_dsn),
            "temporal_task_queue": f"causal-test-{run_id}",
            "causal_heartbeat_timeout_s": 5.0,
            "spark_driver_memory": "2g",
            "rate_limit_analysis": 10_000,
            "rate_limit_write": 10_000,
            "rate_limit_prefix": f"co:rl:causal-test-{run_id}",
        }
    )


@pytest.fixture(scope="session")
async def cres(causal_settings: Settings) -> AsyncIterator[Resources]:
    async with open_resources(causal_settings, Needs(pg=True, temporal=True)) as res:
        yield res
