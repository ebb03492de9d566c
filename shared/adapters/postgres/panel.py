"""The panel builder: one SQL query turning the time-series store and the outcomes into a
person x period table of the analysis's columns.

Why one SQL text with literals (no bind parameters): the same query feeds asyncpg (pandas
engine) and Spark's JDBC reader, so both engines see exactly the same rows. Every identifier
in it is checked against the column pattern and every literal is a ``date``, so nothing a
caller typed reaches the SQL unchecked.

Periods are ``date_trunc('week'|'month', ...)`` in UTC. A person-period's metrics come from
that period's own graph (``employee_period_metrics``, written by the period back-fill, issue
13) when it has been written; otherwise (periods not back-filled yet) the metric refreshes in
the period are averaged, which reads the cumulative graph. Several outcome values in a period
are averaged; the team is the alphabetically last team the person had that period (ties are
rare: moves mid-period).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from shared.domain.analysis import (
    ATTRIBUTE_COLUMNS,
    COLUMN_PATTERN,
    METRIC_COLUMNS,
    PERIOD_COLUMN,
    AnalysisSpec,
    DataProfile,
)

_IDENT = re.compile(COLUMN_PATTERN)
KEY_COLUMNS = ("employee", "period")
# The panel joins aggregated subqueries on (employee, period). On tables without statistics yet
# (a bulk load, a new daily partition) the planner estimates one row each and picks nested
# loops: quadratic, measured > 5 min at 150K rows against 1 s with hash joins. The panel is a
# pure scan-and-join, so both engines run it with nested loops off (Spark via sessionInitStatement).
PANEL_SESSION_SETTING = "SET enable_nestloop = off"


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a column name: {name!r}")
    return '"' + name + '"'


def _lit(day: date) -> str:
    return "'" + day.isoformat() + "'::date"


def sources_of(columns: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Split columns into time-series metrics (incl. team), attributes, and outcome metrics."""
    metrics = [c for c in columns if c in METRIC_COLUMNS or c == "team"]
    attrs = [c for c in columns if c in ATTRIBUTE_COLUMNS and c != "team"]
    outcomes = [c for c in columns if c not in metrics and c not in attrs and c not in KEY_COLUMNS]
    return metrics, attrs, outcomes


def complete_condition(columns: list[str]) -> str:
    """Every needed column present (a row missing one is dropped, and counted: rows_dropped_missing)."""
    return " AND ".join(f"{_ident(c)} IS NOT NULL" for c in columns) or "true"


def _window_range(spec: AnalysisSpec, lag: int = 0) -> tuple[str, str]:
    """The window as a half-open timestamp range of whole periods, moved ``lag`` periods later."""
    assert spec.window is not None
    unit = spec.period
    lo = f"(date_trunc('{unit}', {_lit(spec.window.start)}::timestamp) + interval '{int(lag)} {unit}')"
    hi = f"(date_trunc('{unit}', {_lit(spec.window.end)}::timestamp) + interval '{int(lag) + 1} {unit}')"
    return lo, hi


def _outcome_join(alias: str, outcomes: list[str], spec: AnalysisSpec, lag: int) -> str:
    """The outcome metrics averaged per person and period, joined on the treatment's period: with a
    lag, the outcome of period t + lag is joined to period t (and the window moves with it)."""
    if not outcomes:
        return ""
    unit = spec.period
    o_period = f"date_trunc('{unit}', period)::date"
    key = f"({o_period} - interval '{int(lag)} {unit}')::date" if lag else o_period
    where = ["true"]
    if spec.window is not None:
        lo, hi = _window_range(spec, lag)
        where.append(f"period >= {lo}::date AND period < {hi}::date")
        where.append(f"{key} BETWEEN {_lit(spec.window.start)} AND {_lit(spec.window.end)}")
    cols = ", ".join(f"avg(value) FILTER (WHERE metric = '{c}')::float8 AS {_ident(c)}" for c in outcomes)
    names = ", ".join(f"'{c}'" for c in outcomes if _IDENT.match(c))
    return f"""
    JOIN (SELECT employee, {key} AS period, {cols}
            FROM outcomes WHERE metric IN ({names}) AND {" AND ".join(where)}
           GROUP BY 1, 2) {alias} ON {alias}.employee = m.employee AND {alias}.period = m.period"""


