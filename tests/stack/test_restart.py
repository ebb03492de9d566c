"""`up` -> `down` -> `up` keeps PostgreSQL, graph and stream data (run last: it restarts servers)."""

from __future__ import annotations

import subprocess
import sys
import uuid

import asyncpg
import pytest
import redis.asyncio as aioredis

from shared.adapters.graph import build_graph_store
from shared.adapters.graph.base import TieRow
from shared.platform.settings import Settings
from tests.conftest import ROOT

pytestmark = pytest.mark.restart


def stack(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "ops.stack", *args], check=True, cwd=ROOT)


async def test_down_then_up_keeps_data(settings: Settings, stack_env: dict[str, str]) -> None:
    marker = uuid.uuid4().hex
    graph_name = f"test_restart_{marker[:8]}"
    conn = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
    await conn.execute("CREATE TABLE IF NOT EXISTS restart_check (marker text PRIMARY KEY)")
    await conn.execute("INSERT INTO restart_check VALUES ($1)", marker)
    await conn.close()
    graph = build_graph_store(settings.replace(**{"graph_name": graph_name}))
    await graph.ensure_schema()
    await graph.upsert_ties([TieRow("p_x", "p_y", 7, 3.0, 3)])
    await graph.close()
    client = aioredis.from_url(settings.redis.url)
    await client.xadd(f"test:restart:{marker}", {b"e": marker.encode()})
    await client.aclose()

    stack("down", "falkordb", "redis", "postgres")
    stack("up", "falkordb", "redis", "postgres")

    conn = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
    assert await conn.fetchval("SELECT marker FROM restart_check WHERE marker = $1", marker) == marker
    await conn.close()
    graph = build_graph_store(settings.replace(**{"graph_name": graph_name}))
    snap = await graph.snapshot()
    assert [(e.src, e.dst, e.weight, e.count) for e in snap.edges] == [("p_x", "p_y", 3.0, 3)]
    await graph.clear()
    await graph.close()
    client = aioredis.from_url(settings.redis.url)
    entries = await client.xrange(f"test:restart:{marker}")
    assert [fields[b"e"] for _, fields in entries] == [marker.encode()]
    await client.delete(f"test:restart:{marker}")
    await client.aclose()
