"""Who may do what: the one table of roles and their permissions.

Pure (no web framework) so the HTTP functions (``shared.platform.auth``), the web app and the
workflows that check a decider's role (workflows/intervention) all read the same table.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType
from typing import Final


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


ROLE_PERMISSIONS: Final = MappingProxyType(
    {
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
)


def roles_with(permission: Permission) -> frozenset[str]:
    """The names of the roles granted ``permission`` (what a workflow checks a caller's roles against)."""
    return frozenset(role.value for role, granted in ROLE_PERMISSIONS.items() if permission in granted)
