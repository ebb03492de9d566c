"""Locust users for the read side (design card: load/ Locust). Run against a dev server:

    task serve            # in one terminal
    task load:api -- --users 100 --spawn-rate 20 --run-time 60s

Each user gets its own token (minted with the local key, so its own rate-limit budget) and
mixes cached reads (graph stats), per-person reads and revalidations with If-None-Match.
The numbers of record come from `task bench:api` (ops/bench_api.py), which starts its own
server and checks X-Cache on every response; this file is for exploring by hand.
"""

from __future__ import annotations

import random
import uuid

from locust import HttpUser, between, task

from shared.platform.settings import load_settings
from shared.platform.tokens import mint_token


class Analyst(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        token = mint_token(load_settings(), subject=f"locust-{uuid.uuid4().hex[:8]}", roles=["analyst"])
        self.client.headers["Authorization"] = f"Bearer {token}"
        self.etag: str | None = None
        people = self.client.get("/v1/metrics/bridges?limit=50", name="/v1/metrics/bridges")
        self.people = [b["id"] for b in people.json().get("bridges", [])] if people.ok else []

    @task(5)
    def graph_stats(self) -> None:
        r = self.client.get("/v1/graph/stats")
        self.etag = r.headers.get("ETag", self.etag)

    @task(2)
    def revalidate(self) -> None:
        if self.etag:
            with self.client.get("/v1/graph/stats", headers={"If-None-Match": self.etag}, catch_response=True) as r:
                if r.status_code in (200, 304):
                    r.success()

    @task(3)
    def person(self) -> None:
        if self.people:
            self.client.get(f"/v1/employees/{random.choice(self.people)}/metrics", name="/v1/employees/{id}/metrics")
