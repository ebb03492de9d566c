"""Interventions by hand: `demo` (the demo stage) and `bench` (audit log and workflow figures).

Both run in a fresh, migrated PostgreSQL database of their own (dropped afterwards), so they
never touch the main database's audit log. `bench` prints ONE JSON object on its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import httpx

from ops.interventions_demo import demo_stage
from ops.processes import free_port
from ops.stack.config import ROOT
from shared.adapters.postgres.databases import scratch_database
from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import Settings, load_settings


@asynccontextmanager
async def scratch_resources(prefix: str) -> AsyncIterator[Resources]:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    async with (
        scratch_database(load_settings().postgres.dsn.get_secret_value(), name) as scratch,
        open_resources(load_settings(pg_dsn=scratch), Needs(pg=True)) as res,
    ):
        yield res


async def demo() -> None:
    async with scratch_resources("co_demo_iv") as res:
        await demo_stage(res, print)


async def _bench_audit(res: Resources) -> dict[str, float]:
    from shared.adapters.postgres.audit import AuditStore

    store = AuditStore(res.pg, res.settings.audit.key)
    writers, per_writer = 8, 250

    async def writer(w: int) -> None:
        for i in range(per_writer):
            await store.append(
                event_key=f"bench:{w}:{i}",
                intervention_id=f"bench-{w}",
                event="step",
                actor="bench",
                details={"w": w, "i": i, "note": "x" * 64},
            )

    started = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    append_s = time.perf_counter() - started
    started = time.perf_counter()
    report = await store.verify()
    verify_s = time.perf_counter() - started
    assert report.ok and report.rows == writers * per_writer
    return {
        "audit_append_rows_per_s_8_writers": round(writers * per_writer / append_s, 1),
        "audit_verify_rows_per_s": round(report.rows / verify_s, 1),
    }


async def _bench_workflows(res: Resources, n: int = 20) -> dict[str, float]:
    from temporalio.client import Client
    from temporalio.worker import Worker

    from shared.adapters.postgres.audit import AuditStore
    from shared.domain.interventions import Evidence, InterventionType, Proposal, Target, Verdict
    from shared.services.interventions import build_input, workflow_id
    from workflows.intervention import WORKFLOWS
    from workflows.intervention.activities import build

    port = free_port()
    env = {**__import__("os").environ, "CO_SIMULATOR_PORT": str(port)}
    sim = subprocess.Popen([sys.executable, "-m", "functions.workplace_simulator.main"], cwd=ROOT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        settings: Settings = res.settings.replace(**{"simulator_url": url})
        client = await Client.connect(settings.temporal.address)
        queue = f"bench-iv-{uuid.uuid4().hex[:6]}"
        acts = build(settings, AuditStore(res.pg, settings.audit.key))
        ev = Evidence("bench", "meeting_hours", "wellbeing", -0.4, -0.5, -0.3, Verdict.ROBUST)
        latencies: list[float] = []
        with ThreadPoolExecutor(8) as pool:
            async with Worker(
                client, task_queue=queue, workflows=WORKFLOWS, activities=acts.all(), activity_executor=pool
            ):

                async def one(i: int) -> None:
                    p = Proposal(
                        uuid.uuid4().hex[:12],
                        InterventionType.FOCUS_TIME_BLOCK,
                        Target(people=(f"b{i}-a", f"b{i}-b")),
                        {"hours_per_week": 2},
                        ev,
                        "bench",
                    )
                    inp = build_input(p, settings, monitoring_window_s=0, rollback_window_s=0)
                    t = time.perf_counter()
                    result = await client.execute_workflow(
                        "InterventionWorkflow", inp, id=workflow_id(p.intervention_id), task_queue=queue
                    )
                    latencies.append((time.perf_counter() - t) * 1000)
                    assert result["status"] == "completed", result

                await one(-1)  # warm-up
                latencies.clear()
                started = time.perf_counter()
                await asyncio.gather(*(one(i) for i in range(n)))
                wall = time.perf_counter() - started
        latencies.sort()
        return {
            "workflow_low_impact_end_to_end_p50_ms": round(statistics.median(latencies), 1),
            "workflow_low_impact_end_to_end_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
            "workflows_per_s_20_concurrent": round(n / wall, 2),
        }
    finally:
        sim.terminate()
        sim.wait(10)


async def bench() -> None:
    async with scratch_resources("co_bench_iv") as res:
        figures = await _bench_audit(res)
        figures.update(await _bench_workflows(res))
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["demo", "bench"])
    args = parser.parse_args()
    asyncio.run(demo() if args.command == "demo" else bench())


if __name__ == "__main__":
    main()
