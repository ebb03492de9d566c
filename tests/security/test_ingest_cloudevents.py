"""Issue 11, item 1: the CloudEvents ingest is no longer open.

Runs the function as Knative serves it (``functions.ingest_cloudevents.wsgi.build_app``,
functions-framework's own app) in-process against the real Redis and PostgreSQL: anonymous,
forged and under-privileged callers write nothing; the body is capped; each caller is
rate-limited; the ledger keys idempotency by (source, id); team membership comes from the HR
attributes store and event hints never move anyone. The manifests are checked too: the
Service is cluster-local and NetworkPolicies admit only the Knative data path.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent
from flask.testing import FlaskClient

from ops.processes import settings_env
from shared.adapters.postgres.ledger import apply_events
from shared.domain.events import StoredEvent, cloudevent_ledger_id
from shared.domain.privacy import pseudonymise
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from shared.platform.tokens import generate_local_keypair, mint_token
from tests.deploy.manifests import by_kind, load_documents


def _data(actor: str = "alice@example.org", **extra: Any) -> dict[str, Any]:
    return {
        "kind": "email",
        "actor": actor,
        "participants": ["bob@example.org"],
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        **extra,
    }


async def _post(client: FlaskClient, event: CloudEvent, token: str | None = None, mode: str = "binary") -> Any:
    """The function is synchronous (it runs its own event loop per request): call it from a thread."""
    headers, body = (to_binary if mode == "binary" else to_structured)(event)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return await asyncio.to_thread(client.post, "/", headers=headers, data=body)


@pytest.fixture()
def ce_env(settings: Settings, run_id: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    stream = f"test:{run_id}:ce:{uuid.uuid4().hex[:6]}"
    env = settings_env(
        settings,
        CO_STREAM_NAME=stream,
        CO_RATE_LIMIT_PREFIX=f"test:{run_id}:rl:{uuid.uuid4().hex[:6]}",
        CO_RATE_LIMIT_INGEST="1000",
        CO_MAX_BODY_BYTES="4096",
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env


def _client() -> FlaskClient:
    from functions.ingest_cloudevents.wsgi import build_app

    return build_app().test_client()


async def _stream(resources: Resources, env: dict[str, str]) -> list[dict[str, Any]]:
    entries = await resources.redis.xrange(env["CO_STREAM_NAME"])
    return [json.loads(fields[b"e"]) for _, fields in entries]


async def test_only_verified_ingest_callers_write(
    ce_env: dict[str, str], settings: Settings, resources: Resources, tmp_path: Path
) -> None:
    client = _client()
    event = CloudEvent({"type": "com.causalorganism.interaction.v1", "source": "/hr/mail", "id": "m-1"}, _data())
    r = await _post(client, event)
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await _post(client, event, "not-a-jwt")).status_code == 401
    forger = mint_token(settings.replace(**{"jwt_private_key_file": generate_local_keypair(tmp_path)}),
                        subject="mallory", roles=["service"])  # fmt: skip  # right kid, wrong key
    assert (await _post(client, event, forger)).status_code == 401
    for role in ("viewer", "analyst", "approver"):
        denied = await _post(client, event, mint_token(settings, subject=f"{role}-1", roles=[role]), mode="structured")
        assert denied.status_code == 403 and denied.json["error"]["code"] == "forbidden"
    assert await _stream(resources, ce_env) == []  # nothing written by any of them

    accepted = await _post(client, event, mint_token(settings, subject="mail-connector", roles=["service"]))
    assert accepted.status_code == 200, accepted.data
    (stored,) = await _stream(resources, ce_env)
    assert stored["event_id"] == cloudevent_ledger_id("/hr/mail", "m-1")


async def test_body_is_capped_and_each_caller_is_rate_limited(
    ce_env: dict[str, str], settings: Settings, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = mint_token(settings, subject="noisy", roles=["service"])
    big = CloudEvent(
        {"type": "com.causalorganism.interaction.v1", "source": "/x", "id": "big"},
        _data(participants=[f"person-number-{i}-with-a-long-address@example.org" for i in range(99)]),
    )
    r = await _post(_client(), big, token, mode="structured")
    assert r.status_code == 413 and r.json["error"]["code"] == "payload_too_large"

    monkeypatch.setenv("CO_RATE_LIMIT_INGEST", "3")
    client = _client()
    codes = []
    for i in range(5):
        event = CloudEvent({"type": "com.causalorganism.interaction.v1", "source": "/x", "id": f"r{i}"}, _data())
        codes.append((await _post(client, event, token)).status_code)
    assert codes == [200, 200, 200, 429, 429]
    other = mint_token(settings, subject="quiet", roles=["service"])  # another caller has its own budget
    quiet = CloudEvent({"type": "com.causalorganism.interaction.v1", "source": "/x", "id": "q"}, _data())
    assert (await _post(client, quiet, other)).status_code == 200
    assert len(await _stream(resources, ce_env)) == 4


async def test_idempotency_is_keyed_by_source_and_id(
    ce_env: dict[str, str], settings: Settings, resources: Resources, test_database: str
) -> None:
    client = _client()
    token = mint_token(settings, subject="connectors", roles=["service"])
    for source in ("/chat", "/mail", "/chat"):  # two producers reuse id 7; /chat retries it
        event = CloudEvent({"type": "com.causalorganism.interaction.v1", "source": source, "id": "7"}, _data())
        assert (await _post(client, event, token)).status_code == 200
    # a producer cannot pre-claim another's ids through the reserved prefix either
    squat = CloudEvent(
        {"type": "com.causalorganism.interaction.v1", "source": "/evil", "id": cloudevent_ledger_id("/chat", "8")},
        _data(),
    )
    r = await _post(client, squat, token)
    assert r.status_code == 422 and r.json["error"]["details"][0]["field"] == "event_id"

    events = [StoredEvent.model_validate(e) for e in await _stream(resources, ce_env)]
    conn = await asyncpg.connect(test_database)
    try:
        applied = await apply_events(conn, events)
    finally:
        await conn.close()
    assert (applied.new_events, applied.duplicate_events) == (2, 1)  # /chat#7 and /mail#7, the retry once


async def test_team_comes_from_hr_and_hints_never_move_people(resources: Resources, settings: Settings) -> None:
    key = settings.privacy.pseudonymisation_key
    tag = uuid.uuid4().hex[:8]
    known, unknown, other = (pseudonymise(f"{n}-{tag}@example.org", key) for n in ("known", "unknown", "other"))
    async with resources.pg.acquire() as conn:
        await conn.execute("INSERT INTO employee_attributes (employee, team) VALUES ($1, 'hr-team')", known)

        def event(i: int, teams: dict[str, str]) -> StoredEvent:
            return StoredEvent.model_validate(
                {"event_id": f"team-{tag}-{i}", "kind": "email", "actor": known, "participants": [unknown, other],
                 "occurred_at": datetime.now(UTC).timestamp(), "teams": teams}
            )  # fmt: skip

        await apply_events(conn, [event(1, {known: "evil", unknown: "first-hint"})])
        await apply_events(conn, [event(2, {known: "evil", unknown: "evil", other: "x"})])
        teams = dict(
            await conn.fetch("SELECT person, team FROM person_totals WHERE person = ANY($1)", [known, unknown, other])
        )
    assert teams == {known: "hr-team", unknown: "first-hint", other: "x"}


def test_manifests_make_the_ingest_cluster_local_behind_network_policies() -> None:
    docs = load_documents()
    ksvcs = {d.name: d for d in by_kind(docs, "Service", "serving.knative.dev/")}
    labels = ksvcs["ingest-cloudevents"].body["metadata"]["labels"]
    assert labels["networking.knative.dev/visibility"] == "cluster-local"
    policies = {d.name: d.body["spec"] for d in by_kind(docs, "NetworkPolicy")}
    assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}

    def sources(spec: dict[str, Any]) -> set[str]:
        return {
            peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            for rule in spec["ingress"]
            for peer in rule["from"]
        }

    ce = policies["ingest-cloudevents-from-broker"]
    assert ce["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "ingest-cloudevents"
    assert sources(ce) == {"knative-eventing", "knative-serving", "kourier-system"}
    api = policies["api-functions-from-ingress"]
    selected = {
        name
        for name, doc in ksvcs.items()
        if api["podSelector"]["matchLabels"].items() <= doc.body["spec"]["template"]["metadata"]["labels"].items()
    }
    assert selected == set(ksvcs) - {"ingest-cloudevents"}  # every HTTP function, not the CloudEvents one
    assert sources(api) == {"knative-serving", "kourier-system"}
    assert sources(policies["metrics-from-monitoring"]) == {"monitoring"}
