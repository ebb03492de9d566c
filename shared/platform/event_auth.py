"""Who may deliver CloudEvents to the ingest function (it writes to the stream everyone trusts).

Two kinds of caller, both verified cryptographically before anything is parsed into the stream:
- a service JWT verified by the API's own :class:`TokenVerifier` (issuer, audience, keys) whose
  roles grant ``ingest:events`` (roles service or admin);
- when ``CO_INGEST_OIDC_*`` is configured, a Knative Eventing OIDC token: the broker presents a
  token for the subscriber's audience, issued by the cluster's service-account issuer, and the
  audience (optionally the subject) must be ours.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from shared.domain.roles import Permission
from shared.platform.principal import principal_from_claims
from shared.platform.settings import Settings
from shared.platform.tokens import TokenVerifier, reason_of


@dataclass(frozen=True)
class EventCaller:
    identity: str  # "jwt:<sub>" or "oidc:<sub>": the rate-limit key and the log name
    premium: bool = False


class EventAuthError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _oidc_settings(settings: Settings) -> Settings | None:
    if not (settings.ingest.oidc.issuer and settings.ingest.oidc.audience):
        return None
    return settings.replace(
        **{
            "jwt_issuer": settings.ingest.oidc.issuer,
            "jwt_audience": settings.ingest.oidc.audience,
            "jwt_jwks_url": settings.ingest.oidc.jwks_url,
            "jwt_public_keys_dir": settings.ingest.oidc.public_keys_dir,
        }
    )


async def _oidc_caller(settings: Settings, token: str, service_error: jwt.PyJWTError) -> EventCaller:
    oidc = _oidc_settings(settings)
    if oidc is None:
        raise EventAuthError(401, "unauthorized", f"invalid token ({reason_of(service_error)})")
    try:
        claims = await TokenVerifier(oidc).verify(token)
    except jwt.PyJWTError as exc:
        raise EventAuthError(401, "unauthorized", f"invalid token ({reason_of(exc)})") from None
    subject = str(claims.get("sub", ""))
    if settings.ingest.oidc.subjects and subject not in settings.ingest.oidc.subjects:
        raise EventAuthError(403, "forbidden", "this OIDC subject may not deliver events")
    return EventCaller(f"oidc:{subject}")


async def verify_event_caller(settings: Settings, authorization: str | None) -> EventCaller:
    """The verified caller, or :class:`EventAuthError` (401 no/invalid token, 403 not allowed)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise EventAuthError(401, "unauthorized", "missing bearer token")
    token = token.strip()
    try:
        claims = await TokenVerifier(settings).verify(token)
    except jwt.PyJWTError as service_error:
        return await _oidc_caller(settings, token, service_error)
    principal = principal_from_claims(claims)
    if not principal.can(Permission.INGEST_EVENTS):
        raise EventAuthError(403, "forbidden", f"missing permission {Permission.INGEST_EVENTS.value}")
    return EventCaller(f"jwt:{principal.subject}", principal.premium)
