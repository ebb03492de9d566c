"""Outcome data (per person and period) and person attributes, as they arrive: validated here,
pseudonymised by the service before anything is stored.

A CSV import has the header ``employee,period,metric,value`` (an optional ``source`` column
overrides the request's source per row). Every bad line is reported with its line number and
nothing from a file with a bad line is stored.
"""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import date

from pydantic import BaseModel, Field, ValidationError, field_validator

from shared.domain.analysis import COLUMN_PATTERN

MAX_RECORDS = 50_000
CSV_COLUMNS = ("employee", "period", "metric", "value")


class OutcomeRecord(BaseModel):
    employee: str = Field(min_length=1, max_length=256, description="raw employee id; pseudonymised on arrival")
    period: date = Field(description="any day of the period; analyses group by week or month start")
    metric: str = Field(pattern=COLUMN_PATTERN, description="e.g. wellbeing, attrition, review_turnaround_h")
    value: float

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("value must be a finite number")
        return value


SOURCE_PATTERN = re.compile(r"^[A-Za-z0-9_\-.:]{1,64}$")  # a batch's source and a CSV row's, alike


class OutcomeBatch(BaseModel):
    source: str = Field(min_length=1, max_length=64, pattern=SOURCE_PATTERN.pattern)
    records: list[OutcomeRecord] = Field(min_length=1, max_length=MAX_RECORDS)


class AttributeRecord(BaseModel):
    employee: str = Field(min_length=1, max_length=256)
    tenure_years: float | None = Field(default=None, ge=0, le=80)
    role: str | None = Field(default=None, min_length=1, max_length=64)
    team: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")


class AttributeBatch(BaseModel):
    records: list[AttributeRecord] = Field(min_length=1, max_length=MAX_RECORDS)


class CsvProblem(ValueError):
    """A CSV that cannot be imported; ``details`` are (field, problem) pairs with line numbers."""

    def __init__(self, details: list[dict[str, str]]) -> None:
        super().__init__(f"{len(details)} problem(s) in the CSV")
        self.details = details


def parse_outcomes_csv(text: str, max_problems: int = 20) -> list[tuple[OutcomeRecord, str | None]]:
    """Records (with their per-row source, if any) or :class:`CsvProblem` naming each bad line."""
    try:
        return _parse_outcomes_csv(text, max_problems)
    except csv.Error as exc:  # e.g. a bare carriage return inside a field: a 422, not a 500
        raise CsvProblem([{"field": "body", "problem": f"not a readable CSV: {exc}"}]) from exc


def _parse_outcomes_csv(text: str, max_problems: int) -> list[tuple[OutcomeRecord, str | None]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise CsvProblem([{"field": "header", "problem": f"missing column(s): {', '.join(missing)}"}])
    reader.fieldnames = header
    out: list[tuple[OutcomeRecord, str | None]] = []
    problems: list[dict[str, str]] = []
    for line, row in enumerate(reader, start=2):
        if len(out) >= MAX_RECORDS:
            problems.append({"field": f"line {line}", "problem": f"more than {MAX_RECORDS} rows; split the file"})
            break
        try:
            record = OutcomeRecord.model_validate({c: (row.get(c) or "").strip() for c in CSV_COLUMNS})
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err.get("loc", ()))
                problems.append({"field": f"line {line}: {loc}", "problem": str(err.get("msg", "invalid"))})
            if len(problems) >= max_problems:
                break
            continue
        source = (row.get("source") or "").strip() or None
        if source is not None and not SOURCE_PATTERN.match(source):
            problems.append({"field": f"line {line}: source", "problem": "1-64 letters, digits, '_', '-', '.' or ':'"})
            continue
        out.append((record, source))
    if problems:
        raise CsvProblem(problems[:max_problems])
    if not out:
        raise CsvProblem([{"field": "body", "problem": "the CSV has no data rows"}])
    return out