def panel_sql(spec: AnalysisSpec, *, extra_columns: tuple[str, ...] = (), complete_only: bool = True) -> str:
    """SELECT employee, period, <the spec's columns> for complete rows only (or every row)."""
    columns = list(dict.fromkeys([*spec.columns(), *extra_columns]))
    metrics, attrs, outcomes = sources_of(columns)
    unit = spec.period
    m_period = f"date_trunc('{unit}', time AT TIME ZONE 'UTC')::date"
    m_where = ["true"]
    if spec.window is not None:
        # the range on the raw column first: sargable, so the time index and the daily
        # partitions prune; the period condition then trims the edges exactly
        lo, hi = _window_range(spec)
        m_where.append(f"time >= ({lo} AT TIME ZONE 'UTC') AND time < ({hi} AT TIME ZONE 'UTC')")
        m_where.append(f"{m_period} BETWEEN {_lit(spec.window.start)} AND {_lit(spec.window.end)}")
    m_cols = ", ".join(
        ["max(team) AS team" if c == "team" else f"avg({_ident(c)})::float8 AS {_ident(c)}" for c in metrics]
    )
    m_select = f", {m_cols}" if m_cols else ""
    p_cols = ", ".join(["team" if c == "team" else f"{_ident(c)}::float8" for c in metrics])
    p_select = f", {p_cols}" if p_cols else ""
    p_where = [f"period_kind = '{unit}'"]
    if spec.window is not None:
        p_where.append(f"period_start BETWEEN {_lit(spec.window.start)} AND {_lit(spec.window.end)}")
    lagged = [spec.outcome] if spec.lag and spec.outcome in outcomes else []
    select = ["m.employee", "m.period"]
    select += [f"m.{_ident(c)}" for c in metrics]
    select += [f"a.{_ident(c)}" for c in attrs]
    select += [f"{'ol' if c in lagged else 'o'}.{_ident(c)}" for c in outcomes]
    complete = complete_condition(columns) if complete_only else "true"
    same = [c for c in outcomes if c not in lagged]
    o_join = _outcome_join("o", same, spec, 0) + _outcome_join("ol", lagged, spec, spec.lag)
    a_join = "LEFT JOIN employee_attributes a ON a.employee = m.employee" if attrs else ""
    return f"""SELECT * FROM (
  SELECT {", ".join(select)}
    FROM (SELECT employee, period_start AS period{p_select}
            FROM employee_period_metrics WHERE {" AND ".join(p_where)}
          UNION ALL
          SELECT s.* FROM (SELECT employee, {m_period} AS period{m_select}
                             FROM employee_metrics WHERE {" AND ".join(m_where)}
                            GROUP BY 1, 2) s
           WHERE NOT EXISTS (SELECT 1 FROM employee_period_metrics p
                              WHERE p.period_kind = '{unit}' AND p.employee = s.employee
                                AND p.period_start = s.period)) m
    {o_join}
    {a_join}
) panel WHERE {complete}"""


def profile_sql(spec: AnalysisSpec) -> str:
    """Rows, rows dropped for a missing value, distinct treatment values (capped at 3) and
    binariness of the complete panel."""
    t = _ident(spec.treatment)
    if spec.treatment_threshold is not None:
        t = f"(CASE WHEN {t} > {float(spec.treatment_threshold)!r} THEN 1.0 ELSE 0.0 END)"
    complete = complete_condition(list(dict.fromkeys(spec.columns())))
    return f"""WITH p AS MATERIALIZED ({panel_sql(spec, complete_only=False)})
SELECT count(*) FILTER (WHERE {complete}) AS rows,
       count(*) FILTER (WHERE NOT ({complete})) AS dropped,
       (SELECT count(*) FROM (SELECT DISTINCT {t} FROM p WHERE {complete} LIMIT 3) d) AS distinct_t,
       coalesce(bool_and({t} IN (0, 1)) FILTER (WHERE {complete}), false) AS binary_t
  FROM p"""


async def known_columns(conn: Any) -> list[str]:
    """Every column a spec may name: the metrics, the attributes, the period (as a confounder) and
    each outcome metric seen."""
    rows = await conn.fetch("SELECT DISTINCT metric FROM outcomes")
    return [*METRIC_COLUMNS, *ATTRIBUTE_COLUMNS, PERIOD_COLUMN, *sorted(r["metric"] for r in rows)]


async def profile_panel(conn: Any, spec: AnalysisSpec) -> DataProfile:
    """The facts validation needs, computed inside PostgreSQL (nothing is fetched)."""
    columns = await known_columns(conn)
    if any(c not in columns for c in spec.columns()):
        return DataProfile(columns=columns, rows=0, treatment_distinct=0, treatment_binary=False)
    async with conn.transaction():
        await conn.execute(PANEL_SESSION_SETTING.replace("SET ", "SET LOCAL ", 1))
        row = await conn.fetchrow(profile_sql(spec))
    return DataProfile(
        columns=columns,
        rows=row["rows"],
        rows_dropped_missing=row["dropped"],
        treatment_distinct=row["distinct_t"],
        treatment_binary=row["binary_t"],
    )


async def fetch_panel(conn: Any, spec: AnalysisSpec) -> Any:
    """The panel as a pandas frame (the in-process engine's input)."""
    import pandas as pd

    async with conn.transaction():
        await conn.execute(PANEL_SESSION_SETTING.replace("SET ", "SET LOCAL ", 1))
        records = await conn.fetch(panel_sql(spec))
    names = list(records[0].keys()) if records else [*KEY_COLUMNS, *spec.columns()]
    return pd.DataFrame([tuple(r) for r in records], columns=names)
