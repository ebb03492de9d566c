"""What both Cypher adapters (FalkorDB, Neo4j) do the same way on top of their own ``execute``.

The dialects differ in connections, DDL, transactions and bulk reads; the writes, point reads and
counts are the same OpenCypher (``cypher.py``) and the same reply handling, so they live here once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from shared.adapters.graph import cypher
from shared.adapters.graph.base import GraphCounts, GraphStoreError, MetricRow, PersonRow, TieRow
from shared.adapters.graph.rows import chunks, endpoints_without_rows, latest_people, latest_ties, metric_dicts

BULK_IN_FLIGHT = 2  # statements under way at once: the client encodes one while the server runs the other


class CypherGraphStore:
    """Batched idempotent writes, ``get_person`` and ``counts`` over a subclass's ``execute``."""

    def __init__(self, batch_size: int, bulk_batch_size: int) -> None:
        self._batch = batch_size
        self._bulk_batch = bulk_batch_size

    async def execute(
        self, query: str, params: Mapping[str, Any] | None = None, *, read_only: bool = False
    ) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def _applied(self, query: str, rows: list[dict[str, Any]]) -> int:
        """Run a write in batches of ``rows``; each statement reports how many rows it applied."""
        applied = 0
        for batch in chunks(rows, self._batch):
            out = await self.execute(query, {"rows": batch})
            applied += int(out[0]["applied"]) if out else 0
        return applied

    async def upsert_people(self, rows: Sequence[PersonRow]) -> int:
        return await self._applied(cypher.UPSERT_PEOPLE, latest_people(rows))

    async def upsert_ties(self, rows: Sequence[TieRow]) -> int:
        return await self._applied(cypher.UPSERT_TIES, latest_ties(rows))

    async def bulk_load(self, people: Sequence[PersonRow], ties: Sequence[TieRow]) -> GraphCounts:
        """Load a whole graph into an EMPTY store: what ``upsert_people`` then ``upsert_ties``
        would leave, in big CREATE batches (no MERGE, no version check), two statements in flight.

        For benchmarks, back-fills and restores. Refuses (``GraphStoreError``, nothing written)
        when the graph already holds a person, since CREATE would duplicate it.
        """
        people_rows, tie_rows = latest_people(people), latest_ties(ties)
        bare = [{"id": pid} for pid in endpoints_without_rows(people_rows, tie_rows)]
        existing = await self.execute(cypher.COUNT_PEOPLE, read_only=True)
        if existing and int(existing[0]["n"]):
            raise GraphStoreError(f"bulk_load needs an empty graph; this one holds {existing[0]['n']} people")
        await self._bulk(cypher.BULK_CREATE_PEOPLE, people_rows)
        await self._bulk(cypher.BULK_CREATE_BARE_PEOPLE, bare)
        await self._bulk(cypher.BULK_CREATE_TIES, tie_rows)
        return await self.counts()

    async def _bulk(self, query: str, rows: list[dict[str, Any]]) -> None:
        gate = asyncio.Semaphore(BULK_IN_FLIGHT)

        async def one(batch: list[dict[str, Any]]) -> None:
            async with gate:
                await self.execute(query, {"rows": batch})

        async with asyncio.TaskGroup() as group:
            for batch in chunks(rows, self._bulk_batch):
                group.create_task(one(batch))

    async def write_metrics(self, rows: Sequence[MetricRow]) -> int:
        return await self._applied(cypher.WRITE_METRICS, metric_dicts(rows))

    async def get_person(self, person_id: str) -> dict[str, Any] | None:
        rows = await self.execute(cypher.GET_PERSON, {"id": person_id}, read_only=True)
        return dict(rows[0]["props"]) if rows else None

    async def counts(self) -> GraphCounts:
        people = await self.execute(cypher.COUNT_PEOPLE, read_only=True)
        ties = await self.execute(cypher.COUNT_TIES, read_only=True)
        return GraphCounts(
            people=int(people[0]["n"]) if people else 0,
            ties=int(ties[0]["n"]) if ties else 0,
            total_weight=float(ties[0]["w"] or 0.0) if ties else 0.0,
        )
