"""Who is using the web app: OpenID Connect sign-in, the session cookie, CSRF and page permissions.

- Sign-in is the authorization code flow with PKCE (S256) against the organisation's identity
  provider, through authlib's Starlette client (discovery, state, nonce, ID token signature and
  claims). The provider's groups map to the project's roles (``web_oidc_group_roles``); a
  person in no mapped group gets no role and sees nothing.
- The session is Starlette's signed cookie (itsdangerous): HttpOnly, SameSite=Lax (the provider's
  redirect back is a top-level GET, which Strict would strip), Secure unless configured off.
  It holds the subject, the roles and a CSRF token, never a bearer token.
- Every state-changing request carries the session's CSRF token (form field or header) and a
  same-origin ``Origin``; the WebSocket handshake checks ``Origin`` too (cross-site hijacking).
- Development sign-in (pick a role) exists only when ``web_dev_sign_in`` is set AND the
  environment is local or test; anywhere else it is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, WebSocket
from starlette.requests import HTTPConnection

from shared.domain.roles import ROLE_PERMISSIONS, Permission, Role
from shared.platform.auth import Principal
from shared.platform.errors import ApiError
from shared.platform.settings import Settings

SESSION_COOKIE = "co_session"
SESSION_KEY = "user"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SIGNIN_ROLES = (Role.VIEWER, Role.ANALYST, Role.APPROVER, Role.ADMIN)  # service is for machines only


@dataclass(frozen=True)
class WebUser:
    """The signed-in person as the session records them."""

    subject: str
    roles: frozenset[Role]
    name: str
    csrf: str
    via: str  # "oidc" or "dev"
    expires_at: float

    @property
    def principal(self) -> Principal:
        return Principal(subject=self.subject, roles=self.roles)

    def can(self, permission: Permission) -> bool:
        return self.principal.can(permission)

    @property
    def permissions(self) -> frozenset[Permission]:
        return frozenset(p for r in self.roles for p in ROLE_PERMISSIONS[r])

    def to_session(self) -> dict[str, Any]:
        return {
            "sub": self.subject,
            "roles": sorted(r.value for r in self.roles),
            "name": self.name,
            "csrf": self.csrf,
            "via": self.via,
            "exp": self.expires_at,
        }

    @classmethod
    def from_session(cls, data: Any) -> WebUser | None:
        if not isinstance(data, dict):
            return None
        try:
            roles = frozenset(Role(r) for r in data.get("roles", []) if r in Role._value2member_map_)
            user = cls(
                str(data["sub"]),
                roles,
                str(data.get("name", "")),
                str(data["csrf"]),
                str(data["via"]),
                float(data["exp"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return user if user.expires_at > time.time() else None


def new_user(settings: Settings, subject: str, roles: frozenset[Role], name: str, via: str) -> WebUser:
    return WebUser(
        subject=subject[:256],
        roles=roles - {Role.SERVICE},
        name=name[:128],
        csrf=secrets.token_urlsafe(32),
        via=via,
        expires_at=time.time() + settings.web.session_max_age_s,
    )


def session_secret(settings: Settings) -> str:
    """The cookie signing key. Production must configure one; local and test runs derive a stable one
    from the pseudonymisation key, so a restarted dev server keeps its sessions."""
    if settings.web.session_secret is not None:
        return settings.web.session_secret.get_secret_value()
    if settings.environment == "production":
        raise RuntimeError("CO_WEB_SESSION_SECRET is required in production")
    return hmac.new(settings.privacy.pseudonymisation_key, b"web-session-cookie", hashlib.sha256).hexdigest()


def dev_sign_in_allowed(settings: Settings) -> bool:
    return settings.web.dev_sign_in and settings.environment in ("local", "test")


def roles_from_groups(settings: Settings, claims: dict[str, Any]) -> frozenset[Role]:
    """Map the identity provider's groups to roles; unknown groups (and the service role) give nothing."""
    raw = claims.get(settings.web.oidc_groups_claim, [])
    groups = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    roles = set()
    for group in groups:
        name = settings.web.oidc_group_roles.get(str(group), "")
        if name in Role._value2member_map_ and name != Role.SERVICE:
            roles.add(Role(name))
    return frozenset(roles)


def current_user(conn: HTTPConnection) -> WebUser | None:
    if "session" not in conn.scope:
        return None
    return WebUser.from_session(conn.session.get(SESSION_KEY))


def expected_origin(conn: HTTPConnection, settings: Settings) -> str:
    if settings.web.public_origin:
        return settings.web.public_origin.rstrip("/")
    scheme = "https" if conn.url.scheme in ("https", "wss") else "http"
    host = conn.headers.get("host", conn.url.netloc)
    return f"{scheme}://{host}"


def same_origin(conn: HTTPConnection, settings: Settings) -> bool:
    """The request's Origin (or, lacking one, its Referer) is this app's origin."""
    origin = conn.headers.get("origin")
    if origin is None:
        referer = conn.headers.get("referer")
        if referer is None:
            return False
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    return origin.rstrip("/") == expected_origin(conn, settings)


class SignInRequired(Exception):
    """A page was asked for without a session: the handler sends the person to sign in."""


def page_user(permission: Permission | None = None) -> Callable[..., Coroutine[Any, Any, WebUser]]:
    """A FastAPI dependency for pages and fragments: a session, and ``permission`` if given
    (403 in words otherwise). Declares the permission like ``auth.require`` does."""

    async def dependency(request: Request) -> WebUser:
        user = current_user(request)
        if user is None:
            raise SignInRequired()
        if permission is not None and not user.can(permission):
            raise ApiError(403, "forbidden", f"your role lacks the permission {permission.value}")
        request.state.web_user = user
        return user

    dependency.permission = permission or "session"  # type: ignore[attr-defined]  # read by the route audit test
    return dependency


def form_user(permission: Permission) -> Callable[..., Coroutine[Any, Any, WebUser]]:
    """Like :func:`page_user` for state-changing requests: also the CSRF token and a same origin."""
    inner = page_user(permission)

    async def dependency(request: Request) -> WebUser:
        user = await inner(request)
        settings: Settings = request.app.state.settings
        if not same_origin(request, settings):
            raise ApiError(403, "forbidden", "cross-site request refused")
        token = request.headers.get(CSRF_HEADER)
        if token is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
        if not token or not hmac.compare_digest(token, user.csrf):
            raise ApiError(403, "forbidden", "missing or wrong CSRF token; reload the page")
        return user

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def socket_user(websocket: WebSocket) -> WebUser | None:
    """The WebSocket's user from the session cookie, when its Origin is this app's."""
    settings: Settings = websocket.app.state.settings
    if not same_origin(websocket, settings):
        return None
    return current_user(websocket)


def build_oauth(settings: Settings) -> Any:
    """authlib's OpenID Connect client for the configured provider, or None when none is configured."""
    if not settings.web.oidc_issuer or not settings.web.oidc_client_id:
        return None
    from authlib.integrations.starlette_client import OAuth

    oauth = OAuth()
    secret = settings.web.oidc_client_secret.get_secret_value() if settings.web.oidc_client_secret else None
    kwargs: dict[str, Any] = {"scope": settings.web.oidc_scopes, "code_challenge_method": "S256"}
    if secret is None:
        kwargs["token_endpoint_auth_method"] = "none"
    oauth.register(
        "idp",
        server_metadata_url=settings.web.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_id=settings.web.oidc_client_id,
        client_secret=secret,
        client_kwargs=kwargs,
    )
    return oauth.create_client("idp")
