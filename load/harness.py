"""`./dev load:smoke` / `./dev load:full`: the load profile, headless, with its gates.

Everything runs on the real local stack in a scratch PostgreSQL database, graph, stream, cache
prefix and task queue of its own (dropped afterwards):

1. seed the seed's organisation: 2,000 people in 100 teams with their collaboration ties in the
   graph, one metrics refresh, and 12 weeks of metrics, outcomes and attributes in the ledger;
2. start the functions as the stack runs them: the dev server (every HTTP function), one
   Temporal worker (every workflow), one graph updater (the stream consumer) and the workplace
   simulator (the system interventions act on);
3. run one real analysis through the API (the evidence analysts' proposals cite);
4. run Locust headless (load/locustfile.py): HTML and CSV under var/reports/, the gates
   evaluated from Locust's statistics (load/gates.py) into ``<prefix>_gates.json``.

The exit status is Locust's (1 when a gate is missed). All simulated users share one loopback
address, so the per-address rate-limit factor is raised; every user's own budget still applies.
The last stdout line is one JSON object: the gates' figures, wall and CPU seconds (the started
processes and this worktree's servers) and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
import redis.asyncio as aioredis

from load.profile import EMPLOYEES, RUNS, Run
from ops.bench_metrics import synthetic_org
from ops.processes import answers, free_port, serve, settings_env
from ops.stack.config import ROOT, port
from shared.adapters.graph.base import PersonRow, TieRow
from shared.adapters.postgres.databases import create_database, drop_database
from shared.domain.privacy import pseudonymise
from shared.domain.synthetic_org import generate_org
from shared.platform.resources import Needs, open_resources
from shared.platform.settings import Settings, load_settings
from shared.platform.tokens import mint_token
from shared.services.metrics_refresh import refresh_metrics
from shared.services.synthetic_org import load_org

REPORTS = ROOT / "var" / "reports"
WEEKS = 4
ANALYSIS_SPEC = {
    "treatment": "meeting_hours",
    "outcome": "wellbeing",
    "confounders": ["team", "role", "tenure_years"],
    "window": {"start": "2026-01-05", "end": "2026-01-12"},  # 2 weeks of 2,000 people: 4,000 rows
    "refuter_simulations": 2,
}
WARM_UP = ("/v1/metrics/graph", "/v1/metrics/teams", "/v1/metrics/bridges?limit=20", "/v1/metrics/graph/live")
CONTENDED_LOAD_PER_CORE = 3.0  # above this the latency figures measure the scheduler, not the service
STACK_SERVERS = ("postgres", "redis", "falkordb", "temporal")


def log(msg: str) -> None:
    print(f"[load] {msg}", file=sys.stderr, flush=True)


def run_settings(run: str, dsn: str, simulator_url: str) -> Settings:
    return load_settings(
        pg_dsn=dsn,
        graph_name=f"load_{run}",
        stream_name=f"load:{run}:interactions",
        dead_letter_stream=f"load:{run}:interactions:dead",
        cache_prefix=f"load:{run}:cache",
        cache_channel=f"load:{run}:cache:invalidate",
        rate_limit_prefix=f"load:{run}:rl",
        rate_limit_ip_factor=10_000.0,
        temporal_task_queue=f"load-{run}",
        simulator_url=simulator_url,
        monitoring_window_s=5.0,
        rollback_window_s=60.0,
        worker_metrics_port=0,
        worker_sdk_metrics_port=0,
        consumer_metrics_port=0,
        log_level="WARNING",
    )


async def seed(settings: Settings) -> dict[str, Any]:
    """The organisation in the graph (pseudonymised, as ingest stores it) and in the ledger."""
    key = settings.privacy.pseudonymisation_key
    teams, ties = synthetic_org(EMPLOYEES, team_size=20, seed=18)
    pseudo = {raw: pseudonymise(raw, key) for raw in teams}
    async with open_resources(settings, Needs(graph=True, redis=True, pg=True)) as res:
        await res.graph.ensure_schema()
        await res.graph.upsert_people([PersonRow(id=pseudo[p], version=1, team=t) for p, t in teams.items()])
        await res.graph.upsert_ties([TieRow(pseudo[t.src], pseudo[t.dst], 1, t.weight, t.count) for t in ties])
        refreshed = await refresh_metrics(res, trigger="load-seed", force=True)
        assert refreshed.status == "succeeded", refreshed
        await load_org(res, generate_org(18, people=EMPLOYEES, weeks=WEEKS))
    return {
        "people": sorted(pseudo.values()),
        "teams": sorted(set(teams.values())),
        "raw_people": sorted(teams),
        "raw_team": teams,
        "analysis_spec": ANALYSIS_SPEC,
    }


@contextmanager
def process(args: list[str], env: dict[str, str], name: str, logs: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A function's process with its output in ``logs``."""
    with logs.open("ab") as out:
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    log(f"started {name} (pid {proc.pid}, log {logs.relative_to(ROOT)})")
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_ok(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not answers(url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer")
        time.sleep(0.2)


def evidence_analysis(base: str, settings: Settings, timeout_s: float = 600) -> str:
    """One real analysis through the API and the worker (its id is the proposals' evidence);
    meanwhile every read route is called once, so the run starts on warm pools and imports."""
    token = mint_token(settings, subject="load-seed-analyst", roles=["analyst"])
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        for path in WARM_UP:
            http.get(path).raise_for_status()
        r = http.post("/v1/analyses", json=ANALYSIS_SPEC)
        r.raise_for_status()
        aid: str = r.json()["id"]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status = http.get(f"/v1/analyses/{aid}").json()["status"]
            if status == "succeeded":
                return aid
            if status in ("failed", "cancelled"):
                raise RuntimeError(f"the evidence analysis {aid} {status}")
            time.sleep(1)
    raise RuntimeError(f"the evidence analysis {aid} did not finish in {timeout_s:.0f} s")


def stack_processes() -> list[psutil.Process]:
    """This worktree's stack servers (the processes listening on its CO_*_PORTs) and their children."""
    ports = {port(name) for name in STACK_SERVERS}
    found: dict[int, psutil.Process] = {}
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port in ports and conn.pid:
            proc = psutil.Process(conn.pid)
            for p in [proc, *proc.children(recursive=True)]:
                found[p.pid] = p
    return list(found.values())


def cpu_seconds(procs: list[psutil.Process]) -> dict[int, float]:
    out: dict[int, float] = {}
    for p in procs:
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            continue
    return out


async def terminate_workflows(settings: Settings) -> None:
    """Best effort: no run leaves workflows waiting on a task queue nobody polls any more."""
    from temporalio.client import Client

    try:
        client = await Client.connect(settings.temporal.address, namespace=settings.temporal.namespace)
        query = f"TaskQueue = '{settings.temporal.task_queue}' AND ExecutionStatus = 'Running'"
        async for wf in client.list_workflows(query):
            await client.get_workflow_handle(wf.id).terminate("load run finished")
    except Exception as exc:  # noqa: BLE001 - cleanup must not hide the run's result
        log(f"could not terminate the run's workflows: {exc}")


async def drop_run_data(settings: Settings, run: str) -> None:
    async with open_resources(settings, Needs(graph=True, redis=True)) as res:
        async for key in res.redis.scan_iter(match=f"load:{run}:*", count=1000):
            await res.redis.unlink(key)
        await res.graph.clear()
    await delete_graph(settings)


async def delete_graph(settings: Settings) -> None:
    """``clear`` empties a graph; on FalkorDB the empty graph's key stays until GRAPH.DELETE."""
    if settings.graph.backend != "falkordb":
        return
    client = aioredis.Redis(host=settings.graph.falkordb.host, port=settings.graph.falkordb.port)
    try:
        if settings.graph.name.encode() in await client.execute_command("GRAPH.LIST"):
            await client.execute_command("GRAPH.DELETE", settings.graph.name)
    finally:
        await client.aclose()


def locust_command(plan: Run, base: str, prefix: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "load" / "locustfile.py"),
        "--headless",
        "--users",
        str(plan.users),
        "--spawn-rate",
        str(plan.spawn_rate),
        "--run-time",
        f"{plan.run_time_s}s",
        "--stop-timeout",
        "10",
        "--host",
        base,
        "--csv",
        str(prefix),
        "--html",
        f"{prefix}.html",
        "--only-summary",
    ]


async def cleanup(settings: Settings, run: str) -> None:
    await terminate_workflows(settings)
    await drop_run_data(settings, run)


def run_profile(plan: Run) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    base_dsn = load_settings().postgres.dsn.get_secret_value()
    REPORTS.mkdir(parents=True, exist_ok=True)
    prefix = REPORTS / f"load-{plan.name}"
    for stale in REPORTS.glob(f"load-{plan.name}*"):
        stale.unlink()
    load_start = os.getloadavg()
    wall_start = time.monotonic()
    dsn = asyncio.run(create_database(base_dsn, f"co_load_{run}"))
    sim_port = free_port()
    settings = run_settings(run, dsn, f"http://127.0.0.1:{sim_port}")  # the simulator's URL is a setting
    env = {**os.environ, **settings_env(settings), "PYTHONPATH": str(ROOT)}
    context_file = Path(tempfile.mkstemp(prefix="co-load-", suffix=".json")[1])
    try:
        log(f"seeding {EMPLOYEES} people")
        context = asyncio.run(seed(settings))
        seeded_s = time.monotonic() - wall_start
        with ExitStack() as stack:
            sim_env = {**env, "CO_SIMULATOR_PORT": str(sim_port)}
            consumer = ["-m", "functions.graph_updater.main", "--consumer", "load-1"]
            started = [
                stack.enter_context(
                    process(
                        ["-m", "functions.workplace_simulator.main"],
                        sim_env,
                        "simulator",
                        Path(f"{prefix}-simulator.log"),
                    )
                ),
                stack.enter_context(process(["-m", "workflows.worker"], env, "worker", Path(f"{prefix}-worker.log"))),
                stack.enter_context(process(consumer, env, "graph updater", Path(f"{prefix}-consumer.log"))),
            ]
            wait_ok(f"http://127.0.0.1:{sim_port}/health")
            base = stack.enter_context(serve("functions.dev_server.main:app", env))
            server = [p for p in psutil.Process().children() if p.pid not in {s.pid for s in started}]
            log("running the evidence analysis")
            context["evidence_analysis_id"] = evidence_analysis(base, settings)
            context_file.write_text(json.dumps(context))
            # in production the worker has nodes of its own; here it shares two cores with the API,
            # so during the run its analyses get a lower CPU priority than requests (docs/benchmarks.md)
            psutil.Process(started[1].pid).nice(10)
            ready_s = time.monotonic() - wall_start
            involved = [psutil.Process(p.pid) for p in started] + server + stack_processes()
            cpu_before = cpu_seconds(involved)
            client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            run_start = time.monotonic()
            log(f"locust: {plan.users} users for {plan.run_time_s} s against {base}")
            locust = subprocess.run(
                locust_command(plan, base, prefix), cwd=ROOT, env={**env, "CO_LOAD_CONTEXT": str(context_file)}
            )
            run_s = time.monotonic() - run_start
            client_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu_after = cpu_seconds(involved)
    finally:
        context_file.unlink(missing_ok=True)
        asyncio.run(cleanup(settings, run))
        asyncio.run(drop_database(base_dsn, f"co_load_{run}"))
    gates_file = Path(f"{prefix}_gates.json")
    gates = json.loads(gates_file.read_text()) if gates_file.exists() else {"passed": False, "failures": ["no gates"]}
    cpu_run = sum(cpu_after.get(pid, 0.0) - before for pid, before in cpu_before.items())
    client_cpu = client_after.ru_utime + client_after.ru_stime - client_before.ru_utime - client_before.ru_stime
    return {
        "run": plan.name,
        "users": plan.users,
        "run_time_s": plan.run_time_s,
        "passed": bool(gates.get("passed")) and locust.returncode == 0,
        "locust_exit": locust.returncode,
        "read_p95_ms": gates.get("read", {}).get("p95_ms"),
        "write_p95_ms": gates.get("write", {}).get("p95_ms"),
        "error_rate": gates.get("error_rate"),
        "read_requests": gates.get("read", {}).get("requests"),
        "write_requests": gates.get("write", {}).get("requests"),
        "read_rps": gates.get("read", {}).get("rps"),
        "write_rps": gates.get("write", {}).get("rps"),
        "cache": gates.get("cache"),
        "failures": gates.get("failures"),
        "seed_s": round(seeded_s, 1),
        "setup_s": round(ready_s, 1),
        "run_wall_s": round(run_s, 1),
        "run_cpu_s": round(cpu_run, 1),
        "locust_cpu_s": round(client_cpu, 1),
        "total_wall_s": round(time.monotonic() - wall_start, 1),
        "contended": max(load_start[0], os.getloadavg()[0]) > CONTENDED_LOAD_PER_CORE * (os.cpu_count() or 1),
        "loadavg_start": [round(x, 2) for x in load_start],
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "reports": [str(p.relative_to(ROOT)) for p in sorted(REPORTS.glob(f"load-{plan.name}*"))],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", choices=sorted(RUNS))
    parser.add_argument("--users", type=int, help="override the run's users")
    parser.add_argument("--run-time", type=int, help="override the run's seconds")
    args = parser.parse_args(argv)
    plan = RUNS[args.run]
    if args.users or args.run_time:
        plan = Run(plan.name, args.users or plan.users, plan.spawn_rate, args.run_time or plan.run_time_s)
    result = run_profile(plan)
    print(json.dumps(result))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
