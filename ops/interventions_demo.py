"""Demo stage for interventions: ``await demo_stage(resources, out)``.

Self-contained: it starts the workplace simulator, a Temporal worker (``python -m
workflows.worker``) and the interventions HTTP API as subprocesses on free loopback ports, with
its own task queue, and stops them at the end. It needs the stack (PostgreSQL migrated,
Temporal dev server) and ``resources.pg``.

Steps, each printed through ``out``: take a robust causal result as evidence (the newest robust
row of ``analyses``; if there is none, run a small in-process DoWhy analysis on a seeded
synthetic organisation) -> propose a low-impact intervention, which executes without approval
-> propose a high-impact one, which waits in the approval queue -> approve it through the HTTP
API as an approver -> plant a negative outcome so the monitoring step rolls it back
automatically -> roll the low-impact one back by hand through the API -> verify the audit chain.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from ops.processes import free_port, wait_http
from ops.stack.config import ROOT
from shared.adapters.postgres.audit import AuditStore
from shared.adapters.postgres.causal_store import CausalStore
from shared.adapters.postgres.intervention_findings import InterventionFindings
from shared.domain.interventions import Evidence, InterventionType, Proposal, Target, plan_actions
from shared.platform.resources import Resources

MONITORING_S = 6.0


async def _wait_log(path: Path, text: str, proc: subprocess.Popen[bytes], timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        log = await asyncio.to_thread(path.read_text, errors="replace")
        if text in log:
            return
        if proc.poll() is not None:
            raise RuntimeError(f"process exited: {log[-2000:]}")
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{text!r} not seen in {path}")


async def find_evidence(resources: Resources, out: Callable[[str], None]) -> tuple[Evidence, list[str]]:
    """A robust result from the analyses table, else a small in-process analysis."""
    from shared.services.intervention_cycle import robust_findings

    findings = InterventionFindings(resources.pg)
    try:
        found = await robust_findings(findings, lookback_hours=24 * 365)
    except Exception:  # noqa: BLE001 - no causal tables yet: fall back below
        found = []
    for ev in found:
        if ev.treatment == "meeting_hours" and ev.effect < 0:
            people, _ = await findings.most_exposed(ev.treatment, 5)
            if len(people) == 5:  # the stages below use five distinct people
                out(f"evidence: stored analysis {ev.analysis_id} ({ev.treatment} -> {ev.outcome})")
                return ev, people
    out("evidence: no stored robust meeting-hours result; running a small in-process DoWhy analysis")
    spec, result, people = await asyncio.to_thread(_in_process_analysis, out)
    # stored like any analysis: a proposal's evidence is a stored analysis id (the API loads it)
    store = CausalStore(resources.pg)
    analysis_id = await store.create(spec, "demo")
    await store.complete(analysis_id, result, {"engine": "pandas", "source": "intervention demo, synthetic org"})
    return Evidence.from_result(analysis_id, result), people


def _in_process_analysis(out: Callable[[str], None]) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    from shared.adapters.causal.pandas_engine import run_pandas
    from shared.domain.analysis import AnalysisSpec
    from shared.domain.synthetic_org import generate_org

    # moderate team confounding: with the default (team load 3 on meetings, -4 on wellbeing) a hidden
    # confounder as strong as the team would explain the effect away, and the verdict says so
    org = generate_org(seed=11, people=150, weeks=8, load_on_treatment=1.0, load_on_outcome=-1.0)
    frame = org.frame()
    spec = AnalysisSpec(**org.spec_kwargs(), refuter_simulations=5, seed=1)
    result = run_pandas(frame, spec)
    out(
        f"  synthetic org (planted effect {org.true_effect}): estimated {result.effect:.3f} "
        f"[{result.ci_low:.3f}, {result.ci_high:.3f}], verdict {result.verdict}"
    )
    latest = frame.sort_values("period").groupby("employee").tail(1)
    people = list(latest.sort_values("meeting_hours", ascending=False)["employee"].head(5))
    return spec.model_dump(mode="json"), result.model_dump(mode="json"), people


async def demo_stage(resources: Resources, out: Callable[[str], None]) -> None:
    settings = resources.settings
    queue = f"demo-interventions-{uuid.uuid4().hex[:6]}"
    sim_port, api_port = free_port(), free_port()
    sim_url, api_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{api_port}"
    workdir = Path(tempfile.mkdtemp(prefix="co-demo-iv-"))
    keys, public = settings.auth.private_key_file, settings.auth.public_keys_dir
    if keys is None or not keys.exists():  # no local signing key: a throwaway pair for this demo
        from shared.platform.tokens import generate_local_keypair

        keys, public = generate_local_keypair(workdir / "keys"), workdir / "keys" / "jwt_public"
    env = {
        **os.environ,
        "CO_PG_DSN": settings.postgres.dsn.get_secret_value(),
        "CO_GRAPH_NAME": settings.graph.name,
        "CO_SIMULATOR_PORT": str(sim_port),
        "CO_SIMULATOR_URL": sim_url,
        "CO_TEMPORAL_ADDRESS": settings.temporal.address,
        "CO_TEMPORAL_NAMESPACE": settings.temporal.namespace,
        "CO_TEMPORAL_TASK_QUEUE": queue,
        "CO_INTERVENTION_TASK_QUEUE": queue,
        "CO_MONITORING_WINDOW_S": str(MONITORING_S),
        "CO_ROLLBACK_WINDOW_S": "600",
        "CO_JWT_PRIVATE_KEY_FILE": str(keys),
        "CO_JWT_PUBLIC_KEYS_DIR": str(public or keys.parent / "jwt_public"),
        # the demo's own worker already serves the configured metrics ports: this one takes free ones
        "CO_WORKER_METRICS_PORT": str(free_port()),
        "CO_WORKER_SDK_METRICS_PORT": str(free_port()),
    }
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(args: list[str], log: str) -> tuple[subprocess.Popen[bytes], Path]:
        path = workdir / log
        handle = path.open("wb")
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=handle, stderr=handle)
        procs.append(proc)
        return proc, path

    try:
        out(f"starting the workplace simulator ({sim_url}), a worker (queue {queue}) and the API ({api_url})")
        spawn(["-m", "functions.workplace_simulator.main"], "simulator.log")
        worker, worker_log = spawn(["-m", "workflows.worker"], "worker.log")
        spawn(
            [
                "-m",
                "uvicorn",
                "functions.interventions_api.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(api_port),
            ],
            "api.log",
        )
        await wait_http(f"{sim_url}/health")
        await wait_http(f"{api_url}/health/live")
        await _wait_log(worker_log, "worker running", worker)
        await _run(resources, out, env, sim_url, api_url)
        out(f"logs: {workdir}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _token(env: dict[str, str], role: str, subject: str) -> dict[str, str]:
    from shared.platform.settings import load_settings
    from shared.platform.tokens import mint_token

    s = load_settings(jwt_private_key_file=Path(env["CO_JWT_PRIVATE_KEY_FILE"]))
    return {"authorization": "Bearer " + mint_token(s, subject=subject, roles=[role], ttl_s=900)}


async def _status(api: httpx.AsyncClient, env: dict[str, str], iid: str, *wanted: str, timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    headers = _token(env, "analyst", "demo-analyst")
    while time.monotonic() < deadline:
        r = await api.get(f"/v1/interventions/{iid}", headers=headers)
        if r.status_code == 200 and r.json()["status"] in wanted:
            return r.json()
        await asyncio.sleep(0.3)
    raise RuntimeError(f"intervention {iid} did not reach {wanted}")


async def _run(
    resources: Resources, out: Callable[[str], None], env: dict[str, str], sim_url: str, api_url: str
) -> None:
    evidence, people = await find_evidence(resources, out)
    out(
        f"  effect {evidence.effect:.3f} [{evidence.ci_low:.3f}, {evidence.ci_high:.3f}] "
        f"verdict={evidence.verdict.value} robust={evidence.is_robust}; targets: {', '.join(people[:5])}"
    )
    ev = {
        "analysis_id": evidence.analysis_id,
        "treatment": evidence.treatment,
        "outcome": evidence.outcome,
        "effect": evidence.effect,
        "ci_low": evidence.ci_low,
        "ci_high": evidence.ci_high,
        "verdict": evidence.verdict.value,
    }
    analyst = _token(env, "analyst", "demo-analyst")
    approver = _token(env, "approver", "demo-approver")
    async with (
        httpx.AsyncClient(base_url=api_url, timeout=60) as api,
        httpx.AsyncClient(base_url=sim_url, timeout=30) as sim,
    ):
        # 1. low impact: executes without approval
        low_body = {
            "type": InterventionType.FOCUS_TIME_BLOCK.value,
            "target": {"people": people[:3], "teams": []},
            "parameters": {"hours_per_week": 3},
            "evidence": ev,
        }
        low = (await api.post("/v1/interventions", json=low_body, headers=analyst)).json()
        out(f"proposed {low['intervention_id']}: focus block, 3 people, impact {low['impact']['level']}")
        got = await _status(api, env, low["intervention_id"], "monitoring", "succeeded")
        counts = (await sim.get("/admin/counts", params={"prefix": low["workflow_id"] + ":"})).json()
        out(f"  ran without approval: status {got['status']}, simulator applied {counts['applied']} steps")

        # 2. high impact: waits for an approver
        high_body = {
            "type": InterventionType.MEETING_LOAD_CAP.value,
            "target": {"people": people[:3], "teams": []},
            "parameters": {"max_meeting_hours": 6},
            "evidence": ev,
        }
        nudge_body = {
            "type": InterventionType.MANAGER_NUDGE.value,
            "target": {"people": people[3:5], "teams": []},
            "parameters": {"urgency": 1},
            "evidence": ev,
        }
        high = (await api.post("/v1/interventions", json=nudge_body, headers=analyst)).json()
        out(
            f"proposed {high['intervention_id']}: manager_nudge -> impact {high['impact']['level']} "
            f"({'; '.join(high['impact']['reasons'][-1:])})"
        )
        await _status(api, env, high["intervention_id"], "awaiting_approval")
        queue = (await api.get("/v1/approvals/pending", headers=approver)).json()
        mine = next(x for x in queue if x["intervention_id"] == high["intervention_id"])
        out(f"  pending approval: {len(queue)} in the queue, {mine['time_left_s'] / 3600:.2f} h left")
        r = await api.post(
            f"/v1/interventions/{high['intervention_id']}/approve", json={"reason": "x"}, headers=analyst
        )
        out(f"  an analyst tries to approve: HTTP {r.status_code} {r.json()['error']['code']}")
        r = await api.post(
            f"/v1/interventions/{high['intervention_id']}/approve",
            json={"reason": "robust finding; managers informed"},
            headers=approver,
        )
        out(f"  approved through the API by {r.json()['decision']['actor']}: HTTP {r.status_code}")
        await _status(api, env, high["intervention_id"], "monitoring")

        # 3. a medium/high change whose outcome turns out negative: automatic rollback
        cap = (await api.post("/v1/interventions", json=high_body, headers=analyst)).json()
        out(f"proposed {cap['intervention_id']}: meeting_load_cap to 6 h -> impact {cap['impact']['level']}")
        if cap["requires_approval"]:
            await _status(api, env, cap["intervention_id"], "awaiting_approval")
            await api.post(
                f"/v1/interventions/{cap['intervention_id']}/approve",
                json={"reason": "pilot with monitoring"},
                headers=approver,
            )
            out("  approved (pilot with monitoring)")
        await _status(api, env, cap["intervention_id"], "monitoring")
        proposal = Proposal(
            cap["intervention_id"],
            InterventionType.MEETING_LOAD_CAP,
            Target(people=tuple(people[:3])),
            {"max_meeting_hours": 6},
            evidence,
            "demo-analyst",
        )
        actions = [a.to_dict() for a in plan_actions(proposal)]
        await sim.post("/admin/signals", json={"metric": "wellbeing", "people": people[:3], "value": 3.0})
        out(f"  planted a negative outcome (wellbeing 7 -> 3) in the {MONITORING_S:.0f} s window")
        got = await _status(api, env, cap["intervention_id"], "rolled_back", "rollback_failed")
        counts = (await sim.get("/admin/counts", params={"prefix": cap["workflow_id"] + ":"})).json()
        now = (await sim.post("/admin/capture", json={"actions": actions})).json()["pre_states"]
        judged = got["summary"]["outcome"]
        out(
            f"  outcome by difference-in-differences: {judged.get('reason')}, effect {judged.get('effect')} "
            f"[{judged.get('ci_low')}, {judged.get('ci_high')}] against {judged.get('comparison_people')} "
            "comparison people chosen on the pre-period"
        )
        out(
            f"  automatic rollback: status {got['status']}, outcome {judged['verdict']}, "
            f"applied {counts['applied']} / reverted {counts['reverted']}, "
            f"restored={got['live']['restored'] if got['live'] else '?'}, "
            f"calendars now free of the cap: {all(s['calendar']['meeting_cap_hours'] is None for s in now)}"
        )

        # 4. manual rollback of the low-impact one through the API
        await _status(api, env, low["intervention_id"], "succeeded")
        r = await api.post(
            f"/v1/interventions/{low['intervention_id']}/rollback",
            json={"reason": "team prefers to plan focus time itself"},
            headers=approver,
        )
        out(f"manual rollback of {low['intervention_id']}: HTTP {r.status_code} {r.json()['status']}")

        # 5. the audit trail
        trail = (
            await api.get("/v1/audit", params={"intervention_id": cap["intervention_id"]}, headers=approver)
        ).json()
        out("audit trail of the rolled-back cap: " + " -> ".join(f"{a['event']}({a['actor']})" for a in trail))
        report = await AuditStore(resources.pg, resources.settings.audit.key).verify()
        out(f"audit chain verified: ok={report.ok}, {report.rows} rows, head {report.head[:16]}...")
