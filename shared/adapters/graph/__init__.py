"""Graph store adapters behind one interface; pick one with :func:`build_graph_store`."""

from __future__ import annotations

from shared.adapters.graph.base import GraphStore
from shared.platform.settings import Settings


def build_graph_store(settings: Settings, *, graph_name: str | None = None) -> GraphStore:
    """The configured adapter; drivers are imported only for the backend in use."""
    name = graph_name or settings.graph_name
    if settings.graph_backend == "neo4j":
        from shared.adapters.graph.neo4j_store import Neo4jGraphStore

        return Neo4jGraphStore(
            uri=settings.neo4j_uri,
            user=settings.neo4j_user,
            password=settings.neo4j_password.get_secret_value() if settings.neo4j_password else None,
            database=settings.neo4j_database,
            max_pool_size=settings.neo4j_max_pool_size,
            acquisition_timeout_s=settings.neo4j_acquisition_timeout_s,
            liveness_check_s=settings.neo4j_liveness_check_s,
            max_lifetime_s=settings.neo4j_max_lifetime_s,
            max_retry_time_s=settings.neo4j_max_retry_time_s,
            batch_size=settings.graph_write_batch,
        )
    from shared.adapters.graph.falkordb_store import FalkorDBGraphStore

    return FalkorDBGraphStore(
        host=settings.falkordb_host,
        port=settings.falkordb_port,
        graph_name=name,
        password=settings.falkordb_password.get_secret_value() if settings.falkordb_password else None,
        max_connections=settings.falkordb_max_connections,
        batch_size=settings.graph_write_batch,
    )
