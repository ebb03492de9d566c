"""Period history back-fill on Temporal (issue 13): on demand from the API and daily.

Imported inside Temporal's workflow sandbox: workflow definitions only (see
workflows/metrics_refresh/__init__.py for why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.lazy_workflows import lazy_workflows

if TYPE_CHECKING:
    from workflows.period_backfill.workflow import PeriodBackfillWorkflow

    WORKFLOWS: list[type]

# the workflow classes load only when asked for (workflows/lazy_workflows.py)
__getattr__ = lazy_workflows(__name__, {"PeriodBackfillWorkflow": "workflow"})

__all__ = ["WORKFLOWS", "PeriodBackfillWorkflow"]
