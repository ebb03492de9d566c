"""`./dev bench:coldstart`: each function started as a fresh process, the way its container starts it.

The command line is read from the function's Knative manifest (knative/<name>.yaml: uvicorn for
the HTTP functions, gunicorn for the CloudEvents function), only the bind address changes to
127.0.0.1 and a free port. For each function: time from the exec to the first 200 of
``/health/live``, of ``/health/ready`` and to the first real, authenticated answer, plus the
CPU the process (and its children) had used by then, which is what a quiet machine would show
as wall time. Also which heavy libraries (dowhy, pyspark, igraph, pandas) the process holds
after its first answer: none should be loaded before a request needs them.

Targets: live < 1 s and first real answer < 2 s for every HTTP function (the analysis function's
first *analysis* excepted; its first answer here is a listing). Runs against the local stack
(`./dev up`). Human lines, then one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml

from ops.processes import free_port
from ops.stack.config import ROOT
from shared.platform.settings import load_settings
from shared.platform.tokens import mint_token

HEAVY = ("dowhy", "pyspark", "igraph", "pandas")
LIVE_TARGET_MS, FIRST_ANSWER_TARGET_MS = 1000, 2000


@dataclass(frozen=True)
class FirstRequest:
    """The first real request a function answers: method, path, roles, body, accepted statuses."""

    method: str
    path: str
    roles: tuple[str, ...]
    ok: tuple[int, ...] = (200,)
    sends_event: bool = False  # the body is one new interaction event
    cloudevent: bool = False  # ... as a binary-mode CloudEvent


def new_event(tag: str) -> dict[str, Any]:
    return {
        "event_id": f"coldstart-{tag}",
        "kind": "chat",
        "actor": f"coldstart-a-{tag}",
        "participants": [f"coldstart-b-{tag}"],
        "occurred_at": datetime.now(UTC).isoformat(),
    }


FUNCTIONS: dict[str, FirstRequest] = {
    # its routes moved to the metrics API; an authenticated request gets the permanent redirect
    "query-api": FirstRequest("GET", "/v1/graph/stats", ("analyst",), ok=(308,)),
    "metrics-api": FirstRequest("GET", "/v1/metrics/runs", ("admin",)),
    "analysis-api": FirstRequest("GET", "/v1/analyses", ("analyst",)),
    "interventions-api": FirstRequest("GET", "/v1/interventions", ("approver",)),
    "exports-api": FirstRequest("GET", "/v1/exports", ("analyst",)),
    "privacy-api": FirstRequest("GET", f"/v1/privacy/erasures/{uuid.UUID(int=0)}", ("admin",), ok=(404,)),
    "ingest-http": FirstRequest("POST", "/v1/events", ("service",), ok=(202,), sends_event=True),
    "ingest-cloudevents": FirstRequest("POST", "/", ("service",), sends_event=True, cloudevent=True),
}


def container_command(name: str, port: int) -> list[str]:
    """The manifest's command + args, bound to loopback on ``port`` instead of 0.0.0.0:8080."""
    doc = yaml.safe_load((ROOT / "knative" / f"{name}.yaml").read_text(encoding="utf-8"))
    container = doc["spec"]["template"]["spec"]["containers"][0]
    argv = [*container["command"], *container.get("args", [])]
    out: list[str] = []
    for arg in argv:
        if arg.startswith("--host="):
            arg = "--host=127.0.0.1"
        elif arg.startswith("--port="):
            arg = f"--port={port}"
        elif arg.startswith("--bind="):
            arg = f"--bind=127.0.0.1:{port}"
        out.append(arg)
    bindir = Path(sys.executable).parent  # the venv's uvicorn/gunicorn, as the image's PATH has them
    return [str(bindir / out[0]), *out[1:]]


def heavy_modules(pid: int) -> list[str]:
    """Heavy libraries mapped into the process (their shared objects or source files are open)."""
    found: set[str] = set()
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return []
    for lib in HEAVY:
        if f"/site-packages/{lib}/" in maps:
            found.add(lib)
    return sorted(found)


