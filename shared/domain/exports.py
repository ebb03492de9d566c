"""Exports: what can be exported, who may export it, and how a cell is written safely.

Pure rules (no driver): the export kinds and the permission each needs (the same permission the
API's read route for that data declares), the request's validation, CSV cell neutralisation
against spreadsheet formula injection, and the link-expiry bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

LINK_MAX_EXPIRY_S = 24 * 3600
LINK_DEFAULT_EXPIRY_S = 3600
HISTORY_MAX_RANGE = timedelta(days=731)  # the rollups' retention (the history API's bound)


class ExportKind(StrEnum):
    TEAM_METRICS = "team_metrics"  # the latest refresh's per-team figures (GET /v1/metrics/teams)
    TEAM_HISTORY = "team_history"  # team series (GET /v1/metrics/teams/{team}/history)
    EMPLOYEE_HISTORY = "employee_history"  # per-person series (GET /v1/metrics/employees/{id}/history)
    ANALYSES = "analyses"  # analysis results with diagnostics (GET /v1/analyses/{id}/result)
    AUDIT = "audit"  # the audit trail (approver/admin)


# The permission each kind needs: the permission of the API route that serves the same data.
# Values are shared.platform.auth.Permission values (kept as strings: the domain imports no framework).
KIND_PERMISSION: dict[ExportKind, str] = {
    ExportKind.TEAM_METRICS: "read:team_aggregates",
    ExportKind.TEAM_HISTORY: "read:team_aggregates",
    ExportKind.EMPLOYEE_HISTORY: "read:individual_metrics",
    ExportKind.ANALYSES: "run:analyses",
    ExportKind.AUDIT: "read:audit",
}

EXPORT_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "expired", "erased")
FINISHED_STATUSES = frozenset({"succeeded", "failed", "cancelled", "expired", "erased"})


class ExportRequest(BaseModel):
    """What to export. Range fields apply to the history and audit kinds; ``team``/``employee``
    narrow a history export to one subject (all subjects when omitted)."""

    model_config = ConfigDict(extra="forbid")
    kind: ExportKind
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    granularity: Literal["auto", "raw", "hour", "day"] = "auto"
    team: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f/]+$")
    employee: str | None = Field(None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-:.]+$")
    gzip: bool = False

    @model_validator(mode="after")
    def _check(self) -> ExportRequest:
        if self.team is not None and self.kind != ExportKind.TEAM_HISTORY:
            raise ValueError("team applies to team_history only")
        if self.employee is not None and self.kind != ExportKind.EMPLOYEE_HISTORY:
            raise ValueError("employee applies to employee_history only")
        if self.kind in (ExportKind.TEAM_HISTORY, ExportKind.EMPLOYEE_HISTORY, ExportKind.AUDIT):
            end = self.end or datetime.now(UTC)
            start = self.start or end - timedelta(days=7)
            if start >= end:
                raise ValueError("start must be before end")
            if end - start > HISTORY_MAX_RANGE:
                raise ValueError("range longer than the rollups' 2-year retention")
            self.start, self.end = start, end
        elif self.start is not None or self.end is not None:
            raise ValueError("start/end apply to the history and audit kinds only")
        return self

    def params(self) -> dict[str, Any]:
        """JSON-safe parameters as stored with the export."""
        return self.model_dump(mode="json", exclude={"kind", "gzip"}, exclude_none=True)


def resolve_granularity(
    granularity: str, start: datetime, end: datetime, raw_max_days: int
) -> Literal["raw", "hour", "day"]:
    """``auto`` picks raw (<= 2 days), hour (<= 31 days) or day; raw is refused past
    ``raw_max_days`` (ValueError). The history API and exports both resolve through here."""
    span = end - start
    if granularity == "auto":
        if span <= timedelta(days=2):
            return "raw"
        return "hour" if span <= timedelta(days=31) else "day"
    if granularity == "raw" and span > timedelta(days=raw_max_days):
        raise ValueError(f"raw history spans at most {raw_max_days} days; use hour or day")
    if granularity not in ("raw", "hour", "day"):
        raise ValueError(f"unknown granularity {granularity!r}")
    return granularity  # type: ignore[return-value]


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """One CSV cell as text, neutralised against formula injection (OWASP's rule: a text cell
    starting with = + - @ tab or CR gets a leading apostrophe so a spreadsheet shows it as text).
    Numbers are written as numbers (a negative number is data, not a formula)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    text = str(value)
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def link_expiry(requested_s: int | None, default_s: int = LINK_DEFAULT_EXPIRY_S) -> int:
    """The pre-signed link's lifetime: the request's, else the default; 1 s .. 24 h."""
    seconds = default_s if requested_s is None else requested_s
    if not 1 <= seconds <= LINK_MAX_EXPIRY_S:
        raise ValueError(f"expiry must be between 1 and {LINK_MAX_EXPIRY_S} seconds")
    return seconds


@dataclass
class ExportSweep:
    """One pass of the export sweeper: objects past ``delete_after`` deleted (or, dry, due)."""

    exports_deleted: int
    dry_run: bool
