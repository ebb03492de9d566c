"""A small but real OpenID Connect provider for the web sign-in tests (loopback only).

Serves discovery, an authorization endpoint (a page with one button per test person), a token
endpoint that checks the PKCE verifier (S256 only) and the redirect URI, and a JWKS; ID tokens
are RS256 JWTs with ``iss``, ``aud``, ``nonce`` and the person's ``groups``. The app's side is the
real authlib client, so these tests exercise the whole code flow. Run:
``CO_TEST_IDP_PORT=... uvicorn tests.web.idp:app``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from html import escape
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

CLIENT_ID = "causal-organism-web"
PEOPLE: dict[str, dict[str, Any]] = {
    "val": {"name": "Val Viewer", "groups": ["causal-organism-viewers"]},
    "ann": {"name": "Ann Analyst", "groups": ["causal-organism-analysts", "unrelated-group"]},
    "abe": {"name": "Abe Approver", "groups": ["causal-organism-approvers"]},
    "ada": {"name": "Ada Admin", "groups": ["causal-organism-admins"]},
    "nog": {"name": "No Group", "groups": ["somebody-elses-app"]},
}


def create_idp(issuer: str) -> FastAPI:
    app = FastAPI()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    app.state.codes = {}
    app.state.requests = []  # every authorization request, for the tests to inspect

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
        }

    @app.get("/jwks")
    async def jwks() -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        return {"keys": [{**jwk, "kid": "test-1", "use": "sig", "alg": "RS256"}]}

    @app.get("/authorize", response_class=HTMLResponse)
    async def authorize(request: Request) -> HTMLResponse:
        q = dict(request.query_params)
        app.state.requests.append(q)
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
            return HTMLResponse("unknown client or response type", status_code=400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return HTMLResponse("PKCE (S256) is required", status_code=400)
        hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in q.items())
        buttons = "".join(
            f'<button type="submit" name="person" value="{p}">{escape(d["name"])}</button>' for p, d in PEOPLE.items()
        )
        return HTMLResponse(
            f'<!doctype html><html lang="en"><title>Test identity provider</title><main><h1>Who are you?</h1>'
            f'<form method="post" action="/authorize">{hidden}{buttons}</form></main></html>'
        )

    @app.post("/authorize")
    async def approve(request: Request) -> RedirectResponse:
        form = dict(await request.form())
        code = secrets.token_urlsafe(24)
        app.state.codes[code] = {**form, "issued": time.time()}
        query = urlencode({"code": code, "state": form.get("state", "")})
        return RedirectResponse(f"{form['redirect_uri']}?{query}", status_code=303)

    @app.post("/token")
    async def token(
        grant_type: str = Form(),
        code: str = Form(),
        redirect_uri: str = Form(),
        client_id: str = Form(),
        code_verifier: str = Form(""),
    ) -> JSONResponse:
        grant = app.state.codes.pop(code, None)  # one use only
        if grant_type != "authorization_code" or grant is None or time.time() - grant["issued"] > 60:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if client_id != CLIENT_ID or redirect_uri != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "client or redirect"}, status_code=400)
        digest = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).rstrip(b"=").decode()
        if digest != grant["code_challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE verifier"}, status_code=400)
        person = PEOPLE[grant["person"]]
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": CLIENT_ID,
            "sub": f"idp|{grant['person']}",
            "iat": now,
            "exp": now + 300,
            "nonce": grant.get("nonce"),
            "name": person["name"],
            "groups": person["groups"],
        }
        id_token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "test-1"})
        return JSONResponse(
            {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300, "id_token": id_token}
        )

    @app.get("/_requests")
    async def requests_seen() -> list[dict[str, str]]:
        return list(app.state.requests)

    return app


app = create_idp(f"http://127.0.0.1:{os.environ.get('CO_TEST_IDP_PORT', '24030')}")
