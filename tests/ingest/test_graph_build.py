"""Asynchronous graph construction: rebuild from the ledger, progress in Redis, 503 while building."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from ops.processes import serve, settings_env
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token
from shared.services.graph_build import read_status, rebuild_graph
from shared.services.graph_updater import GraphUpdater
from shared.services.ingest import accept_events
from tests.ingest.helpers import assert_graph_matches, eu_core_events, expected_totals, scoped_pipeline


async def test_rebuild_restores_the_projection_and_reports_progress(
    settings: Settings, resources: Resources, data_dir: Path, run_id: str
) -> None:
    scoped, graph = await scoped_pipeline(
        settings, resources, run_id, "build", graph_build_key=f"test:{run_id}:graph:build"
    )
    events = eu_core_events(data_dir, 12_000)
    expected = expected_totals(events, scoped.privacy.pseudonymisation_key)
    for start in range(0, len(events), 1000):
        await accept_events(scoped, resources.redis, events[start : start + 1000])
    updater = GraphUpdater(scoped, resources.redis, resources.pg, graph, "solo")
    while await updater.step():
        pass
    await graph.clear()  # the projection is lost
    assert (await graph.counts()).ties == 0

    token = mint_token(scoped, subject="analyst", roles=["analyst"])
    seen: list[dict[str, Any]] = []
    env = settings_env(scoped, CO_GRAPH_NAME=scoped.graph.name, CO_GRAPH_BUILD_KEY=scoped.graph.build_key)
    with serve("functions.metrics_api.main:app", env) as base:

        async def heartbeat(progress: dict[str, Any]) -> None:
            r = httpx.get(base + "/v1/metrics/graph/live", headers={"Authorization": f"Bearer {token}"})
            seen.append(
                {
                    "progress": dict(progress),
                    "status": r.status_code,
                    "headers": dict(r.headers),
                    "body": r.json(),
                }
            )

        status = await rebuild_graph(scoped, resources.redis, resources.pg, graph, heartbeat=heartbeat)
        after = httpx.get(base + "/v1/metrics/graph/live", headers={"Authorization": f"Bearer {token}"})

    assert status.state == "ready" and status.done == status.total > 0
    assert len(seen) >= 2, "a 12k-event ledger is built in several chunks"
    assert all(s["status"] == 503 for s in seen)
    assert all(int(s["headers"]["retry-after"]) >= 1 for s in seen)
    assert all(s["body"]["error"]["code"] == "graph_not_ready" for s in seen)
    assert [s["progress"]["done"] for s in seen] == sorted(s["progress"]["done"] for s in seen)
    assert after.status_code == 200 and after.json()["ties"] == len(expected.pair_counts)
    await assert_graph_matches(graph, expected)
    assert (await read_status(resources.redis, scoped)).percent == 100.0
    await graph.clear()
    await graph.close()
