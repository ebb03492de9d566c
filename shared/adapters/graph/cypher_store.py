"""What both Cypher adapters (FalkorDB, Neo4j) do the same way on top of their own ``execute``.

The dialects differ in connections, DDL, transactions and bulk reads; the writes, point reads and
counts are the same OpenCypher (``cypher.py``) and the same reply handling, so they live here once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.adapters.graph import cypher
from shared.adapters.graph.base import GraphCounts, MetricRow, PersonRow, TieRow
from shared.adapters.graph.rows import chunks, latest_people, latest_ties, metric_dicts


class CypherGraphStore:
    """Batched idempotent writes, ``get_person`` and ``counts`` over a subclass's ``execute``."""

    def __init__(self, batch_size: int) -> None:
        self._batch = batch_size

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
