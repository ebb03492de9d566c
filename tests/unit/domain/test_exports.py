"""Export rules (shared/domain/exports.py): request validation, granularity, safe CSV cells, link expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from shared.domain.exports import (
    KIND_PERMISSION,
    LINK_MAX_EXPIRY_S,
    ExportKind,
    ExportRequest,
    link_expiry,
    resolve_granularity,
    safe_cell,
)
from shared.platform.auth import Permission

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def test_every_kind_needs_an_existing_permission_and_individual_data_needs_the_individual_one() -> None:
    assert set(KIND_PERMISSION) == set(ExportKind)
    assert {Permission(p) for p in KIND_PERMISSION.values()}  # each is a real permission value
    assert KIND_PERMISSION[ExportKind.EMPLOYEE_HISTORY] == Permission.READ_INDIVIDUAL_METRICS.value


def test_history_defaults_to_the_last_seven_days() -> None:
    req = ExportRequest(kind=ExportKind.TEAM_HISTORY, end=T0)
    assert (req.start, req.end) == (T0 - timedelta(days=7), T0)
    assert req.params() == {"start": "2026-02-23T00:00:00Z", "end": "2026-03-02T00:00:00Z", "granularity": "auto"}


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"kind": "team_metrics", "team": "red"}, "team applies to team_history only"),
        ({"kind": "team_history", "employee": "e1"}, "employee applies to employee_history only"),
        ({"kind": "audit", "start": T0, "end": T0}, "start must be before end"),
        ({"kind": "audit", "start": T0 - timedelta(days=800), "end": T0}, "2-year retention"),
        ({"kind": "analyses", "start": T0}, "history and audit kinds only"),
        ({"kind": "team_history", "team": "a/b"}, "pattern"),  # no path separators in a team name
        ({"kind": "employee_history", "employee": "x' OR 1=1"}, "pattern"),
        ({"kind": "team_metrics", "limit": 5}, "Extra inputs"),
        ({"kind": "everything"}, "Input should be"),
        ({"kind": "audit", "start": datetime(2026, 1, 1), "end": T0}, "timezone"),  # naive times refused
    ],
)
def test_bad_requests_are_refused_with_the_reason(fields: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        ExportRequest.model_validate(fields)


def test_granularity_auto_and_the_raw_limit() -> None:
    assert resolve_granularity("auto", T0, T0 + timedelta(days=2), 7) == "raw"
    assert resolve_granularity("auto", T0, T0 + timedelta(days=3), 7) == "hour"
    assert resolve_granularity("auto", T0, T0 + timedelta(days=32), 7) == "day"
    assert resolve_granularity("raw", T0, T0 + timedelta(days=7), 7) == "raw"
    with pytest.raises(ValueError, match="at most 7 days"):
        resolve_granularity("raw", T0, T0 + timedelta(days=8), 7)
    with pytest.raises(ValueError, match="unknown granularity"):
        resolve_granularity("minute", T0, T0 + timedelta(days=1), 7)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("team red", "team red"),
        (-2.5, "-2.5"),  # a negative number is data
        (3, "3"),
        (True, "true"),
        (None, ""),
        (datetime(2026, 3, 2, 1, 0, tzinfo=UTC), "2026-03-02T01:00:00+00:00"),
    ],
)
def test_cells_cannot_become_spreadsheet_formulas(value: object, cell: str) -> None:
    assert safe_cell(value) == cell


def test_link_expiry_bounds() -> None:
    assert link_expiry(None) == 3600
    assert link_expiry(1) == 1
    assert link_expiry(LINK_MAX_EXPIRY_S) == LINK_MAX_EXPIRY_S
    for bad in (0, -5, LINK_MAX_EXPIRY_S + 1):
        with pytest.raises(ValueError, match="between 1 and"):
            link_expiry(bad)
