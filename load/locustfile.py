"""The load profile (issue 18): viewers, analysts, approvers and an event producer.

Run it through the harness, which seeds 2,000 people, starts the functions, a worker, a graph
updater and the workplace simulator, and applies the gates:

    ./dev load:smoke     # 20 users, 60 s (part of the test suite)
    ./dev load:full      # 100 users, 10 min (release checks; docs/benchmarks.md)

The harness passes ``CO_LOAD_CONTEXT`` (a JSON file: people, teams, the finished analysis
that proposals cite, the analysis spec). Every user carries a real ES256 JWT minted with the
project's key for its role. Requests are named by route, so Locust's table groups them; the
``X-Cache`` answer of every read is counted and written beside the gates (the cached/uncached mix).
When the run ends the gates are evaluated from Locust's statistics (load/gates.py): a missed
gate sets the process's exit code to 1.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from locust import HttpUser, between, constant_pacing, events, task
from locust.env import Environment

from load.gates import evaluate, from_locust, table
from load.profile import events_due
from shared.platform.settings import load_settings
from shared.platform.tokens import mint_token

PERSON_METRICS = "/v1/metrics/employees/{id}"
REASON = {"reason": "load profile: approved by the approver user"}
PROPOSE_EVERY_S = 300.0


def _context() -> dict[str, Any]:
    path = os.environ.get("CO_LOAD_CONTEXT")
    if not path:
        raise RuntimeError("CO_LOAD_CONTEXT is not set: run the profile through `./dev load:smoke` (load/harness.py)")
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return data


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    """Shared per run (not module state): the context, the approval hand-over and cache tallies."""
    environment.load_context = _context()  # type: ignore[attr-defined]
    environment.approval_queue = collections.deque()  # type: ignore[attr-defined]
    tally: collections.Counter[str] = collections.Counter()
    environment.cache_tally = tally  # type: ignore[attr-defined]

    def count_cache(request_type: str, response: Any = None, exception: Any = None, **_: Any) -> None:
        if request_type in ("GET", "HEAD") and response is not None and exception is None:
            tally[response.headers.get("X-Cache", "none")] += 1

    environment.events.request.add_listener(count_cache)


@events.quitting.add_listener
def _on_quitting(environment: Environment, **_: Any) -> None:
    """Gates from Locust's own statistics; the JSON next to the CSV files; exit code 1 on a miss."""
    total = environment.stats.total
    duration = max(0.0, (total.last_request_timestamp or total.start_time) - total.start_time)
    report = evaluate(from_locust(environment.stats), duration)
    prefix = getattr(environment.parsed_options, "csv_prefix", None) or "var/reports/load"
    out = {**report.to_json(), "cache": dict(environment.cache_tally)}  # type: ignore[attr-defined]
    Path(f"{prefix}_gates.json").write_text(json.dumps(out, indent=2))
    logging.getLogger("load").info("gates:\n%s\n%s", table(report), "\n".join(report.failures) or "all gates passed")
    environment.process_exit_code = 0 if report.passed else 1


class _RoleUser(HttpUser):
    abstract = True
    role = "viewer"
    wait_time = between(1, 4)

    def on_start(self) -> None:
        ctx = self.environment.load_context  # type: ignore[attr-defined]
        self.people: list[str] = ctx["people"]
        self.teams: list[str] = ctx["teams"]
        subject = f"load-{self.role}-{uuid.uuid4().hex[:8]}"
        token = mint_token(load_settings(), subject=subject, roles=[self.role])
        self.client.headers["Authorization"] = f"Bearer {token}"

    def some_person(self) -> str:
        """Any of the 2,000: a person nobody asked about within the cache TTL is a miss (L1 and
        Redis), a repeat is a hit, so the run mixes both (the tally is in the gates file)."""
        return random.choice(self.people)


class Viewer(_RoleUser):
    """A manager on the team dashboards: team aggregates only (a viewer has no individual view)."""

    role = "viewer"
    weight = 10

    @task(4)
    def graph(self) -> None:
        self.client.get("/v1/metrics/graph")

    @task(4)
    def teams(self) -> None:
        self.client.get("/v1/metrics/teams")

    @task(2)
    def team_history(self) -> None:
        team = random.choice(self.teams)
        self.client.get(f"/v1/metrics/teams/{team}/history", name="/v1/metrics/teams/{team}/history")


