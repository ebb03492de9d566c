"""In-memory GraphStore: the same contract as FalkorDB and Neo4j, with no server (the unit tier).

It keeps people and ties in dictionaries and honours every rule of the interface: versioned
absolute writes, a missing team keeping the known one, tie upserts creating their endpoints,
metric writes never creating people, ids checked before anything is stored. ``execute`` runs
the statements the project sends (the constants of ``cypher.py``, matched by their text with
whitespace collapsed); any other text is a ``GraphStoreError``, as a syntax error would be on a
real server. A service that needs a new statement adds it to ``cypher.py`` and a handler here.
tests/contract/test_graph_store_contract.py runs the one contract against all three adapters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from shared.adapters.graph import cypher
from shared.adapters.graph.base import (
    Edge,
    GraphCounts,
    GraphSnapshot,
    GraphStoreError,
    MetricRow,
    PersonRow,
    TieRow,
)
from shared.adapters.graph.rows import latest_people, latest_ties, metric_dicts
from shared.adapters.pool_stats import PoolStats

Rows = list[dict[str, Any]]


def _statement_key(query: str) -> str:
    return " ".join(query.split())


class MemoryGraphStore:
    """GraphStore held in this process's memory; one instance is one graph."""

    backend = "memory"

    def __init__(self, graph_name: str = "memory") -> None:
        self._graph_name = graph_name
        self._people: dict[str, dict[str, Any]] = {}
        self._ties: dict[tuple[str, str], dict[str, Any]] = {}
        handlers: dict[str, Callable[[Mapping[str, Any]], Rows]] = {
            cypher.UPSERT_PEOPLE: lambda p: [{"applied": self._apply_people(p["rows"])}],
            cypher.UPSERT_TIES: lambda p: [{"applied": self._apply_ties(p["rows"])}],
            cypher.WRITE_METRICS: lambda p: [{"applied": self._apply_metrics(p["rows"])}],
            cypher.PEOPLE_PAGE: self._people_page,
            cypher.TIES_OF_PEOPLE: self._ties_of_people,
            cypher.SNAPSHOT_PEOPLE: lambda _: [{"id": pid, "team": n.get("team")} for pid, n in self._people.items()],
            cypher.SNAPSHOT_TIES: lambda _: self._tie_rows(self._ties),
            cypher.GET_PERSON: lambda p: [{"props": dict(self._people[p["id"]])}] if p["id"] in self._people else [],
            cypher.GET_TIE: self._get_tie,
            cypher.ALL_PEOPLE: lambda _: [{"props": dict(node)} for node in self._people.values()],
            cypher.COUNT_PEOPLE: lambda _: [{"n": len(self._people)}],
            cypher.COUNT_TIES: lambda _: [{"n": len(self._ties), "w": sum(t["weight"] for t in self._ties.values())}],
            cypher.FINGERPRINT_PEOPLE: lambda _: [
                {"n": len(self._people), "v": sum(n.get("version", 0) for n in self._people.values())}
            ],
            cypher.FINGERPRINT_TIES: lambda _: [
                {
                    "n": len(self._ties),
                    "v": sum(t.get("version", 0) for t in self._ties.values()),
                    "w": sum(t["weight"] for t in self._ties.values()),
                }
            ],
            cypher.CLEAR: lambda _: self._clear(),
            cypher.DELETE_TIES: self._delete_ties,
            cypher.DELETE_PERSON: self._delete_person,
        }
        self._handlers = {_statement_key(text): handler for text, handler in handlers.items()}

    @property
    def graph_name(self) -> str:
        return self._graph_name

    async def ping(self) -> None:
        return None

    async def ensure_schema(self) -> None:
        return None  # ids are dictionary keys: unique by construction

    async def execute(
        self, query: str, params: Mapping[str, Any] | None = None, *, read_only: bool = False
    ) -> list[dict[str, Any]]:
        handler = self._handlers.get(_statement_key(query))
        if handler is None:
            raise GraphStoreError(f"the in-memory graph store does not run this statement: {query.strip()[:200]!r}")
        return handler(dict(params or {}))

    async def upsert_people(self, rows: Sequence[PersonRow]) -> int:
        return self._apply_people(latest_people(rows))

    async def upsert_ties(self, rows: Sequence[TieRow]) -> int:
        return self._apply_ties(latest_ties(rows))

    async def bulk_load(self, people: Sequence[PersonRow], ties: Sequence[TieRow]) -> GraphCounts:
        people_rows, tie_rows = latest_people(people), latest_ties(ties)
        if self._people:
            raise GraphStoreError(f"bulk_load needs an empty graph; this one holds {len(self._people)} people")
        self._apply_people(people_rows)
        self._apply_ties(tie_rows)
        return await self.counts()

    async def write_metrics(self, rows: Sequence[MetricRow]) -> int:
        return self._apply_metrics(metric_dicts(rows))

    async def snapshot(self) -> GraphSnapshot:
        return GraphSnapshot(
            people=[(pid, node.get("team")) for pid, node in self._people.items()],
            edges=[Edge(a, b, float(t["weight"]), int(t["count"])) for (a, b), t in self._ties.items()],
        )

    async def get_person(self, person_id: str) -> dict[str, Any] | None:
        node = self._people.get(person_id)
        return dict(node) if node is not None else None

    async def counts(self) -> GraphCounts:
        return GraphCounts(
            people=len(self._people),
            ties=len(self._ties),
            total_weight=float(sum(t["weight"] for t in self._ties.values())),
        )

    async def clear(self) -> None:
        self._clear()

    def pool_stats(self) -> PoolStats:
        return PoolStats(name="memory", in_use=0, idle=0, waiting=0, max_size=0)

    async def close(self) -> None:
        return None

    # --------------------------------------------------------------- the statements' semantics

    def _node(self, person_id: str) -> dict[str, Any]:
        """MERGE (p:Person {id: ...})."""
        return self._people.setdefault(person_id, {"id": person_id})

    def _apply_people(self, rows: Rows) -> int:
        applied = 0
        for r in rows:
            node = self._node(r["id"])
            if node.get("version", -1) >= r["version"]:
                continue
            team = r.get("team") if r.get("team") is not None else node.get("team")
            node.update(
                version=r["version"],
                out_weight=r["out_weight"],
                in_weight=r["in_weight"],
                out_degree=r["out_degree"],
                in_degree=r["in_degree"],
                degree=r["out_degree"] + r["in_degree"],
                weighted_degree=r["out_weight"] + r["in_weight"],
            )
            _set(node, "team", team)
            applied += 1
        return applied

    def _apply_ties(self, rows: Rows) -> int:
        applied = 0
        for r in rows:
            self._node(r["src"])
            self._node(r["dst"])
            tie = self._ties.setdefault((r["src"], r["dst"]), {})
            if tie.get("version", -1) >= r["version"]:
                continue
            tie.update(version=r["version"], weight=r["weight"], count=r["count"], last_at=r["last_at"])
            applied += 1
        return applied

    def _apply_metrics(self, rows: Rows) -> int:
        applied = 0
        for r in rows:
            node = self._people.get(r["id"])
            if node is None:
                continue  # MATCH, not MERGE: unknown people are not created
            for key, value in r["values"].items():
                _set(node, key, value)
            applied += 1
        return applied

    def _tie_rows(self, ties: Mapping[tuple[str, str], dict[str, Any]]) -> Rows:
        return [{"src": a, "dst": b, "weight": t["weight"], "count": t["count"]} for (a, b), t in ties.items()]

    def _people_page(self, params: Mapping[str, Any]) -> Rows:
        ids = sorted(pid for pid in self._people if pid > params["after"])[: int(params["limit"])]
        return [{"id": pid, "team": self._people[pid].get("team")} for pid in ids]

    def _ties_of_people(self, params: Mapping[str, Any]) -> Rows:
        wanted = set(params["ids"])
        return self._tie_rows({key: t for key, t in self._ties.items() if key[0] in wanted})

    def _get_tie(self, params: Mapping[str, Any]) -> Rows:
        tie = self._ties.get((params["src"], params["dst"]))
        if tie is None:
            return []
        return [{"version": tie["version"], "weight": tie["weight"], "count": tie["count"], "last_at": tie["last_at"]}]

    def _delete_ties(self, params: Mapping[str, Any]) -> Rows:
        deleted = 0
        for pair in params["pairs"]:
            if self._ties.pop((pair["src"], pair["dst"]), None) is not None:
                deleted += 1
        return [{"deleted": deleted}]

    def _delete_person(self, params: Mapping[str, Any]) -> Rows:
        person_id = params["id"]
        if self._people.pop(person_id, None) is None:
            return [{"deleted": 0}]
        self._ties = {key: t for key, t in self._ties.items() if person_id not in key}
        return [{"deleted": 1}]

    def _clear(self) -> Rows:
        self._people.clear()
        self._ties.clear()
        return []


def _set(node: dict[str, Any], key: str, value: Any) -> None:
    """Cypher's SET: a null value removes the property."""
    if value is None:
        node.pop(key, None)
    else:
        node[key] = value
