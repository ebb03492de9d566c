"""Authentication (JWT bearer) and authorisation (one permission table) for every HTTP function.

Every route declares a permission with ``Depends(require(Permission.X))``; only health and docs
are public. Tokens are asymmetric (ES256/RS256), chosen by ``kid`` so keys can rotate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt
from fastapi import Request

from shared.platform.errors import ApiError

log = logging.getLogger(__name__)


class Role(StrEnum):
    VIEWER = "viewer"
    ANALYST = "analyst"
    APPROVER = "approver"
    ADMIN = "admin"
    SERVICE = "service"


class Permission(StrEnum):
    READ_TEAM_AGGREGATES = "read:team_aggregates"
    READ_INDIVIDUAL_METRICS = "read:individual_metrics"
    RUN_ANALYSES = "run:analyses"
    WRITE_OUTCOMES = "write:outcomes"
    READ_INTERVENTIONS = "read:interventions"
    PROPOSE_INTERVENTIONS = "propose:interventions"
    APPROVE_INTERVENTIONS = "approve:interventions"
    READ_AUDIT = "read:audit"
    INGEST_EVENTS = "ingest:events"
    ADMIN_OPERATIONS = "admin:operations"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ_TEAM_AGGREGATES}),
    Role.ANALYST: frozenset(
        {
            Permission.READ_TEAM_AGGREGATES,
            Permission.READ_INDIVIDUAL_METRICS,
            Permission.RUN_ANALYSES,
            Permission.WRITE_OUTCOMES,
            Permission.READ_INTERVENTIONS,
            Permission.PROPOSE_INTERVENTIONS,
        }
    ),
    Role.APPROVER: frozenset(
        {
            Permission.READ_TEAM_AGGREGATES,
            Permission.READ_INTERVENTIONS,
            Permission.APPROVE_INTERVENTIONS,
            Permission.READ_AUDIT,
        }
    ),
    Role.ADMIN: frozenset(Permission),
    Role.SERVICE: frozenset({Permission.INGEST_EVENTS}),
}


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]

    def can(self, permission: Permission) -> bool:
        return any(permission in ROLE_PERMISSIONS[r] for r in self.roles)


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="causal-organism"'})


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    raw = claims.get("roles", [])
    if isinstance(raw, str):
        raw = [raw]
    roles = frozenset(Role(r) for r in raw if r in Role._value2member_map_)
    return Principal(subject=str(claims.get("sub", "")), roles=roles)


def require(permission: Permission) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A FastAPI dependency: authenticate the bearer token, then check ``permission``."""

    async def dependency(request: Request) -> Principal:
        verifier = request.app.state.token_verifier
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            log.warning("auth failure: missing bearer token path=%s", request.url.path)
            raise _unauthorized("missing bearer token")
        try:
            claims = await verifier.verify(token)
        except jwt.PyJWTError as exc:
            log.warning("auth failure: %s path=%s", type(exc).__name__, request.url.path)
            raise _unauthorized("invalid token") from exc
        principal = principal_from_claims(claims)
        if not principal.can(permission):
            log.warning("forbidden: sub=%s lacks %s path=%s", principal.subject, permission, request.url.path)
            raise ApiError(403, "forbidden", f"this role lacks the permission {permission.value}")
        request.state.principal = principal
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]  # read by the route audit test
    return dependency
