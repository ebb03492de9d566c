"""The one interface every graph store adapter implements (FalkorDB locally, Neo4j in production).

Services speak only this interface. The domain's writes are *absolute values carrying a
version*: an adapter applies a row only when its version is higher than the stored one, so a
redelivered or out-of-order write can never move the graph backwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from shared.adapters.pool_stats import PoolStats


@dataclass(frozen=True)
class PersonRow:
    """A person's projected state: pseudonymous id, team, and ingest-path degree figures."""

    id: str
    version: int
    team: str | None = None
    out_weight: float = 0.0
    in_weight: float = 0.0
    out_degree: int = 0
    in_degree: int = 0


@dataclass(frozen=True)
class TieRow:
    """A directed tie's projected state (absolute totals from the ledger)."""

    src: str
    dst: str
    version: int
    weight: float
    count: int
    last_at: float = 0.0  # epoch seconds of the latest interaction


@dataclass(frozen=True)
class MetricRow:
    """Materialised expensive metrics for one person."""

    id: str
    values: Mapping[str, float | int | None]


@dataclass(frozen=True)
class GraphCounts:
    people: int
    ties: int
    total_weight: float


@dataclass
class Edge:
    src: str
    dst: str
    weight: float
    count: int = 0


@dataclass
class GraphSnapshot:
    """The whole graph pulled in one pass, for in-process algorithms."""

    people: list[tuple[str, str | None]] = field(default_factory=list)  # (id, team)
    edges: list[Edge] = field(default_factory=list)


class GraphStoreError(Exception):
    """A graph store failure, with the backend's message kept for the logs."""


class GraphStoreUnavailable(GraphStoreError):
    """The store could not be reached (down, restarting, connection lost): retry the same work
    later as a whole; nothing is wrong with the data."""


class InvalidIdError(GraphStoreError, ValueError):
    """A person id no adapter stores: empty, or with leading/trailing whitespace.

    FalkorDB 4.16.3 segfaults when a node with such an id is created under the unique
    constraint on ``Person.id`` (measured), so every adapter refuses them before sending anything.
    """


@runtime_checkable
class GraphStore(Protocol):
    """What services may ask of a graph database."""

    backend: str

    async def ping(self) -> None: ...

    async def ensure_schema(self) -> None: ...

    async def execute(
        self, query: str, params: Mapping[str, Any] | None = None, *, read_only: bool = False
    ) -> list[dict[str, Any]]: ...

    async def upsert_people(self, rows: Sequence[PersonRow]) -> int: ...

    async def upsert_ties(self, rows: Sequence[TieRow]) -> int: ...

    async def bulk_load(self, people: Sequence[PersonRow], ties: Sequence[TieRow]) -> GraphCounts:
        """Fill an empty graph fast (refused on a graph that holds anyone)."""
        ...

    async def write_metrics(self, rows: Sequence[MetricRow]) -> int: ...

    async def snapshot(self) -> GraphSnapshot: ...

    async def get_person(self, person_id: str) -> dict[str, Any] | None: ...

    async def counts(self) -> GraphCounts: ...

    async def clear(self) -> None: ...

    def pool_stats(self) -> PoolStats: ...

    async def close(self) -> None: ...
