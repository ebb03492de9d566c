"""Intervention workflows: one per intervention (InterventionWorkflow) and the 6-hourly full cycle."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workflows.intervention.cycle import InterventionCycleWorkflow
from workflows.intervention.workflow import InterventionWorkflow

if TYPE_CHECKING:
    from shared.platform.resources import Resources

WORKFLOWS: list[type] = [InterventionWorkflow, InterventionCycleWorkflow]


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    from shared.adapters.postgres.audit import AuditStore
    from workflows.intervention.activities import build

    return build(resources.settings, AuditStore(resources.pg, resources.settings.audit_key)).all()
