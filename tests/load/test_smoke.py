"""`./dev load:smoke` in the suite: 20 users for 60 s on the real stack must pass the gates.

The harness (load/harness.py) seeds its own database and graph, starts the functions, a worker,
a graph updater and the simulator, runs Locust headless and evaluates the gates; this test runs
it as the command does and checks the reports it leaves and that every role did its work.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import warnings

from shared.domain.privacy import PSEUDONYM_HEX_CHARS, PSEUDONYM_PREFIX, is_pseudonym
from tests.conftest import ROOT

REPORTS = ROOT / "var" / "reports"


def test_load_smoke_passes_its_gates(temporal_namespace: str) -> None:
    """The run's workflows go to this session's Temporal namespace (the harness terminates
    them at the end; the session fixture deletes the namespace)."""
    proc = subprocess.run(
        [sys.executable, "-m", "load.harness", "smoke"],
        cwd=ROOT,
        env={**os.environ, "CO_TEMPORAL_NAMESPACE": temporal_namespace},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.stdout.strip(), proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["error_rate"] < 0.01, (result, proc.stderr[-3000:])
    if result["contended"]:
        # Several stacks share this machine's cores; with more than 3 runnable processes per core
        # the latency figures measure the scheduler. The command (`./dev load:smoke`) still fails;
        # the suite records the figures and checks everything but the two latency gates.
        warnings.warn(f"load smoke on a contended machine: {result}", stacklevel=1)
    else:
        assert proc.returncode == 0 and result["passed"], (result, proc.stderr[-3000:])
        assert result["read_p95_ms"] < 200 and result["write_p95_ms"] < 2000
    assert (REPORTS / "load-smoke.html").stat().st_size > 10_000
    with (REPORTS / "load-smoke_stats.csv").open() as fh:
        rows = {(r["Type"], r["Name"]): r for r in csv.DictReader(fh)}
    counts = {name: int(r["Request Count"]) for (_, name), r in rows.items()}
    # every role did its work: viewers' team reads, analysts' analyses and proposals, approvals, events
    for name in (
        "/v1/metrics/teams",
        "/v1/metrics/employees/{id}",
        "/v1/analyses",
        "/v1/interventions",
        "/v1/interventions/{id}/approve",
        "/v1/events",
    ):
        assert counts.get(name, 0) > 0, (name, sorted(counts))
    assert counts["/v1/events"] >= 40  # one batch a second from the producer
    # no 401/403 anywhere: each user's token carries the role its requests need
    failures = (REPORTS / "load-smoke_failures.csv").read_text()
    assert not re.search(r"\b40[13]\b", failures), failures
    # reports are shareable: request names are route templates, never a pseudonymised person id
    csv_text = (REPORTS / "load-smoke_stats.csv").read_text() + failures
    assert not [name for name in counts if any(is_pseudonym(part) for part in re.split(r"[/?=&]", name))]
    assert not re.search(f"{PSEUDONYM_PREFIX}[0-9a-f]{{{PSEUDONYM_HEX_CHARS}}}", csv_text)
    gates = json.loads((REPORTS / "load-smoke_gates.json").read_text())
    assert gates["passed"] == (result["locust_exit"] == 0)  # the exit status is the gates' verdict
    assert gates["cache"].get("HIT", 0) > 0 and gates["cache"].get("MISS", 0) > 0
