"""Period history back-fill on Temporal (issue 13): on demand from the API and daily.

Imported inside Temporal's workflow sandbox: workflow definitions only (see
workflows/metrics_refresh/__init__.py for why).
"""

from __future__ import annotations

from workflows.period_backfill.workflow import PeriodBackfillWorkflow

WORKFLOWS: list[type] = [PeriodBackfillWorkflow]

__all__ = ["WORKFLOWS", "PeriodBackfillWorkflow"]
