"""Test fixtures on the real servers started by ops/stack (`./dev up`).

Every test session gets its own PostgreSQL database, graph and Redis key prefix, so test runs
never see each other's data (or the demo's).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from ops import temporal_namespaces
from ops.processes import free_port  # noqa: F401  (re-exported: tests import it from here)
from shared.adapters.datasets import data_dir_for
from shared.adapters.postgres.databases import scratch_database
from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
DATA = data_dir_for(ROOT)


def _stack_env() -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "ops.stack", "env"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    env: dict[str, str] = {}
    for line in out.splitlines():
        if line.startswith("export ") and "=" in line:
            key, _, value = line[len("export ") :].partition("=")
            env[key] = value.strip().strip("'\"")
    return env


def own_database(stack_env: dict[str, str], run_id: str, name: str = "") -> AbstractAsyncContextManager[str]:
    """A fresh, migrated database ``co_test_<run_id>[_<name>]`` on the stack's PostgreSQL, dropped on exit
    (an area that must not see the others' rows gets one of its own)."""
    return scratch_database(stack_env["CO_PG_DSN"], f"co_test_{run_id}" + (f"_{name}" if name else ""))


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def stack_env() -> dict[str, str]:
    env = _stack_env()
    os.environ.update(env)
    return env


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.fail(f"real data not found at {DATA}")
    return DATA


def database_fixture(fixture_name: str, area: str = "") -> Any:
    """A session fixture named ``fixture_name`` yielding the DSN of ``area``'s own database."""

    @pytest.fixture(scope="session", name=fixture_name)
    async def dsn_fixture(stack_env: dict[str, str], run_id: str) -> AsyncIterator[str]:
        async with own_database(stack_env, run_id, area) as dsn:
            yield dsn

    return dsn_fixture


test_database = database_fixture("test_database")  # the session's shared database


@pytest.fixture(scope="session")
async def temporal_namespace(stack_env: dict[str, str], run_id: str) -> AsyncIterator[str]:
    """This session's own Temporal namespace: emptied (workflows terminated, schedules deleted)
    and deleted at the end, so the shared dev server keeps no test leftovers."""
    address, name = stack_env["CO_TEMPORAL_ADDRESS"], f"{temporal_namespaces.TEST_PREFIX}{run_id}"
    await temporal_namespaces.register(address, name)
    yield name
    await temporal_namespaces.clear(address, name)
    await temporal_namespaces.delete(address, name)


@pytest.fixture(scope="session")
async def swept(stack_env: dict[str, str], run_id: str) -> AsyncIterator[None]:
    """At the very end (after every fixture built on ``settings``, whatever their order): delete
    this session's Redis keys and streams (``test:<id>:*``) and FalkorDB graphs (``test_<id>*``;
    a fixture that clears its graph on teardown recreates an empty key)."""
    yield
    redis = aioredis.Redis.from_url(stack_env["CO_REDIS_URL"])
    falkordb = aioredis.Redis(host=stack_env["CO_FALKORDB_HOST"], port=int(stack_env["CO_FALKORDB_PORT"]))
    try:
        async for key in redis.scan_iter(match=f"test:{run_id}:*", count=1000):
            await redis.unlink(key)
        for name in await falkordb.execute_command("GRAPH.LIST"):
            text = name.decode() if isinstance(name, bytes) else name
            if text.startswith(f"test_{run_id}"):
                await falkordb.execute_command("GRAPH.DELETE", text)
    finally:
        await redis.aclose()
        await falkordb.aclose()


@pytest.fixture(scope="session")
def settings(
    stack_env: dict[str, str],
    test_database: str,
    run_id: str,
    temporal_namespace: str,
    swept: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    keys = tmp_path_factory.mktemp("keys")
    from shared.platform.tokens import generate_local_keypair

    private = generate_local_keypair(keys)
    return load_settings(
        environment="test",
        pg_dsn=test_database,
        graph_name=f"test_{run_id}",
        stream_name=f"test:{run_id}:interactions",
        dead_letter_stream=f"test:{run_id}:interactions:dead",
        stream_group="graph-updater",
        temporal_namespace=temporal_namespace,
        jwt_private_key_file=private,
        jwt_public_keys_dir=keys / "jwt_public",
    )


@pytest.fixture(scope="session")
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    """The session's pools on the real servers (its keys and graphs are swept at the end)."""
    async with open_resources(settings, Needs(graph=True, redis=True, pg=True, s3=True)) as res:
        await res.graph.ensure_schema()
        yield res


@pytest.fixture()
def project_root() -> Iterator[Path]:
    yield ROOT
