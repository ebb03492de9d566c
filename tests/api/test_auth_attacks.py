"""Attacks on authentication and authorisation, each with the exact status it must get."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import APIRouter, Depends, FastAPI

from shared.domain.roles import ROLE_PERMISSIONS, Permission, Role
from shared.platform.auth import Principal, require
from shared.platform.http import iter_routes, route_permission
from shared.platform.settings import Settings
from tests.api.conftest import Mint, bearer, build_test_app, running

GUARDED = "/v1/metrics/graph/live"  # analyst may read it (live totals over everyone: not a viewer view)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(settings: Settings, **over: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": "attacker",
        "roles": ["admin"],
        "iss": settings.auth.issuer,
        "aud": settings.auth.audience,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def _private_key(settings: Settings) -> Any:
    assert settings.auth.private_key_file is not None
    return serialization.load_pem_private_key(settings.auth.private_key_file.read_bytes(), password=None)


def _signed(settings: Settings, kid: str = "local-1", **over: Any) -> str:
    return jwt.encode(_claims(settings, **over), _private_key(settings), algorithm="ES256", headers={"kid": kid})


def _public_pem(settings: Settings) -> bytes:
    assert settings.auth.public_keys_dir is not None
    return (settings.auth.public_keys_dir / "local-1.pem").read_bytes()


def _hs256_with_public_key(settings: Settings) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "local-1"}).encode())
    payload = _b64(json.dumps(_claims(settings)).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(_public_pem(settings), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _alg_none(settings: Settings) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "local-1"}).encode())
    return f"{header}.{_b64(json.dumps(_claims(settings)).encode())}."


def _tampered(settings: Settings, mint: Mint) -> str:
    header, payload, signature = mint("viewer", subject="mallory").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["admin"]
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def _rs256_with_ec_kid(settings: Settings) -> str:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(_claims(settings), other, algorithm="RS256", headers={"kid": "local-1"})


def _foreign_key(settings: Settings) -> str:
    other = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(_claims(settings), other, algorithm="ES256", headers={"kid": "local-1"})


ATTACKS = {
    "alg_none": _alg_none,
    "expired": lambda s: _signed(s, exp=int(time.time()) - 3600, iat=int(time.time()) - 7200, nbf=None),
    "not_yet_valid": lambda s: _signed(s, nbf=int(time.time()) + 3600),
    "wrong_audience": lambda s: _signed(s, aud="someone-else"),
    "wrong_issuer": lambda s: _signed(s, iss="https://evil.example"),
    "no_audience": lambda s: _signed(s, aud=None),
    "no_expiry": lambda s: _signed(s, exp=None),
    "unknown_kid": lambda s: _signed(s, kid="rotated-away"),
    "hs256_signed_with_public_key": _hs256_with_public_key,
    "rs256_header_on_ec_kid": _rs256_with_ec_kid,
    "signed_by_foreign_key": _foreign_key,
    "garbage": lambda s: "not.a.jwt",
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_forged_or_invalid_tokens_get_401(
    attack: str, dev_client: httpx.AsyncClient, api_settings: Settings
) -> None:
    token = ATTACKS[attack](api_settings)
    r = await dev_client.get(GUARDED, headers=bearer(token))
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"].startswith('Bearer realm="causal-organism"')
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    assert r.json()["error"]["code"] == "unauthorized"


async def test_tampered_payload_gets_401(dev_client: httpx.AsyncClient, api_settings: Settings, mint: Mint) -> None:
    r = await dev_client.get(GUARDED, headers=bearer(_tampered(api_settings, mint)))
    assert r.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}],
    ids=["missing", "empty_bearer", "basic", "blank"],
)
async def test_missing_credentials_get_401(headers: dict[str, str], dev_client: httpx.AsyncClient) -> None:
    r = await dev_client.get(GUARDED, headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="causal-organism"'
    assert r.json() == {"error": {"code": "unauthorized", "message": "missing bearer token", "details": []}}


async def test_valid_token_passes(dev_client: httpx.AsyncClient, mint: Mint) -> None:
    r = await dev_client.get(GUARDED, headers=bearer(mint("analyst")))
    assert r.status_code == 200, r.text


def _privileged_router() -> APIRouter:
    router = APIRouter(prefix="/v1/test-only")

    @router.post("/approvals/{item}")
    async def approve(item: str, _: Principal = Depends(require(Permission.APPROVE_INTERVENTIONS))) -> dict[str, str]:
        return {"approved": item}

    @router.post("/admin/backup")
    async def backup(_: Principal = Depends(require(Permission.ADMIN_OPERATIONS))) -> dict[str, str]:
        return {"ok": "yes"}

    return router


async def test_viewer_on_approver_and_admin_routes_gets_403(api_settings: Settings, mint: Mint) -> None:
    app = build_test_app(api_settings, [_privileged_router()])
    async with running(app) as client:
        viewer = bearer(mint("viewer"))
        for path in ("/v1/test-only/approvals/p1", "/v1/test-only/admin/backup"):
            r = await client.post(path, headers=viewer)
            assert r.status_code == 403, r.text
            assert r.json()["error"]["code"] == "forbidden"
        assert (await client.post("/v1/test-only/approvals/p1", headers=bearer(mint("approver")))).status_code == 200
        assert (await client.post("/v1/test-only/admin/backup", headers=bearer(mint("approver")))).status_code == 403
        assert (await client.post("/v1/test-only/admin/backup", headers=bearer(mint("admin")))).status_code == 200


def _fill(path: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", "p-1", path)


async def test_viewer_gets_403_on_every_route_it_may_not_use(dev_client: httpx.AsyncClient, mint: Mint) -> None:
    """Every route of every HTTP function whose permission a viewer lacks answers 403."""
    app: FastAPI = dev_client.app  # type: ignore[attr-defined]
    viewer = bearer(mint("viewer", subject="walker"))
    checked = 0
    for path, methods, route in iter_routes(app):
        permission = route_permission(route)
        # The web app (mounted at /app) signs in with a cookie session, not a bearer token: a bearer
        # caller is sent to sign-in (303). tests/web walks its routes per role.
        if path.startswith("/app") or permission in (None, "session"):
            continue
        if Permission(permission) in ROLE_PERMISSIONS[Role.VIEWER]:
            continue
        for method in sorted(methods - {"HEAD"}):
            r = await dev_client.request(method, _fill(path), headers=viewer, json={})
            assert r.status_code == 403, f"{method} {path}: {r.status_code} {r.text}"
            checked += 1
    assert checked >= 1


async def test_auth_failures_are_logged_without_token_and_counted(
    dev_client: httpx.AsyncClient, api_settings: Settings, mint: Mint, caplog: pytest.LogCaptureFixture
) -> None:
    expired = ATTACKS["expired"](api_settings)
    forbidden = mint("viewer")
    with caplog.at_level(logging.WARNING, logger="shared.platform.auth"):
        assert (await dev_client.get(GUARDED, headers=bearer(expired))).status_code == 401
        assert (await dev_client.get("/v1/metrics/employees/p-1", headers=bearer(forbidden))).status_code == 403
    text = caplog.text
    assert "reason=expired" in text and "reason=forbidden" in text
    for token in (expired, forbidden):
        assert token not in text
        assert token.split(".")[2] not in text
    metrics = (await dev_client.get("/metrics")).text
    assert 'co_auth_failures_total{reason="expired"}' in metrics
    assert 'co_auth_failures_total{reason="forbidden"}' in metrics
