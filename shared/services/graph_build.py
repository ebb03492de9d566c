"""Asynchronous graph construction: rebuild the whole projection from the ledger in the background.

Used for a backfill of history or to recover a lost or corrupted graph. It never runs at
start-up or import: a Temporal workflow (workflows/graph_rebuild) or the CLI starts it.
Progress (state, done, total, percent, ETA) lives in a Redis hash, so every function can report
it and endpoints that need the graph answer 503 + Retry-After until it is ready.

Safe alongside live ingestion: rows carry ledger versions and the graph keeps the higher one,
so a row the updater writes during the rebuild is never overwritten by an older snapshot row.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import redis.asyncio as aioredis

from shared.adapters.graph.base import GraphStore, PersonRow, TieRow
from shared.adapters.graph_build_status import BuildStatus, read_status
from shared.adapters.postgres.ledger import count_totals, iter_totals
from shared.adapters.postgres.pool import PgPool
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from workflows.graph_rebuild import client as rebuild_client

__all__ = ["BuildStatus", "read_status", "rebuild_graph", "start_rebuild"]

CHUNK = 5_000
Heartbeat = Callable[[dict[str, Any]], Awaitable[None] | None]


async def rebuild_graph(
    settings: Settings,
    redis: aioredis.Redis,
    pg: PgPool,
    graph: GraphStore,
    heartbeat: Heartbeat | None = None,
) -> BuildStatus:
    """Clear the graph and project every ledger total into it, chunk by chunk, reporting progress."""
    key = settings.graph.build_key
    started = time.time()
    async with pg.acquire() as conn:
        total = await count_totals(conn)
    await redis.hset(
        key,
        mapping={
            "state": "building",
            "done": 0,
            "total": total,
            "percent": 0,
            "started_at": started,
            "error": "",
        },
    )
    done = 0

    async def progress(step: int) -> None:
        nonlocal done
        done += step
        elapsed = time.time() - started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else None
        fields: dict[str, Any] = {
            "done": done,
            "percent": round(100.0 * done / total, 2) if total else 100.0,
            "eta_s": round(eta, 1) if eta else "",
        }
        await redis.hset(key, mapping=cast(Any, fields))
        if heartbeat is not None:
            result = heartbeat(fields)
            if result is not None:
                await result

    try:
        await graph.clear()
        async with pg.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            async for rows in iter_totals(conn, CHUNK):
                if rows and isinstance(rows[0], TieRow):
                    await graph.upsert_ties(cast(list[TieRow], rows))
                else:
                    await graph.upsert_people(cast(list[PersonRow], rows))
                await progress(len(rows))
    except Exception as exc:
        await redis.hset(key, mapping={"state": "failed", "error": f"{type(exc).__name__}: {exc}"[:300]})
        raise
    await redis.hset(key, mapping={"state": "ready", "percent": 100.0, "eta_s": 0, "finished_at": time.time()})
    return await read_status(redis, settings)


async def start_rebuild(resources: Resources) -> str:
    """Start the rebuild workflow, or attach to the one running; returns its workflow id."""
    client = await resources.temporal()
    return await rebuild_client.start(client, resources.settings.temporal.task_queue)