def cpu_ms(proc: psutil.Process) -> float:
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return round(total * 1000, 1)


def measure(name: str, first: FirstRequest, port: int, token: str, timeout_s: float) -> dict[str, float]:
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ) | {"CO_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.Popen(
        container_command(name, port), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    ps = psutil.Process(proc.pid)
    out: dict[str, float] = {}
    try:
        with httpx.Client(timeout=10.0) as client:
            for key, path in (("live", "/health/live"), ("ready", "/health/ready")):
                while True:
                    if proc.poll() is not None:
                        err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                        raise RuntimeError(f"{name} exited: {err}")
                    if time.perf_counter() - started > timeout_s:
                        raise RuntimeError(f"{name}: no 200 from {path} within {timeout_s:.0f} s")
                    try:
                        if client.get(base + path).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.01)
                out[f"{key}_ms"] = round((time.perf_counter() - started) * 1000, 1)
                out[f"{key}_cpu_ms"] = cpu_ms(ps)
            headers = {"Authorization": f"Bearer {token}"}
            tag = uuid.uuid4().hex[:12]
            if first.cloudevent:
                headers |= {
                    "ce-specversion": "1.0",
                    "ce-type": "com.causalorganism.interaction.v1",
                    "ce-source": "bench/coldstart",
                    "ce-id": tag,
                    "content-type": "application/json",
                }
                r = client.post(base + first.path, headers=headers, content=json.dumps(new_event(tag)))
            else:
                body = {"events": [new_event(tag)]} if first.sends_event else None
                r = client.request(first.method, base + first.path, headers=headers, json=body)
            if r.status_code not in first.ok:
                raise RuntimeError(f"{name}: {first.method} {first.path} answered {r.status_code}: {r.text[:300]}")
            out["first_answer_ms"] = round((time.perf_counter() - started) * 1000, 1)
            out["first_answer_cpu_ms"] = cpu_ms(ps)
            out["heavy_modules"] = heavy_modules(proc.pid)  # type: ignore[assignment]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(FUNCTIONS), help="measure these functions only")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds a function may take to answer")
    args = parser.parse_args()
    settings = load_settings()
    result: dict[str, Any] = {"load_average_1m_before": round(os.getloadavg()[0], 2)}
    misses: list[str] = []
    for name, first in FUNCTIONS.items():
        if args.only and name not in args.only:
            continue
        token = mint_token(settings, subject="bench-coldstart", roles=list(first.roles))
        figures = measure(name, first, free_port(), token, args.timeout)
        key = name.replace("-", "_")
        for figure, value in figures.items():
            result[f"{key}_{figure}"] = value
        cpu_ok = figures["live_cpu_ms"] < LIVE_TARGET_MS and figures["first_answer_cpu_ms"] < FIRST_ANSWER_TARGET_MS
        wall_ok = figures["live_ms"] < LIVE_TARGET_MS and figures["first_answer_ms"] < FIRST_ANSWER_TARGET_MS
        if not cpu_ok or figures["heavy_modules"]:
            misses.append(name)
        print(
            f"{name:<19} live {figures['live_ms']:8.0f} ms (CPU {figures['live_cpu_ms']:6.0f})  "
            f"ready {figures['ready_ms']:8.0f} ms (CPU {figures['ready_cpu_ms']:6.0f})  "
            f"first answer {figures['first_answer_ms']:8.0f} ms (CPU {figures['first_answer_cpu_ms']:6.0f})  "
            f"heavy {figures['heavy_modules'] or '-'}  wall target {'met' if wall_ok else 'missed'}, "
            f"CPU target {'met' if cpu_ok else 'missed'}",
            flush=True,
        )
    result["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    result["targets_ms"] = {"live": LIVE_TARGET_MS, "first_answer": FIRST_ANSWER_TARGET_MS}
    result["cpu_target_missed"] = misses
    print(json.dumps(result))
    if misses:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
