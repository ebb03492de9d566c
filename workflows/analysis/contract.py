"""The analysis workflow's contract: names, payloads (no dependencies: functions that start it import it)."""

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
    """The workflow's input: this (the API, after recording the analysis), or a bare spec dict
    (a child of the intervention cycle: user-supplied pass-through JSON), recorded first by the
    create activity. Same JSON as the ``asdict`` the client sent before it was typed."""

    analysis_id: str
    heartbeat_timeout_s: float = 30.0
    activity_timeout_s: float = 6 * 3600.0
    max_attempts: int = 5


@dataclass
class CreateRequest:
    spec: dict[str, Any]  # the user-supplied AnalysisSpec as JSON (validated by the activity)
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


@dataclass
class RunResult:
    """The run activity's and the workflow's result; the analysis document itself stays in the
    analyses row (jsonb). ``already``: an earlier attempt had stored it (a retry or a replay)."""

    status: str  # succeeded, or the row's status when another attempt holds it
    already: bool
    verdict: str | None = None  # set when this attempt computed the result
