"""Authentication (JWT bearer) and authorisation (the one permission table, shared/domain/roles.py)
for every HTTP function.

Every route declares a permission with ``Depends(require(Permission.X))``; only health and docs
are public. Tokens are asymmetric (ES256/RS256), chosen by ``kid`` so keys can rotate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.domain.roles import Permission
from shared.platform.errors import ApiError
from shared.platform.principal import Principal, principal_from_claims
from shared.platform.ratelimit import RateClass, rate_class_for
from shared.platform.tokens import reason_of

log = logging.getLogger(__name__)


WWW_AUTHENTICATE = 'Bearer realm="causal-organism"'


def _unauthorized(message: str, error: str = "invalid_token") -> ApiError:
    header = WWW_AUTHENTICATE if error == "missing" else f'{WWW_AUTHENTICATE}, error="{error}"'
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": header})


def client_ip(request: Request) -> str:
    """The peer address (run uvicorn with --proxy-headers behind a trusted proxy)."""
    return request.client.host if request.client is not None else "unknown"


def _auth_failed(request: Request, reason: str, detail: str = "") -> None:
    """Log and count an authentication/authorisation failure. Never logs the token."""
    log.warning(
        "auth failure reason=%s path=%s ip=%s %s",
        reason,
        request.url.path,
        client_ip(request),
        detail,
    )
    count = getattr(request.app.state, "count_auth_failure", None)
    if count is not None:
        count(reason)


def _refuse_repeated_scalars(request: Request) -> None:
    """422 when a single-valued query parameter is sent twice (HTTP parameter pollution: FastAPI
    would silently keep the last value, a proxy or WAF may have checked the first)."""
    scalars = getattr(request.scope.get("route"), "co_scalar_query", ())
    repeated = [n for n in scalars if len(request.query_params.getlist(n)) > 1]
    if repeated:
        raise ApiError(
            422,
            "validation_error",
            "request failed validation",
            [{"field": n, "problem": "given more than once; expected a single value"} for n in sorted(repeated)],
        )


async def _limit_unauthenticated(request: Request, limiter: Any, endpoint: str) -> None:
    """Requests without a valid token: limited per client IP (429 before the 401)."""
    if limiter is not None:
        await limiter.enforce(
            RateClass.UNAUTHENTICATED,
            subject=None,
            ip=client_ip(request),
            premium=False,
            endpoint=endpoint,
            count=request.app.state.count_ratelimit,
        )


def require(permission: Permission, *, rate: RateClass | None = None) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A FastAPI dependency: authenticate the bearer token, check ``permission``, then apply the
    rate limit of the endpoint class (``rate``, or derived from the method and permission)."""
    bearer = HTTPBearer(
        auto_error=False,
        bearerFormat="JWT",
        description="ES256/RS256 JWT; `causal-organism token --role ...`",
    )

    async def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> Principal:
        limiter = getattr(request.app.state, "rate_limiter", None)
        route = request.scope.get("route")
        endpoint = f"{request.method} {getattr(route, 'path', request.url.path)}"
        if credentials is None or not credentials.credentials:
            _auth_failed(request, "missing_token")
            await _limit_unauthenticated(request, limiter, endpoint)
            raise _unauthorized("missing bearer token", "missing")
        verifier = request.app.state.token_verifier
        try:
            claims = await verifier.verify(credentials.credentials)
        except jwt.PyJWTError as exc:
            _auth_failed(request, reason_of(exc), type(exc).__name__)
            await _limit_unauthenticated(request, limiter, endpoint)
            raise _unauthorized("invalid token") from exc
        principal = principal_from_claims(claims)
        if not principal.can(permission):
            _auth_failed(request, "forbidden", f"sub={principal.subject[:64]!r} lacks={permission.value}")
            raise ApiError(403, "forbidden", f"this role lacks the permission {permission.value}")
        request.state.principal = principal
        _refuse_repeated_scalars(request)
        if limiter is not None:  # per user only: a shared address must not let one user starve others
            request.state.ratelimit_headers = await limiter.enforce(
                rate or rate_class_for(request.method, permission.value),
                subject=principal.subject,
                ip=None,
                premium=principal.premium,
                endpoint=endpoint,
                count=request.app.state.count_ratelimit,
            )
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]  # read by the route audit test
    return dependency
