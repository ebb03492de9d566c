"""The graph store contract over ``MemoryGraphStore``: the same functions as the real adapters run.

tests/contract/test_graph_store_contract.py holds the contract and runs it against FalkorDB and
Neo4j (Bolt) too; here it runs with no server, so the unit tier can trust the in-memory store
that its service tests stand on.
"""

from __future__ import annotations

import pytest

from shared.adapters.graph.base import GraphStore, GraphStoreError, PersonRow
from shared.adapters.graph.memory_store import MemoryGraphStore
from tests.contract import test_graph_store_contract as contract

globals().update({name: getattr(contract, name) for name in contract.CONTRACT})


@pytest.fixture()
def store() -> GraphStore:
    return MemoryGraphStore()


def test_every_contract_behaviour_is_collected_here() -> None:
    assert len(contract.CONTRACT) >= 15
    assert all(callable(globals()[name]) for name in contract.CONTRACT)


async def test_an_unknown_statement_names_itself(store: GraphStore) -> None:
    with pytest.raises(GraphStoreError, match="does not run this statement: 'MATCH \\(n\\) RETURN n'"):
        await store.execute("MATCH (n) RETURN n")


async def test_statements_match_whatever_their_whitespace(store: GraphStore) -> None:
    await store.upsert_people([PersonRow("a", 1, team="t")])
    rows = await store.execute("MATCH   (p:Person {id: $id})\n  RETURN properties(p) AS props", {"id": "a"})
    assert rows and rows[0]["props"]["team"] == "t"


async def test_reads_return_copies(store: GraphStore) -> None:
    await store.upsert_people([PersonRow("a", 1, team="t")])
    (await store.get_person("a") or {})["team"] = "changed by a caller"
    assert (await store.get_person("a") or {})["team"] == "t"