class Analyst(_RoleUser):
    """People analytics: individual metrics, bridges, analyses started and polled, proposals."""

    role = "analyst"
    weight = 6

    def on_start(self) -> None:
        super().on_start()
        self.running: list[str] = []
        self.last_proposal = -PROPOSE_EVERY_S

    @task(5)
    def person(self) -> None:
        self.client.get(PERSON_METRICS.format(id=self.some_person()), name=PERSON_METRICS)

    @task(2)
    def person_history(self) -> None:
        pid = self.some_person()
        self.client.get(f"/v1/metrics/employees/{pid}/history", name="/v1/metrics/employees/{id}/history")

    @task(3)
    def bridges(self) -> None:
        self.client.get("/v1/metrics/bridges?limit=20", name="/v1/metrics/bridges")

    @task(1)
    def stats(self) -> None:
        self.client.get("/v1/metrics/graph/live")

    @task(1)
    def start_analysis(self) -> None:
        """One analysis in flight per analyst (a person waits for a result before the next)."""
        if self.running:
            return
        spec = self.environment.load_context["analysis_spec"]  # type: ignore[attr-defined]
        r = self.client.post("/v1/analyses", json=spec)
        if r.status_code == 202:
            self.running.append(r.json()["id"])

    @task(4)
    def poll_analysis(self) -> None:
        if not self.running:
            self.client.get("/v1/analyses?limit=10", name="/v1/analyses")
            return
        aid = self.running[0]
        r = self.client.get(f"/v1/analyses/{aid}", name="/v1/analyses/{id}")
        if r.ok and r.json()["status"] in ("succeeded", "failed", "cancelled"):
            self.running.pop(0)
            if r.json()["status"] == "succeeded":
                self.client.get(f"/v1/analyses/{aid}/result", name="/v1/analyses/{id}/result")

    @task(1)
    def propose(self) -> None:
        """At most one proposal per analyst every PROPOSE_EVERY_S (interventions are rare)."""
        if time.monotonic() - self.last_proposal < PROPOSE_EVERY_S:
            return
        self.last_proposal = time.monotonic()
        ctx = self.environment.load_context  # type: ignore[attr-defined]
        body = {
            "type": "manager_nudge",
            "target": {"people": random.sample(self.people, 6), "teams": []},
            "parameters": {},
            "evidence": {"analysis_id": ctx["evidence_analysis_id"]},
        }
        r = self.client.post("/v1/interventions", json=body)
        if r.status_code == 202 and r.json()["requires_approval"]:
            self.environment.approval_queue.append((r.json()["intervention_id"], time.monotonic()))  # type: ignore[attr-defined]

    @task(1)
    def interventions(self) -> None:
        self.client.get("/v1/interventions?limit=20", name="/v1/interventions")


class Approver(_RoleUser):
    """A manager/HR approver: the queue, one intervention's live state, approve, the history."""

    role = "approver"
    weight = 3

    @task(3)
    def pending(self) -> None:
        self.client.get("/v1/approvals/pending")

    @task(3)
    def approve(self) -> None:
        """Take the oldest proposal handed over by an analyst; approve it once its workflow waits
        for a decision (until then it goes back in the queue)."""
        queue = self.environment.approval_queue  # type: ignore[attr-defined]
        if not queue:
            return
        iid, since = queue.popleft()
        with self.client.get(f"/v1/interventions/{iid}", name="/v1/interventions/{id}", catch_response=True) as r:
            if r.status_code == 404:  # the workflow has not written its first projection row yet
                r.success()
            waiting = r.status_code == 200 and r.json().get("status") == "awaiting_approval"
        if not waiting:
            if time.monotonic() - since < 120:
                queue.append((iid, since))
            return
        self.client.post(f"/v1/interventions/{iid}/approve", json=REASON, name="/v1/interventions/{id}/approve")

    @task(1)
    def history(self) -> None:
        self.client.get("/v1/approvals/history?limit=50", name="/v1/approvals/history")


class EventProducer(_RoleUser):
    """The collaboration systems' feed: the seed's 1.5 M events/day with 10x bursts, one batch a
    second sized by the schedule in load/profile.py (a service token, role ``service``)."""

    role = "service"
    fixed_count = 1
    wait_time = constant_pacing(1.0)

    def on_start(self) -> None:
        super().on_start()
        ctx = self.environment.load_context  # type: ignore[attr-defined]
        self.raw_people: list[str] = ctx["raw_people"]
        self.raw_team: dict[str, str] = ctx["raw_team"]
        self.started = time.monotonic()
        self.sent = 0
        self.run = uuid.uuid4().hex[:8]

    def _event(self, n: int) -> dict[str, Any]:
        actor = random.choice(self.raw_people)
        team = self.raw_team[actor]
        mates = [p for p in random.sample(self.raw_people, 3) if p != actor] or [self.raw_people[0]]
        kind = random.choice(("email", "email", "chat", "chat", "meeting", "code_review"))
        event: dict[str, Any] = {
            "event_id": f"load-{self.run}-{n}",
            "kind": kind,
            "actor": actor,
            "participants": mates,
            "occurred_at": (datetime.now(UTC) - timedelta(seconds=random.randint(1, 3600))).isoformat(),
            "teams": {actor: team, **{m: self.raw_team[m] for m in mates}},
        }
        if kind == "meeting":
            event["duration_s"] = 1800
        return event

    @task
    def produce(self) -> None:
        due = events_due(time.monotonic() - self.started) - self.sent
        if due <= 0:
            return
        batch = [self._event(self.sent + i) for i in range(min(due, 1000))]
        r = self.client.post("/v1/events", json={"events": batch})
        if r.status_code == 202:
            self.sent += len(batch)
