"""`./dev demo`: the real stack end to end on the real email-Eu-core network.

Stages (each capability adds one):
1. functions up: the dev HTTP server (every HTTP function), a graph updater consumer and the
   Temporal worker, as separate processes;
2. ingest: every email-Eu-core edge becomes an email event (department = team hint), posted
   through the real ingest endpoint, streamed, applied exactly once to the ledger and the graph
   (re-running the demo re-sends the same event ids: nothing is counted twice);
3. read back through the HTTP API;
4. metrics: materialised betweenness/clustering, top bridges, most overloaded teams;
5. causal: an analysis on a generated organisation (effect, interval, verdict);
6. interventions: propose, auto-execute low impact, approve high impact, roll back;
7. the URLs a person can open.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from ops.processes import answers
from ops.stack.config import ROOT
from shared.adapters.datasets import data_dir_for, eu_core_departments, eu_core_edges
from shared.adapters.streams import lag
from shared.platform.resources import Needs, open_resources
from shared.platform.settings import Settings, load_settings
from shared.platform.tokens import mint_token
from shared.services.ingest import stream_names
from shared.services.replay import replay

DATA = data_dir_for(ROOT)  # real data, never copied here
LOGS = ROOT / "var" / "log"


def out(line: str = "") -> None:
    print(line, flush=True)


@contextmanager
def process(name: str, args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = (LOGS / f"demo-{name}.log").open("ab")
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def wait_http(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not answers(url, timeout_s=2.0):
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer within {timeout_s}s (see {LOGS})")
        time.sleep(0.2)


def eu_core_events() -> Iterator[dict[str, Any]]:
    """email-Eu-core as email events: stable ids, department as the team hint, spread over 60 days."""
    departments = eu_core_departments(DATA)
    edges = list(eu_core_edges(DATA))
    end = datetime.now(UTC) - timedelta(minutes=5)
    step = timedelta(days=60) / max(len(edges), 1)
    for n, (src, dst) in enumerate(edges):
        if src == dst:
            continue
        actor, participant = f"eu-core:{src}", f"eu-core:{dst}"
        yield {
            "event_id": f"eu-core-{n}",
            "kind": "email",
            "actor": actor,
            "participants": [participant],
            "occurred_at": (end - step * (len(edges) - n)).isoformat(),
            "teams": {
                actor: f"dept-{departments.get(src, 'unknown')}",
                participant: f"dept-{departments.get(dst, 'unknown')}",
            },
        }


async def ingest_stage(settings: Settings, api: str) -> None:
    token = mint_token(settings, subject="demo-ingest", roles=["service"])
    started = time.perf_counter()
    report = await replay(eu_core_events(), url=api + "/v1/events", token=token, rate=None, batch_size=1000)
    out(
        f"ingest: {report.accepted:,} email events accepted over HTTP in {report.seconds:.1f} s "
        f"({report.rejected_batches} batches rejected)"
    )
    async with open_resources(settings, Needs(redis=True)) as r:
        names = stream_names(settings)
        while True:
            state = await lag(r.redis, names)
            if state["lag"] == 0 and state["pending"] == 0:
                break
            await asyncio.sleep(0.2)
    out(
        f"ingest: stream drained into the ledger and the graph "
        f"{time.perf_counter() - started:.1f} s after the first request"
    )


def read_back_stage(settings: Settings, api: str) -> str:
    analyst = {"Authorization": f"Bearer {mint_token(settings, subject='demo-analyst', roles=['analyst'])}"}
    viewer = {"Authorization": f"Bearer {mint_token(settings, subject='demo-viewer', roles=['viewer'])}"}
    reply = httpx.get(api + "/v1/metrics/graph/live", headers=analyst, timeout=30)
    if reply.status_code != 200:
        raise SystemExit(f"/v1/metrics/graph/live answered {reply.status_code}: {reply.text[:300]}")
    stats = reply.json()
    out(
        f"read back over HTTP: {stats['people']:,} people, {stats['ties']:,} ties, "
        f"total weight {stats['total_weight']:,.0f}"
    )
    from shared.domain.privacy import pseudonymise

    someone = pseudonymise("eu-core:160", settings.privacy.pseudonymisation_key)
    person = httpx.get(api + f"/v1/metrics/employees/{someone}", headers=analyst, timeout=30)
    if person.status_code == 200:
        m = person.json()
        out(
            f"employee {someone} (pseudonymous): team {m.get('team')}, out-degree {m.get('out_degree')}, "
            f"in-degree {m.get('in_degree')}, weighted degree {m.get('weighted_degree')}"
        )
    denied = httpx.get(api + f"/v1/metrics/employees/{someone}", headers=viewer, timeout=30)
    out(f"the same individual view as a viewer: HTTP {denied.status_code} ({denied.json()['error']['code']})")
    return someone


async def run(args: argparse.Namespace) -> None:
    settings = load_settings()
    env = dict(os.environ) | {"PYTHONPATH": str(ROOT), "CO_API_BASE_URL": f"http://127.0.0.1:{args.port}"}
    api = f"http://127.0.0.1:{args.port}"
    out("== Causal Organism demo: real servers, real email-Eu-core data ==")
    with (
        process(
            "api",
            [
                "-m",
                "uvicorn",
                "functions.dev_server.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(args.port),
                "--log-level",
                "warning",
            ],
            env,
        ),
        process("graph-updater", ["-m", "functions.graph_updater.main", "--consumer", "demo-1"], env),
        process("worker", ["-m", "workflows.worker"], env),
    ):
        wait_http(api + "/health/live", timeout_s=240)  # importing every function: ~4 CPU s, minutes at load 30
        ready = httpx.get(api + "/health/ready", timeout=10).json()
        out(
            "functions up; readiness: "
            + ", ".join(f"{k}={'ok' if v.get('ok') else 'DOWN'}" for k, v in ready["checks"].items())
        )
        out("\n-- ingestion --")
        await ingest_stage(settings, api)
        out("\n-- read side --")
        read_back_stage(settings, api)
        async with open_resources(settings, Needs(graph=True, redis=True, pg=True, s3=True)) as resources:
            stages = [
                ("metrics", "ops.metrics_demo"),
                ("networks over time", "ops.periods_demo"),
                ("causal analysis", "ops.causal_demo"),
                ("interventions", "ops.interventions_demo"),
                ("security", "ops.security_demo"),
                ("data protection", "ops.privacy_demo"),
                ("backups", "ops.backup_demo"),
                ("observability", "ops.observability_demo"),
                ("web app", "ops.web_demo"),
            ]
            for title, module in stages:
                out(f"\n-- {title} --")
                stage = __import__(module, fromlist=["demo_stage"]).demo_stage
                await stage(resources, out)
        out("\n-- open these --")
        out(f"Web app (while `./dev serve` runs): {api}/app/  (what to click: see 'web app' above)")
        out(f"API docs (while `./dev serve` runs): {api}/docs")
        out(f"Temporal Web UI: {settings.temporal.ui_url}")
        out("Local servers: ./dev status")
    out("demo finished")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_port = urlsplit(os.environ.get("CO_API_BASE_URL", "")).port or 8000  # a checkout's own port
    parser.add_argument("--port", type=int, default=default_port)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
