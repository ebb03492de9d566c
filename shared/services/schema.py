"""Bringing the stores' schemas up to date: PostgreSQL migrations as the owner role (then the
application role's grants) and the graph store's indexes. Idempotent: ``causal-organism migrate``."""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg

from shared.adapters.graph import build_graph_store
from shared.adapters.postgres.migrations import migrate
from shared.platform.settings import Settings


async def migrate_all(settings: Settings) -> dict[str, object]:
    """Migrate as the owner role (CO_PG_OWNER_DSN) and grant the application role (CO_PG_DSN's user)."""
    app_dsn = settings.postgres.dsn.get_secret_value()
    owner_dsn = settings.postgres.owner_dsn.get_secret_value() if settings.postgres.owner_dsn else app_dsn
    conn = await asyncpg.connect(owner_dsn)
    try:
        applied = await migrate(conn, app_role=urlsplit(app_dsn).username)
    finally:
        await conn.close()
    graph = build_graph_store(settings)
    try:
        await graph.ensure_schema()
    finally:
        await graph.close()
    return {"postgres_applied": applied, "graph_schema": "ok"}
