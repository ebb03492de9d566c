"""Production key configuration: several keys valid at once (rotation), from a directory or a JWKS URL."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from shared.platform.settings import Settings
from shared.platform.tokens import TokenVerifier, UnknownKeyError


def _claims(settings: Settings) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": "svc",
        "roles": ["service"],
        "iss": settings.auth.issuer,
        "aud": settings.auth.audience,
        "iat": now,
        "exp": now + 60,
    }


def _pem(key: Any) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


class _Jwks:
    """A real HTTP server publishing a JWK set that the test can change (key rotation)."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.fetches += 1
                body = json.dumps({"keys": outer.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"

    def publish(self, kid: str, key: Any, alg: str) -> None:
        algo = jwt.algorithms.ECAlgorithm if alg.startswith("ES") else jwt.algorithms.RSAAlgorithm
        jwk = json.loads(algo.to_jwk(key.public_key()))
        self.keys.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})


@pytest.fixture()
def jwks() -> Iterator[_Jwks]:
    server = _Jwks()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()


async def test_two_keys_in_directory_are_both_valid(settings: Settings, tmp_path: Path) -> None:
    old, new = (
        ec.generate_private_key(ec.SECP256R1()),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )
    (tmp_path / "2026-old.pem").write_bytes(_pem(old))
    (tmp_path / "2026-new.pem").write_bytes(_pem(new))
    verifier = TokenVerifier(settings.replace(**{"jwt_public_keys_dir": tmp_path}))
    assert verifier.kids == ["2026-new", "2026-old"]
    claims = _claims(settings)
    assert (await verifier.verify(jwt.encode(claims, old, "ES256", headers={"kid": "2026-old"})))["sub"] == "svc"
    assert (await verifier.verify(jwt.encode(claims, new, "RS256", headers={"kid": "2026-new"})))["sub"] == "svc"
    # the right key under the wrong kid fails: kid selects exactly one key
    with pytest.raises(jwt.PyJWTError):
        await verifier.verify(jwt.encode(claims, new, "RS256", headers={"kid": "2026-old"}))
    # a key published later is picked up on its first use (no restart), retiring works the same way
    newest = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "2027.pem").write_bytes(_pem(newest))
    assert (await verifier.verify(jwt.encode(claims, newest, "ES256", headers={"kid": "2027"})))["sub"] == "svc"


async def test_jwks_rotation_and_refetch_is_throttled(settings: Settings, jwks: _Jwks) -> None:
    first, second = (
        ec.generate_private_key(ec.SECP256R1()),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )
    jwks.publish("k1", first, "ES256")
    verifier = TokenVerifier(settings.replace(**{"jwt_public_keys_dir": None, "jwt_jwks_url": jwks.url}))
    claims = _claims(settings)
    assert (await verifier.verify(jwt.encode(claims, first, "ES256", headers={"kid": "k1"})))["sub"] == "svc"
    jwks.publish("k2", second, "RS256")  # the IdP rotates: both keys valid at once
    assert (await verifier.verify(jwt.encode(claims, second, "RS256", headers={"kid": "k2"})))["sub"] == "svc"
    assert (await verifier.verify(jwt.encode(claims, first, "ES256", headers={"kid": "k1"})))["sub"] == "svc"
    fetches = jwks.fetches
    for i in range(20):  # junk kids must not make us hammer the IdP
        with pytest.raises(UnknownKeyError):
            await verifier.verify(jwt.encode(claims, first, "ES256", headers={"kid": f"junk-{i}"}))
    assert jwks.fetches - fetches <= 1


async def test_jwk_alg_must_match_token_alg(settings: Settings, jwks: _Jwks) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks.publish("r1", key, "RS256")
    verifier = TokenVerifier(
        settings.replace(
            **{
                "jwt_public_keys_dir": None,
                "jwt_jwks_url": jwks.url,
                "jwt_algorithms": ("RS256", "PS256"),
            }
        )
    )
    with pytest.raises(jwt.InvalidAlgorithmError):
        await verifier.verify(jwt.encode(_claims(settings), key, "PS256", headers={"kid": "r1"}))


def test_symmetric_algorithms_cannot_be_configured(settings: Settings) -> None:
    with pytest.raises(ValueError):
        TokenVerifier(settings.replace(**{"jwt_algorithms": ("HS256", "none")}))


async def test_remembered_token_still_expires(settings: Settings, tmp_path: Path) -> None:
    """The verified-token cache skips the signature check, never the expiry check."""
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "k.pem").write_bytes(_pem(key))
    verifier = TokenVerifier(settings.replace(**{"jwt_public_keys_dir": tmp_path, "jwt_leeway_s": 0}))
    now = int(time.time())
    claims = {**_claims(settings), "iat": now, "exp": now + 1}
    token = jwt.encode(claims, key, "ES256", headers={"kid": "k"})
    assert (await verifier.verify(token))["sub"] == "svc"
    assert (await verifier.verify(token))["sub"] == "svc"  # from the cache
    await asyncio.sleep(1.2)
    with pytest.raises(jwt.ExpiredSignatureError):
        await verifier.verify(token)
