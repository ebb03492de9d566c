"""Intervention workflows: one per intervention (InterventionWorkflow) and the 6-hourly full cycle.

Imported inside Temporal's workflow sandbox: workflow definitions only. The contract (names,
payloads, the activity interface) is ``contract.py``; starting and steering a workflow is
``client.py``; the worker takes the activities from ``activities.build_activities``.
"""

from __future__ import annotations

from workflows.intervention.cycle import InterventionCycleWorkflow
from workflows.intervention.workflow import InterventionWorkflow

WORKFLOWS: list[type] = [InterventionWorkflow, InterventionCycleWorkflow]

__all__ = ["WORKFLOWS", "InterventionCycleWorkflow", "InterventionWorkflow"]
