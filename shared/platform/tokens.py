"""JWT verification (by kid, from configured public keys or a JWKS URL) and local token minting."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from shared.platform.settings import Settings

ASYMMETRIC_ALGORITHMS = frozenset({"ES256", "ES384", "RS256", "RS384", "RS512", "PS256"})


class TokenVerifier:
    """Verifies signature, exp, nbf, iss and aud with an explicit asymmetric allow-list."""

    def __init__(self, settings: Settings) -> None:
        allowed = [a for a in settings.jwt_algorithms if a in ASYMMETRIC_ALGORITHMS]
        if not allowed:
            raise ValueError("jwt_algorithms must name at least one asymmetric algorithm")
        self._algorithms = allowed
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._leeway = settings.jwt_leeway_s
        self._keys: dict[str, Any] = {}
        if settings.jwt_public_keys_dir is not None and settings.jwt_public_keys_dir.is_dir():
            for pem in sorted(settings.jwt_public_keys_dir.glob("*.pem")):
                self._keys[pem.stem] = serialization.load_pem_public_key(pem.read_bytes())
        self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True) if settings.jwt_jwks_url else None

    async def _key_for(self, token: str) -> Any:
        header = jwt.get_unverified_header(token)
        if header.get("alg") not in self._algorithms:
            raise jwt.InvalidAlgorithmError("algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise jwt.InvalidTokenError("token has no kid")
        if kid in self._keys:
            return self._keys[kid]
        if self._jwks is not None:
            signing_key = await asyncio.to_thread(self._jwks.get_signing_key, kid)
            return signing_key.key
        raise jwt.InvalidTokenError("unknown kid")

    async def verify(self, token: str) -> dict[str, Any]:
        key = await self._key_for(token)
        return jwt.decode(
            token,
            key=key,
            algorithms=self._algorithms,
            audience=self._audience,
            issuer=self._issuer,
            leeway=self._leeway,
            options={"require": ["exp", "iat", "sub"]},
        )


def generate_local_keypair(directory: Path, kid: str = "local-1") -> Path:
    """Create an EC P-256 key pair for local development (idempotent). Returns the private key path."""
    private_path = directory / "jwt_private.pem"
    public_dir = directory / "jwt_public"
    public_dir.mkdir(parents=True, exist_ok=True)
    if not private_path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        private_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        private_path.chmod(0o600)
        (public_dir / f"{kid}.pem").write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return private_path


def mint_token(
    settings: Settings,
    *,
    subject: str,
    roles: list[str],
    ttl_s: int = 3600,
    kid: str = "local-1",
    extra: dict[str, Any] | None = None,
) -> str:
    """Mint a token with the local private key (development and tests only)."""
    if settings.jwt_private_key_file is None:
        raise RuntimeError("no local signing key: set CO_JWT_PRIVATE_KEY_FILE")
    key = serialization.load_pem_private_key(settings.jwt_private_key_file.read_bytes(), password=None)
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "roles": roles,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
    }
    claims.update(extra or {})
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})  # type: ignore[arg-type]
