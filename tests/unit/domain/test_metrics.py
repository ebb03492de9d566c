"""One list of metrics: the API's response and history models, the period rows and the history
SQL are all built from ``shared.domain.metrics.METRICS``, so a new metric is one entry there
plus its computation. A throwaway metric shows each of them picking it up (no server needed)."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from functions.metrics_api.periods import EmployeePeriod, employee_period_model
from functions.metrics_api.routes import EmployeeMetricsOut, HistoryPoint, employee_metrics_model, history_point_model
from shared.adapters.postgres.metrics_store import employee_history_sql, team_history_sql
from shared.domain.metrics import HISTORY_COLUMNS, METRICS, NUMERIC_METRICS, EmployeeMetrics, Metric

FOCUS = Metric("focus_hours", float, "hours without an interaction (a throwaway metric of this test)", nullable=True)
WITH_FOCUS = (*METRICS, FOCUS)


def test_every_listed_metric_is_computed_stored_and_served() -> None:
    assert [f.name for f in fields(EmployeeMetrics)][2:] == list(NUMERIC_METRICS), "EmployeeMetrics follows METRICS"
    assert HISTORY_COLUMNS[3:] == NUMERIC_METRICS
    for m in METRICS:
        assert m.name in HistoryPoint.model_fields and m.name in EmployeePeriod.model_fields
        assert (m.name in EmployeeMetricsOut.model_fields) == m.materialised, m.name
    assert "focus_hours" not in HistoryPoint.model_fields


def test_a_new_metric_reaches_the_response_models() -> None:
    person = employee_metrics_model(WITH_FOCUS)(id="p_1", team="a", focus_hours=2.5)
    assert person.model_dump()["focus_hours"] == 2.5
    assert employee_metrics_model(WITH_FOCUS)(id="p_1", team="a").model_dump()["focus_hours"] is None
    point = history_point_model(WITH_FOCUS)(time=datetime(2031, 1, 1, tzinfo=UTC), focus_hours=3)
    assert point.model_dump()["focus_hours"] == 3.0 and isinstance(point.model_dump()["focus_hours"], float)
    # period rows carry every metric: the new one is required (None allowed: it is nullable)
    period = employee_period_model(WITH_FOCUS)
    row = {"period_start": date(2031, 1, 6), "team": "a", **{m.name: 1 for m in METRICS}}
    assert period(**row, focus_hours=None).model_dump()["focus_hours"] is None
    with pytest.raises(ValidationError, match="focus_hours"):
        period(**row)


def test_a_new_metric_reaches_the_history_queries() -> None:
    for gran in ("raw", "hour", "day"):
        assert "focus_hours" in employee_history_sql(gran, metrics=WITH_FOCUS)  # type: ignore[arg-type]
        assert "focus_hours" not in employee_history_sql(gran)  # type: ignore[arg-type]
    # a nullable metric's mean divides by its own count of values, not by the rows
    assert "sum_focus_hours / nullif(n_focus_hours, 0) AS focus_hours" in employee_history_sql(
        "hour", metrics=WITH_FOCUS
    )
    assert "sum(sum_focus_hours) / nullif(sum(n_focus_hours), 0)" in team_history_sql("day", metrics=WITH_FOCUS)
