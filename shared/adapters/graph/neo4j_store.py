"""Neo4j adapter (production) on the official async driver.

Pool: bounded size, acquisition timeout, liveness check, max lifetime. Writes run as managed
transactions (``execute_write``), which the driver retries on transient errors for up to
``max_transaction_retry_time``. GDS is not used yet: expensive metrics are computed in-process
from ``snapshot()`` (docs/graph-store.md). ``schema=`` overrides the DDL for Bolt peers that
are not Neo4j (the contract test runs this adapter against FalkorDB's Bolt port).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction
from neo4j.exceptions import Neo4jError, ServiceUnavailable

from shared.adapters.graph import cypher
from shared.adapters.graph.base import (
    Edge,
    GraphSnapshot,
    GraphStoreError,
    GraphStoreUnavailable,
)
from shared.adapters.graph.cypher_store import CypherGraphStore
from shared.adapters.pool_stats import PoolStats
from shared.platform.settings.infrastructure import Neo4jSettings

_SCHEMA = ("CREATE CONSTRAINT person_id IF NOT EXISTS FOR (p:Person) REQUIRE p.id IS UNIQUE",)
_SNAPSHOT_PAGE = 50_000


class Neo4jGraphStore(CypherGraphStore):
    """GraphStore over Neo4j 5+ (Bolt)."""

    backend = "neo4j"

    def __init__(
        self,
        connection: Neo4jSettings,
        *,
        batch_size: int = 1000,
        bulk_batch_size: int = 10_000,
        schema: Sequence[str] = _SCHEMA,
    ) -> None:
        """``connection``: the address, credentials and pool tuning (their defaults live in the settings only)."""
        super().__init__(batch_size, bulk_batch_size)
        c = connection
        self._max_pool = c.max_pool_size
        self._driver: AsyncDriver = AsyncGraphDatabase.driver(
            c.uri,
            auth=(c.user, c.password.get_secret_value()) if c.password is not None else None,
            max_connection_pool_size=c.max_pool_size,
            connection_acquisition_timeout=c.acquisition_timeout_s,
            liveness_check_timeout=c.liveness_check_s,
            max_connection_lifetime=c.max_lifetime_s,
            max_transaction_retry_time=c.max_retry_time_s,
        )
        self._database = c.database
        self._schema = tuple(schema)

    async def ping(self) -> None:
        try:
            await self._driver.verify_connectivity()
        except (Neo4jError, ServiceUnavailable, OSError) as exc:
            raise GraphStoreError(f"neo4j unreachable: {exc}") from exc

    async def ensure_schema(self) -> None:
        for statement in self._schema:
            await self.execute(statement)

    async def execute(
        self, query: str, params: Mapping[str, Any] | None = None, *, read_only: bool = False
    ) -> list[dict[str, Any]]:
        async def work(tx: AsyncManagedTransaction) -> list[dict[str, Any]]:
            result = await tx.run(query, dict(params or {}))
            return [record.data() async for record in result]

        try:
            async with self._driver.session(database=self._database) as session:
                if read_only:
                    return await session.execute_read(work)
                return await session.execute_write(work)
        except ServiceUnavailable as exc:
            raise GraphStoreUnavailable(f"neo4j: {exc}") from exc
        except Neo4jError as exc:
            raise GraphStoreError(f"neo4j: {exc}") from exc

    async def snapshot(self) -> GraphSnapshot:
        snap = GraphSnapshot()
        after = ""
        while True:
            page = await self.execute(cypher.PEOPLE_PAGE, {"after": after, "limit": _SNAPSHOT_PAGE}, read_only=True)
            if not page:
                break
            snap.people.extend((r["id"], r["team"]) for r in page)
            after = page[-1]["id"]
            for start in range(0, len(page), 2_000):
                ids = [r["id"] for r in page[start : start + 2_000]]
                ties = await self.execute(cypher.TIES_OF_PEOPLE, {"ids": ids}, read_only=True)
                snap.edges.extend(
                    Edge(t["src"], t["dst"], float(t["weight"] or 0.0), int(t["count"] or 0)) for t in ties
                )
            if len(page) < _SNAPSHOT_PAGE:
                break
        return snap

    async def clear(self) -> None:
        await self.execute(cypher.CLEAR)

    def pool_stats(self) -> PoolStats:
        """Best effort: the driver exposes no public pool metrics, so read its pool's books."""
        pool = getattr(self._driver, "_pool", None)
        in_use = idle = 0
        connections = getattr(pool, "connections", {}) or {}
        for conns in connections.values():
            for conn in conns:
                if getattr(conn, "in_use", False):
                    in_use += 1
                else:
                    idle += 1
        return PoolStats(name="neo4j", in_use=in_use, idle=idle, waiting=0, max_size=self._max_pool)

    async def close(self) -> None:
        await self._driver.close()
