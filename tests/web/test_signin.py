"""Sign-in: the real authlib authorization code flow with PKCE against a loopback OpenID Connect
provider, group-to-role mapping, the session cookie's attributes, CSRF and Origin checks, the
WebSocket's authentication, and development sign-in refused outside development."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import websockets

from functions.web.app import install_web
from shared.platform.http import create_app
from shared.platform.resources import Needs
from shared.platform.settings import Settings

PAGE_TIMEOUT = 30.0


def client(web: str) -> httpx.AsyncClient:
    """An HTTP client that, like Chromium on a loopback origin, sends the Secure session cookie
    over plain http (httpx keeps Secure cookies for https only)."""

    async def send_cookies(request: httpx.Request) -> None:
        jar = http.cookies.jar
        if any(c.name == "co_session" for c in jar):
            request.headers["Cookie"] = "; ".join(f"{c.name}={c.value}" for c in jar)

    http = httpx.AsyncClient(base_url=web, timeout=PAGE_TIMEOUT, event_hooks={"request": [send_cookies]})
    return http


async def oidc_sign_in(http: httpx.AsyncClient, person: str) -> httpx.Response:
    """Drive the code flow as a browser would: app -> provider (pick a person) -> app callback."""
    start = await http.get("/app/signin/oidc")
    assert start.status_code in (302, 303), start.text
    authorize = start.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert "nonce" in query and "state" in query
    async with httpx.AsyncClient() as idp:
        form_page = await idp.get(authorize)
        assert form_page.status_code == 200, form_page.text
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form_page.text))
        import html

        fields = {k: html.unescape(v) for k, v in fields.items() if k != "person"}
        target = str(httpx.URL(authorize).copy_with(query=None))
        back = await idp.post(target, data={**fields, "person": person})
    assert back.status_code == 303
    callback = back.headers["location"]
    return await http.get(callback.replace(str(http.base_url).rstrip("/"), ""))


async def test_oidc_code_flow_with_pkce_maps_groups_to_roles(web: str) -> None:
    async with client(web) as http:
        done = await oidc_sign_in(http, "ann")
        assert done.status_code == 303 and done.headers["location"] == "/app/"
        cookie = next(h for h in done.headers.get_list("set-cookie") if h.startswith("co_session="))
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "secure" in cookie.lower()
        page = await http.get("/app/org", headers={"Origin": web})
        assert page.status_code == 200 and "Ann Analyst" in page.text and 'href="/app/analyses"' in page.text
        assert 'href="/app/operations"' not in page.text  # an analyst is no admin
        assert (
            "content-security-policy" in page.headers and "script-src 'self'" in page.headers["content-security-policy"]
        )
        assert "'unsafe-inline'" not in page.headers["content-security-policy"]


async def test_a_person_in_no_known_group_gets_no_session(web: str) -> None:
    async with client(web) as http:
        done = await oidc_sign_in(http, "nog")
        assert done.status_code == 303 and done.headers["location"].startswith("/app/signin?error=")
        assert (await http.get("/app/org")).headers["location"] == "/app/signin"


async def test_a_replayed_or_forged_callback_is_refused(web: str) -> None:
    async with client(web) as http:
        await http.get("/app/signin/oidc")  # state in the session, but a code nobody issued
        r = await http.get("/app/auth/callback", params={"code": "forged", "state": "wrong"})
        assert r.status_code == 303 and "error" in r.headers["location"]
        assert (await http.get("/app/org")).status_code == 303  # still signed out


@contextlib.asynccontextmanager
async def dev_session(web: str, role: str) -> AsyncIterator[httpx.AsyncClient]:
    async with client(web) as http:
        r = await http.post("/app/signin/dev", data={"role": role}, headers={"Origin": web})
        assert r.status_code == 303, r.text
        yield http


def csrf_of(html_text: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html_text)
    assert match is not None
    return match.group(1)


async def test_state_changes_need_the_csrf_token_and_the_same_origin(web: str) -> None:
    async with dev_session(web, "analyst") as http:
        token = csrf_of((await http.get("/app/analyses")).text)
        form = {"treatment": "meeting_hours", "outcome": "wellbeing", "estimator": "linear_regression"}
        r = await http.post("/app/analyses", data=form, headers={"Origin": web})
        assert r.status_code == 403 and "CSRF" in r.text  # no token: refused, in words
        r = await http.post("/app/analyses", data={**form, "csrf_token": "x" * 43}, headers={"Origin": web})
        assert r.status_code == 403
        r = await http.post(
            "/app/analyses", data={**form, "csrf_token": token}, headers={"Origin": "https://evil.example"}
        )
        assert r.status_code == 403 and "cross-site" in r.text
        r = await http.post("/app/signout", data={"csrf_token": token}, headers={"Origin": web})  # with both: accepted
        assert r.status_code == 303 and (await http.get("/app/org")).status_code == 303


async def test_the_websocket_needs_the_session_cookie_and_this_origin(web: str) -> None:
    url = web.replace("http://", "ws://") + "/app/ws"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url, additional_headers={"Origin": web}):
            pass
    assert refused.value.response.status_code == 403
    async with dev_session(web, "viewer") as http:
        cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies.jar)
    with pytest.raises(websockets.InvalidStatus):  # cross-site WebSocket hijacking
        async with websockets.connect(url, additional_headers={"Origin": "https://evil.example", "Cookie": cookie}):
            pass
    async with websockets.connect(url, additional_headers={"Origin": web, "Cookie": cookie}) as ws:
        hello: Any = json.loads(await ws.recv())
        assert hello == {"type": "hello", "topics": ["graph", "metrics"]}  # a viewer's topics only
        await ws.send('{"subscribe": ["graph", "interventions", "analyses", "operations"]}')
        subscribed = json.loads(await ws.recv())
        assert subscribed == {"type": "subscribed", "topics": ["graph"]}  # the rest is filtered server-side


@pytest.mark.parametrize(
    ("environment", "flag", "offered"),
    [("test", True, True), ("local", True, True), ("production", True, False), ("test", False, False)],
)
async def test_development_sign_in_only_where_the_settings_say_development(
    web_settings: Settings, environment: str, flag: bool, offered: bool
) -> None:
    s = web_settings.replace(
        **{
            "environment": environment,
            "web_dev_sign_in": flag,
            "web_session_secret": __import__("pydantic").SecretStr("s" * 32),
        }
    )
    app = create_app(title="web", needs=Needs(), routers=[], settings=s)
    install_web(app, s)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://web") as http:
        page = await http.get("/app/signin")
        assert ('action="/app/signin/dev"' in page.text) is offered
        r = await http.post("/app/signin/dev", data={"role": "admin"}, headers={"Origin": "http://web"})
        if offered:
            assert r.status_code == 303
            assert (await http.get("/app/signin")).status_code == 200
        else:
            assert r.status_code == 403 and "development sign-in is disabled" in r.text
            assert "co_session" not in r.headers.get("set-cookie", "")


def test_production_refuses_to_start_without_a_session_secret(web_settings: Settings) -> None:
    s = web_settings.replace(**{"environment": "production", "web_session_secret": None})
    app = create_app(title="web", needs=Needs(), routers=[], settings=s)
    with pytest.raises(RuntimeError, match="CO_WEB_SESSION_SECRET"):
        install_web(app, s)
