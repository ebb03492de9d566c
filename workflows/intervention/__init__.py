"""Intervention workflows: one per intervention (InterventionWorkflow) and the 6-hourly full cycle.

Imported inside Temporal's workflow sandbox: workflow definitions only. The contract (names,
payloads) is ``contract.py``, the activity interface ``interface.py``; starting and steering a workflow is
``client.py``; the worker takes the activities from ``activities.build_activities``.
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
