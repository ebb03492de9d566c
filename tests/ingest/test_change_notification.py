"""After each commit the updater says who changed (pub/sub + graph.updated CloudEvent) and drops
cached graph reads, so the next read is fresh."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx

from ops.processes import free_port, serve, settings_env
from shared.adapters.graph import build_graph_store
from shared.domain.privacy import pseudonymise
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token
from shared.services.graph_updater import GraphUpdater
from shared.services.ingest import accept_events
from tests.ingest.helpers import eu_core_events


class Sink(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []  # noqa: RUF012 - test double's inbox

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["content-length"]))
        Sink.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


async def test_commit_publishes_changes_and_invalidates_cached_reads(
    settings: Settings, resources: Resources, data_dir: Path, run_id: str
) -> None:
    port = free_port()
    sink = HTTPServer(("127.0.0.1", port), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    scoped = settings.replace(
        **{
            "stream_name": f"test:{run_id}:notify",
            "graph_name": f"test_{run_id}_notify",
            "graph_changed_channel": f"test:{run_id}:changed",
            "events_sink_url": f"http://127.0.0.1:{port}/",
        }
    )
    graph = build_graph_store(scoped)
    await graph.ensure_schema()
    events = eu_core_events(data_dir, 400)
    updater = GraphUpdater(scoped, resources.redis, resources.pg, graph, "notify")
    await accept_events(scoped, resources.redis, events[:200])
    while await updater.step():
        pass

    token = mint_token(scoped, subject="analyst", roles=["analyst"])  # live totals: an analyst view
    headers = {"Authorization": f"Bearer {token}"}
    env = settings_env(scoped, CO_GRAPH_NAME=scoped.graph.name)
    pubsub = resources.redis.pubsub()
    await pubsub.subscribe(scoped.graph.changed_channel)
    try:
        with serve("functions.metrics_api.main:app", env) as base:
            first = httpx.get(base + "/v1/metrics/graph/live", headers=headers)
            again = httpx.get(base + "/v1/metrics/graph/live", headers=headers)
            assert (first.headers["x-cache"], again.headers["x-cache"]) == ("MISS", "HIT")
            Sink.received.clear()
            await accept_events(scoped, resources.redis, events[200:])
            while await updater.step():
                pass
            fresh = httpx.get(base + "/v1/metrics/graph/live", headers=headers)
            assert fresh.headers["x-cache"] == "MISS"
            assert fresh.json()["ties"] > first.json()["ties"]
        message = None
        for _ in range(50):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message:
                break
        assert message is not None, "no graph-changed message"
        changed = json.loads(message["data"])["people"]
        actor = pseudonymise(events[200].actor, scoped.privacy.pseudonymisation_key)
        assert actor in changed
        for _ in range(50):
            if Sink.received:
                break
            await asyncio.sleep(0.05)
        ce_headers, body = Sink.received[0]
        assert json.loads(body)["type"] == "com.causalorganism.graph.updated"
        assert actor in json.loads(body)["data"]["people"]
    finally:
        await pubsub.aclose()
        sink.shutdown()
        await graph.clear()
        await graph.close()
