"""Issue 11 item 6: a crafted causal graph must not freeze the analysis API.

Before: the GML reader was a set of regular expressions run while FastAPI validated the body on
the event loop; ``node [`` repeated without a closing bracket made ``node\\s*\\[(.*?)\\]``
rescan to the end for every start (7 s on 95 KB), and every other request waited. Now the text
is capped (20,000 characters, 200 nodes), read by networkx (GML) or pydot (DOT), and parsed in a
worker thread; these tests send the pathological inputs and time ``/health/live`` meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from functions.analysis_api.routes import router
from shared.domain.causal_graph import MAX_GRAPH_CHARS, parse_graph
from shared.platform.http import create_app
from shared.platform.resources import Needs
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token

BACKTRACKING_GML = "graph [ directed 1 " + "node [ id 0 label " * 5300  # ~95 KB, never closed
LIVE_BUDGET_S = 0.100


@pytest.fixture()
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(title="t", needs=Needs(pg=True), routers=[router], settings=settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=60) as http:
            yield http


def _analyst(settings: Settings) -> dict[str, str]:
    return {"authorization": "Bearer " + mint_token(settings, subject="analyst-sec", roles=["analyst"])}


async def _post_while_probing(api: httpx.AsyncClient, headers: dict[str, str], graph: str) -> tuple[int, float]:
    """POST the spec and, concurrently, /health/live every 20 ms; (status, slowest probe in s)."""
    body = {"treatment": "meeting_hours", "outcome": "wellbeing", "graph": graph}
    for _ in range(3):  # warm up (first requests import and register lazily)
        await api.get("/health/live")
    post = asyncio.ensure_future(api.post("/v1/analyses", json=body, headers=headers))
    slowest = 0.0
    probes = 0
    while not post.done() or probes < 5:
        started = time.perf_counter()
        r = await api.get("/health/live")
        slowest = max(slowest, time.perf_counter() - started)
        assert r.status_code == 200
        probes += 1
        await asyncio.sleep(0.02)
    return (await post).status_code, slowest


async def test_backtracking_gml_is_refused_without_stalling_the_api(api: httpx.AsyncClient, settings: Settings) -> None:
    assert len(BACKTRACKING_GML) > 90_000
    status, slowest = await _post_while_probing(api, _analyst(settings), BACKTRACKING_GML)
    assert status == 422
    assert slowest < LIVE_BUDGET_S, f"/health/live took {slowest * 1000:.0f} ms"


@pytest.mark.parametrize(
    "graph",
    [
        "graph [ directed 1 " + "node [ id 0 label " * ((MAX_GRAPH_CHARS - 40) // 18),  # just under the cap
        "digraph { " + "a -> " * ((MAX_GRAPH_CHARS - 20) // 5),  # an unfinished DOT chain
        "digraph { " + "{ " * ((MAX_GRAPH_CHARS - 20) // 2),  # nested, never closed
    ],
    ids=["gml-under-cap", "dot-chain", "dot-nesting"],
)
async def test_pathological_graphs_under_the_cap_are_parsed_off_the_event_loop(
    api: httpx.AsyncClient, settings: Settings, graph: str
) -> None:
    assert len(graph) <= MAX_GRAPH_CHARS
    status, slowest = await _post_while_probing(api, _analyst(settings), graph)
    assert status == 422
    assert slowest < LIVE_BUDGET_S, f"/health/live took {slowest * 1000:.0f} ms"


def test_graph_size_and_node_caps() -> None:
    with pytest.raises(ValueError, match="longer than"):
        parse_graph("digraph { " + "a -> b; " * 3000 + "}")
    many = "digraph { " + " ".join(f"n{i} -> n{i + 1};" for i in range(250)) + " }"
    with pytest.raises(ValueError, match="more than 200 nodes"):
        parse_graph(many)


async def test_unauthenticated_graph_is_refused_before_parsing(api: httpx.AsyncClient) -> None:
    r = await api.post("/v1/analyses", json={"treatment": "a", "outcome": "b", "graph": BACKTRACKING_GML[:19_000]})
    assert r.status_code == 401
