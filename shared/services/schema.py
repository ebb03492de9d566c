"""Bringing the stores' schemas up to date: PostgreSQL migrations as the owner role (then the
application role's grants) and the graph store's indexes. Idempotent: ``causal-organism migrate``."""

from __future__ import annotations

from urllib.parse import urlsplit

from shared.adapters.graph import build_graph_store
from shared.adapters.postgres.migrations import migrate_database
from shared.platform.settings import Settings


async def migrate_all(settings: Settings) -> dict[str, object]:
    """Migrate as the owner role (CO_PG_OWNER_DSN) and grant the application role (CO_PG_DSN's user)."""
    app_dsn = settings.postgres.dsn.get_secret_value()
    owner_dsn = settings.postgres.owner_dsn.get_secret_value() if settings.postgres.owner_dsn else app_dsn
    applied = await migrate_database(owner_dsn, app_role=urlsplit(app_dsn).username)
    graph = build_graph_store(settings)
    try:
        await graph.ensure_schema()
    finally:
        await graph.close()
    return {"postgres_applied": applied, "graph_schema": "ok"}
