"""Sentry with a capturing transport: a forced error gives one event with the route, the release
and the trace id, and none of a generated set of personal strings, wherever they were put."""

from __future__ import annotations

import asyncio
import logging
import string
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sentry_sdk
from fastapi import APIRouter, Depends, Request
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.propagators import set_global_response_propagator
from opentelemetry.sdk.trace import TracerProvider
from pydantic import SecretStr, ValidationError

from shared.platform.auth import Permission, require
from shared.platform.error_reporting import fingerprint, init_error_reporting, scrub_breadcrumb
from shared.platform.http import create_app
from shared.platform.resources import Needs
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token
from shared.platform.tracing import TraceIdResponsePropagator
from tests.observability.conftest import RELEASE, CapturingTransport

TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_"


def boom_router() -> APIRouter:
    router = APIRouter()

    @router.post("/v1/boom/{item}")
    async def boom(item: str, request: Request, _: Any = Depends(require(Permission.RUN_ANALYSES))) -> None:
        body = await request.json()
        logging.getLogger("test.boom").warning("processing %s for %s", body["who"], item)
        raise RuntimeError(f"could not process {body['who']} with token={body['secret']} id {item}")

    return router


@pytest.fixture()
def transport(api_settings: Settings) -> Iterator[CapturingTransport]:
    capturing = CapturingTransport()
    settings = api_settings.replace(
        **{"sentry_dsn": SecretStr("https://public@sentry.example.com/1"), "release": RELEASE}
    )
    assert init_error_reporting(settings, transport=capturing)
    set_global_response_propagator(TraceIdResponsePropagator())  # what configure_tracing installs
    try:
        yield capturing
    finally:
        set_global_response_propagator(None)  # type: ignore[arg-type]
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)  # off again for the rest of the session


def test_without_a_dsn_sentry_stays_off(api_settings: Settings) -> None:
    assert api_settings.observability.sentry_dsn is None
    assert init_error_reporting(api_settings) is False
    assert not sentry_sdk.get_client().is_active()


emails = st.emails()
tokens = st.text(alphabet=TOKEN_ALPHABET, min_size=24, max_size=48)
raw_ids = st.from_regex(r"emp[0-9]{6,9}", fullmatch=True)


@hypothesis_settings(
    max_examples=10,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: the failing input is printed as is
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(email=emails, token=tokens, raw_id=raw_ids)
def test_one_event_with_route_release_and_trace_id_and_nothing_personal(
    api_settings: Settings, transport: CapturingTransport, email: str, token: str, raw_id: str
) -> None:
    transport.envelopes.clear()
    settings = api_settings.replace(**{"rate_limit_enabled": False, "cache_enabled": False})
    app = create_app(title="boom", needs=Needs(), routers=[boom_router()], settings=settings)
    FastAPIInstrumentor.instrument_app(app, tracer_provider=TracerProvider())  # a local provider, not global
    jwt = mint_token(settings, subject="subject-7f3a", roles=["analyst"], ttl_s=600, extra={})

    async def call() -> httpx.Response:
        async with app.router.lifespan_context(app):
            transport_ = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport_, base_url="http://api.test") as client:
                return await client.post(
                    f"/v1/boom/{raw_id}",
                    params={"email": email, "token": token, "id": raw_id},
                    json={"who": email, "secret": token, "raw": raw_id},
                    headers={
                        "Authorization": f"Bearer {jwt}",
                        "X-User-Email": email,
                        "X-Api-Key": token,
                        "Cookie": f"session={token}; id={raw_id}",
                    },
                )

    response = asyncio.run(call())
    sentry_sdk.flush()
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"  # nothing of the cause in the reply
    events = [e for e in transport.events() if e.get("exception")]
    assert len(events) == 1, [e.get("exception") for e in transport.events()]
    (event,) = events
    assert event["transaction"] == "/v1/boom/{item}" and event["tags"]["route"] == "/v1/boom/{item}"
    assert event["release"] == RELEASE
    assert event["tags"]["trace_id"] == response.headers["x-trace-id"]
    assert event["user"] == {"id": "subject-7f3a", "roles": ["analyst"]}
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    raw = transport.raw().decode("utf-8", errors="replace")
    for personal in (email, token, raw_id, jwt, email.split("@")[0] + "@"):
        assert personal not in raw, personal
    assert "x-user-email" not in raw.lower() and "cookie" not in {k.lower() for k in event["request"]["headers"]}


def test_known_error_families_get_one_fingerprint_each() -> None:
    import redis.exceptions

    from shared.domain.events import InteractionEvent

    try:
        InteractionEvent.model_validate({"event_id": "x"})
    except ValidationError as exc:
        assert fingerprint(exc) == ["validation", "ValidationError"]
    assert fingerprint(redis.exceptions.ConnectionError("refused 10.0.0.7")) == [
        "store-unavailable",
        "ConnectionError",
    ]
    assert fingerprint(ConnectionRefusedError()) == ["store-unavailable", "ConnectionRefusedError"]
    assert fingerprint(httpx.ConnectTimeout("webhook")) == ["connector-failure", "ConnectTimeout"]
    assert fingerprint(RuntimeError("bug")) is None


def test_breadcrumb_urls_lose_their_query_and_messages_their_secrets() -> None:
    crumb = scrub_breadcrumb(
        {
            "category": "httpx",
            "message": "call for a.person@corp.example with Bearer abc.def",
            "data": {"url": "https://hooks.example.com/x?email=a.person@corp.example", "http.query": "email=x"},
        },
        {},
    )
    assert crumb is not None
    assert crumb["data"] == {"url": "https://hooks.example.com/x"}
    assert "a.person" not in crumb["message"] and "abc.def" not in crumb["message"]
