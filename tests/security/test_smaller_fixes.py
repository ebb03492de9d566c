"""Issue 11, item 8: the smaller holes, one test each, on the dev server's app (every HTTP
function, real stores) unless the fix is a pure function."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import jwt
import pytest

import shared.platform.tokens as tokens
from functions.dev_server.main import build_app
from shared.adapters.postgres.causal_store import CausalStore
from shared.domain.outcomes import CsvProblem, parse_outcomes_csv
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from shared.platform.tokens import TokenVerifier, generate_local_keypair, mint_token
from tests.api.conftest import Mint, api_settings, bearer, dev_client, mint, running  # noqa: F401


async def test_a_key_removed_from_the_directory_stops_verifying(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "served"
    first = generate_local_keypair(tmp_path / "one", kid="k-one")
    second = generate_local_keypair(tmp_path / "two", kid="k-two")
    keys.mkdir()
    for d, kid in (("one", "k-one"), ("two", "k-two")):
        shutil.copy(tmp_path / d / "jwt_public" / f"{kid}.pem", keys / f"{kid}.pem")
    verifier = TokenVerifier(settings.replace(**{"jwt_public_keys_dir": keys}))
    token = mint_token(settings.replace(**{"jwt_private_key_file": second}), subject="s", roles=["viewer"],
                       kid="k-two")  # fmt: skip
    other = mint_token(settings.replace(**{"jwt_private_key_file": first}), subject="s", roles=["viewer"],
                       kid="k-one")  # fmt: skip
    assert (await verifier.verify(token))["sub"] == "s"  # verified, and now remembered
    (keys / "k-two.pem").unlink()  # the key is withdrawn
    monkeypatch.setattr(tokens, "KEY_RELOAD_S", 0.0)  # the next verify is past the reload period
    with pytest.raises(jwt.PyJWTError):
        await verifier.verify(token)
    assert (await verifier.verify(other))["sub"] == "s"  # the remaining key still works


async def test_an_analyst_cancels_only_their_own_analyses(
    dev_client: object,  # noqa: F811
    mint: Mint,  # noqa: F811
    resources: Resources,
) -> None:
    store = CausalStore(resources.pg)
    mine = await store.create({"treatment": "t", "outcome": "o"}, "alice")
    async with resources.pg.acquire() as conn:  # finished: a permitted cancel answers 409, not 403
        await conn.execute("UPDATE analyses SET status = 'succeeded' WHERE id = $1::uuid", mine)
    url = f"/v1/analyses/{mine}/cancel"
    refused = await dev_client.post(url, headers=bearer(mint("analyst", subject="bob")))  # type: ignore[attr-defined]
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    for who in (mint("analyst", subject="alice"), mint("admin", subject="root")):
        r = await dev_client.post(url, headers=bearer(who))  # type: ignore[attr-defined]
        assert r.status_code == 409, r.text  # past the ownership check


async def test_approval_history_needs_read_audit(dev_client: object, mint: Mint) -> None:  # noqa: F811
    url = "/v1/approvals/history"
    r = await dev_client.get(url, headers=bearer(mint("analyst")))  # type: ignore[attr-defined]
    assert r.status_code == 403
    assert (await dev_client.get(url, headers=bearer(mint("approver")))).status_code == 200  # type: ignore[attr-defined]


async def test_readiness_and_metrics_do_not_echo_dependency_errors(api_settings: Settings) -> None:  # noqa: F811
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = api_settings.replace(**{"redis_url": f"redis://secret-host.invalid:{port}/0"})
    async with running(build_app(down)) as client:
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"] == {"ok": False, "error": "unavailable"}
        metrics = await client.get("/metrics")
        for text in (ready.text, metrics.text):
            assert "secret-host" not in text and str(port) not in text


async def test_query_api_authenticates_before_revealing_the_graph_build(
    dev_client: object,  # noqa: F811
    mint: Mint,  # noqa: F811
    api_settings: Settings,  # noqa: F811
    resources: Resources,
) -> None:
    key = api_settings.graph.build_key
    await resources.redis.hset(key, mapping={"state": "building", "done": "10", "total": "100"})
    try:
        anonymous = await dev_client.get("/v1/metrics/graph/live")  # type: ignore[attr-defined]
        assert anonymous.status_code == 401 and "building" not in anonymous.text
        viewer = await dev_client.get("/v1/metrics/graph/live", headers=bearer(mint("viewer")))  # type: ignore[attr-defined]
        assert viewer.status_code == 403
        analyst = await dev_client.get("/v1/metrics/graph/live", headers=bearer(mint("analyst")))  # type: ignore[attr-defined]
        assert analyst.status_code == 503 and analyst.json()["error"]["code"] == "graph_not_ready"
    finally:
        await resources.redis.delete(key)


def test_csv_row_source_obeys_the_api_pattern() -> None:
    ok = "employee,period,metric,value,source\nalice,2026-01-01,wellbeing,3.5,hr-survey.v2\n"
    assert parse_outcomes_csv(ok)[0][1] == "hr-survey.v2"
    for bad in ("bad source", "x" * 65, "=cmd()", "naïve"):
        with pytest.raises(CsvProblem) as problem:
            parse_outcomes_csv(f"employee,period,metric,value,source\nalice,2026-01-01,wellbeing,3.5,{bad}\n")
        assert problem.value.details[0]["field"] == "line 2: source"
