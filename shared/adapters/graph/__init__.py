"""Graph store adapters behind one interface; pick one with :func:`build_graph_store`."""

from __future__ import annotations

from shared.adapters.graph.base import GraphStore
from shared.platform.settings import Settings


def build_graph_store(settings: Settings, *, graph_name: str | None = None) -> GraphStore:
    """The configured adapter; drivers are imported only for the backend in use."""
    name = graph_name or settings.graph.name
    if settings.graph.backend == "neo4j":
        from shared.adapters.graph.neo4j_store import Neo4jGraphStore

        return Neo4jGraphStore(settings.graph.neo4j, batch_size=settings.graph.write_batch)
    from shared.adapters.graph.falkordb_store import FalkorDBGraphStore

    return FalkorDBGraphStore(settings.graph.falkordb, graph_name=name, batch_size=settings.graph.write_batch)
