"""`task bench:web`: the organisation page's first render on email-Eu-core in headless Chromium,
and the WebSocket push latency from a graph commit to the frame at a signed-in page.

- Loads email-Eu-core (1,005 people, 25,571 ties; pseudonymised ids) into a graph and a
  database of its own, starts the dev server (every HTTP function + the web app) on loopback.
- ``first_render_ms``: a fresh browser context signs in (viewer) and opens /app/org; the figure
  is the page's own clock from navigation start to the network drawn on the canvas (median of
  ``--renders``). The first visit after the server started (igraph import + layout) is reported
  as ``first_render_cold_ms``; later ones use the layout cached for this graph version.
- ``ws_push_p95_ms``: a WebSocket client holding a viewer's session subscribes to ``graph``;
  each round writes a tie to the graph (the commit), publishes the change as the graph updater
  does, and times until the frame arrives (``--pushes`` rounds).

Prints one JSON object last (with the load average: this machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid

import httpx
from pydantic import SecretStr

from ops.browser import CHROMIUM_ARGS, chromium_path
from ops.processes import serve, settings_env
from ops.stack.config import ROOT
from shared.adapters.datasets import data_dir_for, eu_core, synthetic_weight
from shared.adapters.graph.base import PersonRow, TieRow
from shared.adapters.postgres.databases import scratch_database
from shared.domain.privacy import pseudonymise
from shared.platform.resources import Needs, open_resources
from shared.platform.settings import Settings, load_settings


async def load_graph(settings: Settings) -> int:
    teams, edges = eu_core(data_dir_for(ROOT))
    key = settings.privacy.pseudonymisation_key
    ids = {raw: pseudonymise(raw, key) for raw in teams}
    async with open_resources(settings, Needs(graph=True)) as res:
        await res.graph.ensure_schema()
        await res.graph.clear()
        await res.graph.ensure_schema()
        await res.graph.upsert_people([PersonRow(id=ids[p], version=1, team=t) for p, t in teams.items()])
        await res.graph.upsert_ties([TieRow(ids[a], ids[b], 1, synthetic_weight(a, b), 1) for a, b in set(edges)])
        return (await res.graph.counts()).people


async def render_times(base: str, renders: int) -> list[float]:
    from playwright.async_api import async_playwright

    times: list[float] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for _ in range(renders + 1):
            context = await browser.new_context(viewport={"width": 1366, "height": 860})
            page = await context.new_page()
            await page.goto(base + "/app/signin")
            await page.select_option("#role", "viewer")
            await page.click("text=Sign in as this role")
            await page.wait_for_url(base + "/app/org")
            await page.goto(base + "/app/org")  # a fresh navigation: the measured one
            await page.wait_for_function("() => window.coNetwork && window.coNetwork.nodes > 0", timeout=60_000)
            times.append(float(await page.evaluate("window.coNetwork.drawnAt")))
            await context.close()
        await browser.close()
    return times


async def push_latencies(base: str, settings: Settings, pushes: int) -> list[float]:
    import websockets

    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post("/app/signin/dev", data={"role": "viewer"}, headers={"Origin": base})
        assert r.status_code == 303, r.text
        cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies.jar)
    latencies: list[float] = []
    url = base.replace("http://", "ws://") + "/app/ws"
    async with (
        open_resources(settings, Needs(graph=True, redis=True)) as res,
        websockets.connect(url, additional_headers={"Cookie": cookie, "Origin": base}) as ws,
    ):
        await ws.recv()  # hello
        await ws.send(json.dumps({"subscribe": ["graph"]}))
        await ws.recv()  # subscribed
        for i in range(pushes):
            await res.graph.upsert_ties([TieRow("bench-a", "bench-b", i + 2, float(i + 1), i + 1)])
            committed = time.perf_counter()
            message = json.dumps({"people": ["bench-a", "bench-b"], "changed": 2, "at": time.time()})
            await res.redis.publish(settings.graph.changed_channel, message)
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if frame.get("type") == "changed" and frame.get("topic") == "graph":
                    break
            latencies.append((time.perf_counter() - committed) * 1000)
            await asyncio.sleep(0.1)
    return latencies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--renders", type=int, default=5)
    parser.add_argument("--pushes", type=int, default=100)
    args = parser.parse_args()
    base_settings = load_settings()
    run = uuid.uuid4().hex[:8]
    async with scratch_database(base_settings.postgres.dsn.get_secret_value(), f"co_bench_web_{run}") as dsn:
        settings = base_settings.replace(
            **{
                "pg_dsn": SecretStr(dsn),
                "graph_name": f"bench_web_{run}",
                "graph_changed_channel": f"bench:{run}:graph",
            }
        )
        people = await load_graph(settings)
        env = settings_env(settings, environment="local", CO_WEB_DEV_SIGN_IN="true")
        try:
            with serve("functions.dev_server.main:app", env, timeout_s=90) as base:
                renders = await render_times(base, args.renders)
                pushes = await push_latencies(base, settings, args.pushes)
        finally:
            async with open_resources(settings, Needs(graph=True)) as res:
                await res.graph.clear()
    q = statistics.quantiles(pushes, n=100, method="inclusive")
    print(
        json.dumps(
            {
                "first_render_ms": round(statistics.median(renders[1:]), 1),
                "first_render_cold_ms": round(renders[0], 1),
                "first_render_max_ms": round(max(renders[1:]), 1),
                "ws_push_p50_ms": round(q[49], 2),
                "ws_push_p95_ms": round(q[94], 2),
                "ws_push_max_ms": round(max(pushes), 2),
                "people": people,
                "renders": len(renders) - 1,
                "pushes": len(pushes),
                "load_average_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
