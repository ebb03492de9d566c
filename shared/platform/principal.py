"""Who a verified token names: subject, roles, premium. Free of any web framework, because the
CloudEvents function (Flask) builds one too and must not load FastAPI for it (cold starts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.roles import ROLE_PERMISSIONS, Permission, Role


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]
    premium: bool = False

    def can(self, permission: Permission) -> bool:
        return any(permission in ROLE_PERMISSIONS[r] for r in self.roles)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Roles from the ``roles`` claim (unknown names ignored); premium from role or ``tier``."""
    raw = claims.get("roles", [])
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raw = []
    names = {r for r in raw if isinstance(r, str)}
    roles = frozenset(Role(r) for r in names if r in Role._value2member_map_)
    premium = "premium" in names or claims.get("tier") == "premium"
    return Principal(subject=str(claims.get("sub", ""))[:256], roles=roles, premium=premium)
