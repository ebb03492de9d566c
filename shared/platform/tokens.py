"""JWT verification (by kid, from configured public keys or a JWKS URL) and local token minting.

Security rules enforced here, each covered by tests/api/test_auth_attacks.py:

- an explicit allow-list of *asymmetric* algorithms; ``none`` and every HMAC algorithm are
  refused before any key is looked up, so a token "signed" with a public key as an HMAC
  secret (HS/RS confusion) never reaches a verifier;
- the key is chosen by ``kid`` and must be of the algorithm's family (an EC key only verifies
  ES*, an RSA key only RS*/PS*), and a JWK that names its ``alg`` must match the header;
- several keys are valid at once (rotation: publish the new key, start signing with it,
  retire the old one later). A kid we have not seen triggers at most one reload of the keys
  directory or JWKS per ``KEY_REFRESH_MIN_S``, so junk kids cannot make us hammer the IdP;
- ``exp``, ``iat`` and ``sub`` are required; ``nbf``, ``iss`` and ``aud`` are checked.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cachetools import TTLCache
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from shared.platform.settings import Settings

ASYMMETRIC_ALGORITHMS = frozenset({"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
KEY_REFRESH_MIN_S = 30.0
KEY_RELOAD_S = 60.0  # the keys directory is re-read this often: a removed key stops verifying
MAX_TOKEN_BYTES = 8192
VERIFIED_CACHE_TTL_S = 60.0


class UnknownKeyError(jwt.InvalidTokenError):
    """The token names a kid that no configured key source knows."""


class KeyMismatchError(jwt.InvalidAlgorithmError):
    """The token's algorithm does not fit the family of the key its kid names."""


def _family_fits(alg: str, key: Any) -> bool:
    if alg.startswith("ES"):
        return isinstance(key, ec.EllipticCurvePublicKey)
    return isinstance(key, rsa.RSAPublicKey)


def reason_of(exc: Exception) -> str:
    """A short, bounded label for an authentication failure (logs and the Prometheus counter)."""
    kinds: list[tuple[type[Exception], str]] = [
        (jwt.ExpiredSignatureError, "expired"),
        (jwt.ImmatureSignatureError, "not_yet_valid"),
        (jwt.InvalidAudienceError, "audience"),
        (jwt.InvalidIssuerError, "issuer"),
        (jwt.MissingRequiredClaimError, "missing_claim"),
        (UnknownKeyError, "unknown_kid"),
        (jwt.InvalidAlgorithmError, "algorithm"),
        (jwt.InvalidSignatureError, "signature"),
        (jwt.PyJWKClientError, "jwks_unavailable"),
        (jwt.DecodeError, "malformed"),
    ]
    for kind, label in kinds:
        if isinstance(exc, kind):
            return label
    return "invalid"


