"""The data retention workflow's contract: names, payload."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from shared.domain.exports import ExportSweep

WORKFLOW_NAME = "DataRetentionWorkflow"
RETENTION_ACTIVITY = "data.retention"
# task queue: the worker's ``temporal_task_queue``


@dataclass
class DataRetentionRequest:
    dry_run: bool = False


@dataclass
class TotalsRecomputed:
    people: int
    ties_removed_from_graph: int


@dataclass
class RetentionReport:
    """What one run removed (or, dry, would remove): rows per table, the cutoffs (ISO times) and
    the export sweeper's own report. Stored in ``retention_runs`` and audited as ``to_json()``."""

    run_id: int
    dry_run: bool
    now: str
    deleted: dict[str, int] = field(default_factory=dict)
    cutoffs: dict[str, str] = field(default_factory=dict)
    totals_recomputed: TotalsRecomputed | None = None  # applied runs only
    exports: ExportSweep | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if out["totals_recomputed"] is None:
            del out["totals_recomputed"]
        return out
