"""Intervention workflows: one per intervention (InterventionWorkflow) and the 6-hourly full cycle.

Imported inside Temporal's workflow sandbox: workflow definitions only. The contract (names,
payloads) is ``contract.py``; starting and steering a workflow is ``client.py``; the activities
(``activities.InterventionActivities``, which the workflows call by method reference) are what the
worker takes from ``activities.build_activities``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.lazy_workflows import lazy_workflows

if TYPE_CHECKING:
    from workflows.intervention.cycle import InterventionCycleWorkflow
    from workflows.intervention.workflow import InterventionWorkflow

    WORKFLOWS: list[type]

# the workflow classes load only when asked for (workflows/lazy_workflows.py)
__getattr__ = lazy_workflows(__name__, {"InterventionWorkflow": "workflow", "InterventionCycleWorkflow": "cycle"})

__all__ = ["WORKFLOWS", "InterventionCycleWorkflow", "InterventionWorkflow"]