class TokenVerifier:
    """Verifies signature, exp, nbf, iss and aud with an explicit asymmetric allow-list."""

    def __init__(self, settings: Settings) -> None:
        allowed = [a for a in settings.auth.algorithms if a in ASYMMETRIC_ALGORITHMS]
        if not allowed:
            raise ValueError("jwt_algorithms must name at least one asymmetric algorithm")
        self._algorithms = frozenset(allowed)
        self._issuer = settings.auth.issuer
        self._audience = settings.auth.audience
        self._leeway = settings.auth.leeway_s
        self._keys_dir = settings.auth.public_keys_dir
        self._keys: dict[str, Any] = {}
        self._last_refresh = 0.0
        self._last_reload = time.monotonic()
        self._refresh_lock = asyncio.Lock()
        self._verified: TTLCache[str, dict[str, Any]] = TTLCache(maxsize=10_000, ttl=VERIFIED_CACHE_TTL_S)
        self._load_dir()
        self._jwks = (
            jwt.PyJWKClient(settings.auth.jwks_url, cache_jwk_set=True, lifespan=300, timeout=5)
            if settings.auth.jwks_url
            else None
        )

    @property
    def kids(self) -> list[str]:
        return sorted(self._keys)

    def _load_dir(self) -> None:
        """Replace the keys with the directory's: a key removed from it stops verifying, and
        tokens it verified earlier are forgotten (the verified-token cache is cleared)."""
        if self._keys_dir is None:
            return
        keys: dict[str, Any] = {}
        if self._keys_dir.is_dir():
            for pem in sorted(self._keys_dir.glob("*.pem")):
                key = serialization.load_pem_public_key(pem.read_bytes())
                if isinstance(key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
                    keys[pem.stem] = key
        removed = set(self._keys) - set(keys)
        self._keys = keys
        if removed:
            self._verified.clear()

    async def reload(self) -> None:
        """Re-read the keys directory now (also done every ``KEY_RELOAD_S`` by :meth:`verify`)."""
        self._last_reload = time.monotonic()
        await asyncio.to_thread(self._load_dir)

    def _from_jwks(self, kid: str, alg: str, refresh: bool) -> Any:
        assert self._jwks is not None
        for jwk in self._jwks.get_signing_keys(refresh=refresh):
            if jwk.key_id == kid:
                declared = jwk._jwk_data.get("alg")  # noqa: SLF001 - PyJWK keeps the raw JWK here
                if declared is not None and declared != alg:
                    raise KeyMismatchError("the JWK's alg differs from the token's")
                return jwk.key
        return None

    async def _known_key(self, kid: str, alg: str, *, refresh_jwks: bool) -> Any:
        """``kid``'s key from the key directory, else from the JWKS (fetched anew when asked); None if unknown."""
        if kid in self._keys:
            return self._keys[kid]
        if self._jwks is None:
            return None
        return await asyncio.to_thread(self._from_jwks, kid, alg, refresh_jwks)

    async def _key_for(self, kid: str, alg: str) -> Any:
        key = await self._known_key(kid, alg, refresh_jwks=False)
        if key is not None:
            return key
        async with self._refresh_lock:  # unknown kid: reload at most once per KEY_REFRESH_MIN_S
            now = time.monotonic()
            if now - self._last_refresh >= KEY_REFRESH_MIN_S:
                self._last_refresh = now
                await asyncio.to_thread(self._load_dir)
                key = await self._known_key(kid, alg, refresh_jwks=True)
                if key is not None:
                    return key
        raise UnknownKeyError("unknown kid")

    async def verify(self, token: str) -> dict[str, Any]:
        """Return the verified claims or raise a ``jwt.PyJWTError`` subclass.

        A token that verified once is remembered (exact string, bounded, at most
        ``VERIFIED_CACHE_TTL_S``) so a client's next requests skip the signature check; its
        ``exp`` is still checked on every use.
        """
        if len(token) > MAX_TOKEN_BYTES:
            raise jwt.DecodeError("token too large")
        if time.monotonic() - self._last_reload >= KEY_RELOAD_S:
            await self.reload()
        known = self._verified.get(token)
        if known is not None:
            if float(known["exp"]) + self._leeway <= time.time():
                self._verified.pop(token, None)
                raise jwt.ExpiredSignatureError("Signature has expired")
            return known
        claims = await self._verify(token)
        self._verified[token] = claims
        return claims

    async def _verify(self, token: str) -> dict[str, Any]:
        header = jwt.get_unverified_header(token)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise jwt.InvalidAlgorithmError("algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > 128:
            raise UnknownKeyError("token has no usable kid")
        key = await self._key_for(kid, alg)
        if not _family_fits(alg, key):
            raise KeyMismatchError("algorithm does not fit the key")
        return jwt.decode(
            token,
            key=key,
            algorithms=[alg],
            audience=self._audience,
            issuer=self._issuer,
            leeway=self._leeway,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
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
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
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
    if settings.auth.private_key_file is None:
        raise RuntimeError("no local signing key: set CO_JWT_PRIVATE_KEY_FILE")
    key = serialization.load_pem_private_key(settings.auth.private_key_file.read_bytes(), password=None)
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "roles": roles,
        "iss": settings.auth.issuer,
        "aud": settings.auth.audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
    }
    claims.update(extra or {})
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})  # type: ignore[arg-type]
