"""The analysis workflow's contract: names, payloads (no dependencies; the activity interface is interface.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WORKFLOW_NAME = "AnalysisWorkflow"  # the name other workflows (the intervention cycle) start
RUN_ACTIVITY = "analysis.run"
FINISH_ACTIVITY = "analysis.finish"
CREATE_ACTIVITY = "analysis.create"
PROGRESS = "progress"  # the signal the activity sends and the query that reads it
# task queue: the worker's ``temporal_task_queue``


def workflow_id(analysis_id: str) -> str:
    return f"analysis-{analysis_id}"


@dataclass
class AnalysisInput:
    """The workflow's input is this as a dict (the API, after recording the analysis) or a bare
    spec dict (a child of the intervention cycle), recorded first by the create activity."""

    analysis_id: str
    heartbeat_timeout_s: float = 30.0
    activity_timeout_s: float = 6 * 3600.0
    max_attempts: int = 5


@dataclass
class CreateRequest:
    spec: dict[str, Any]
    workflow_id: str


@dataclass
class RunRequest:
    analysis_id: str
    workflow_id: str


@dataclass
class FinishRequest:
    analysis_id: str
    status: str  # failed | cancelled
    error: str
