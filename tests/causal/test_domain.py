"""The pure rules: spec validation, causal graph parsing, data checks, engine choice, verdict."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.domain.analysis import (
    AnalysisSpec,
    DataProfile,
    Engine,
    Estimate,
    Estimator,
    Refuter,
    SpecProblem,
    check_against_data,
    choose_engine,
    judge_refutation,
    parse_graph,
    verdict,
)
from shared.domain.outcomes import CsvProblem, parse_outcomes_csv

COLUMNS = ["meeting_hours", "wellbeing", "team", "tenure_years", "role"]


def spec(**over: object) -> AnalysisSpec:
    body: dict[str, object] = {"treatment": "meeting_hours", "outcome": "wellbeing", "confounders": ["team"]}
    return AnalysisSpec(**(body | over))


@pytest.mark.parametrize(
    "over",
    [
        {"treatment": "wellbeing"},
        {"confounders": ["meeting_hours"]},
        {"confounders": []},
        {"confounders": ["team", "team"]},
        {"confounders": ["Team Name"]},
        {"treatment": "team"},
        {"estimator": "backdoor.magic"},
        {"refuters": ["bootstrap"]},
        {"window": {"start": "2026-02-01", "end": "2026-01-01"}},
        {"refuter_simulations": 1},
        {"graph": "digraph { a -> b }", "confounders": []},
        {"graph": "not a graph", "confounders": []},
        {"graph": "digraph { team -> wellbeing; }", "confounders": []},
        {"unexpected": 1},
    ],
)
def test_bad_specs_are_rejected(over: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        spec(**over)


def test_graph_gives_parents_of_treatment_dot_and_gml() -> None:
    dot = (
        'digraph G { "team" -> meeting_hours -> wellbeing; tenure_years -> meeting_hours [label=x]; team -> wellbeing }'
    )
    s = spec(confounders=[], graph=dot)
    assert s.adjustment_set() == ["team", "tenure_years"]
    assert parse_graph(dot) >= {("team", "meeting_hours"), ("meeting_hours", "wellbeing")}
    gml = """graph [ directed 1
      node [ id 0 label "role" ] node [ id 1 label "meeting_hours" ] node [ id 2 label "wellbeing" ]
      edge [ source 0 target 1 ] edge [ source 1 target 2 ] edge [ source 0 target 2 ] ]"""
    assert spec(confounders=[], graph=gml).adjustment_set() == ["role"]


def test_data_checks_name_the_field_and_reason() -> None:
    ok = DataProfile(columns=COLUMNS, rows=100, treatment_distinct=3, treatment_binary=False)
    check_against_data(spec(), ok, min_rows=30)
    cases = [
        (spec(confounders=["team", "salary"]), ok, "confounders", "unknown column(s): salary"),
        (spec(outcome="attrition"), ok, "outcome", "unknown column"),
        (spec(), ok.model_copy(update={"rows": 10}), "window", "too few rows: 10"),
        (spec(), ok.model_copy(update={"treatment_distinct": 1}), "treatment", "no variation"),
        (spec(estimator=Estimator.PROPENSITY_SCORE_WEIGHTING), ok, "estimator", "binary"),
    ]
    for s, profile, field, reason in cases:
        with pytest.raises(SpecProblem) as err:
            check_against_data(s, profile, min_rows=30)
        assert err.value.field == field and reason in err.value.reason


def test_engine_choice_by_row_count() -> None:
    assert choose_engine(99_999, 100_000)[0] is Engine.PANDAS
    engine, reason = choose_engine(100_000, 100_000)
    assert engine is Engine.SPARK and reason == "100000 rows >= spark threshold 100000"


def test_verdict_rule() -> None:
    est = Estimate(effect=-0.4, ci_low=-0.45, ci_high=-0.35)
    passing = [
        judge_refutation(Refuter.PLACEBO_TREATMENT, -0.4, 0.01, 10),
        judge_refutation(Refuter.RANDOM_COMMON_CAUSE, -0.4, -0.41, 10),
        judge_refutation(Refuter.DATA_SUBSET, -0.4, -0.37, 10),
    ]
    assert all(r.passed for r in passing)
    assert verdict(est, passing) == ("robust", [])
    # a placebo that still "works", a subset that moves the answer, an interval spanning 0
    assert not judge_refutation(Refuter.PLACEBO_TREATMENT, -0.4, -0.2, 10).passed
    assert not judge_refutation(Refuter.DATA_SUBSET, -0.4, -0.3, 10).passed
    label, reasons = verdict(Estimate(effect=-0.01, ci_low=-0.05, ci_high=0.03), passing)
    assert label == "fragile" and "includes 0" in reasons[0]
    assert verdict(est, [])[0] == "fragile"


def test_outcomes_csv_reports_every_bad_line() -> None:
    good = "employee,period,metric,value,source\na,2026-01-05,wellbeing,7.5,\nb,2026-01-05,wellbeing,6,pulse\n"
    rows = parse_outcomes_csv(good)
    assert [(r.employee, r.value, s) for r, s in rows] == [("a", 7.5, None), ("b", 6.0, "pulse")]
    with pytest.raises(CsvProblem) as err:
        parse_outcomes_csv("employee,period,metric,value\na,2026-01-05,wellbeing,nan\n,2026-01-05,x,1\n")
    fields = [d["field"] for d in err.value.details]
    assert any(f.startswith("line 2") for f in fields) and any(f.startswith("line 3") for f in fields)
