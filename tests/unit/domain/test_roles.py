"""Approval roles come from the one permission table: the workflow's decider check and the API's
``require(APPROVE_INTERVENTIONS)`` cannot disagree."""

from __future__ import annotations

from shared.domain.roles import ROLE_PERMISSIONS, Permission, Role, roles_with
from shared.platform.auth import Principal
from workflows.intervention.contract import DECIDER_ROLES


def test_deciders_are_the_roles_the_table_lets_approve() -> None:
    assert DECIDER_ROLES == roles_with(Permission.APPROVE_INTERVENTIONS) == {"approver", "admin"}
    for role in Role:
        may_approve = Principal("s", frozenset({role})).can(Permission.APPROVE_INTERVENTIONS)
        assert (role.value in DECIDER_ROLES) == may_approve, role


def test_abuse_viewer_analyst_and_service_are_not_deciders() -> None:
    for role in (Role.VIEWER, Role.ANALYST, Role.SERVICE):
        assert role.value not in DECIDER_ROLES
        assert Permission.APPROVE_INTERVENTIONS not in ROLE_PERMISSIONS[role]
    assert roles_with(Permission.INGEST_EVENTS) == {"service", "admin"}
