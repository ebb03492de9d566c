"""The pure rules: spec validation, causal graph parsing, data checks, engine choice, verdict."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from shared.domain.analysis import (
    AnalysisSpec,
    DataProfile,
    Engine,
    Estimator,
    Refuter,
    SpecProblem,
    check_against_data,
    choose_engine,
)
from shared.domain.causal_graph import parse_graph
from shared.domain.causal_verdict import (
    Diagnostics,
    Estimate,
    Overlap,
    Sensitivity,
    SpecificationCheck,
    hidden_confounder_explains_away,
    judge_refutation,
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
    assert s.adjustment_set() == ["team"]  # tenure_years only causes the treatment: an instrument
    assert parse_graph(dot) >= {("team", "meeting_hours"), ("meeting_hours", "wellbeing")}
    gml = """graph [ directed 1
      node [ id 0 label "role" ] node [ id 1 label "meeting_hours" ] node [ id 2 label "wellbeing" ]
      edge [ source 0 target 1 ] edge [ source 1 target 2 ] edge [ source 0 target 2 ] ]"""
    assert spec(confounders=[], graph=gml).adjustment_set() == ["role"]


@pytest.mark.parametrize(
    "graph",
    [
        "digraph { team -> meeting_hours -> wellbeing -> team }",  # a cycle through the outcome
        "digraph { role -> team; team -> role; team -> meeting_hours -> wellbeing }",  # a cycle among confounders
        "digraph { wellbeing -> meeting_hours -> wellbeing }",
        "graph { team -- meeting_hours; meeting_hours -- wellbeing }",  # undirected
        'graph [ directed 0 node [ id 0 label "a" ] ]',
    ],
)
def test_cyclic_or_undirected_graph_is_rejected(graph: str) -> None:
    with pytest.raises(ValidationError):
        spec(confounders=[], graph=graph)


def test_instruments_stay_out_of_the_adjustment_set() -> None:
    # tenure_years causes the treatment only: an instrument, not a confounder
    dot = "digraph { team -> meeting_hours; team -> wellbeing; tenure_years -> meeting_hours }"
    dot = dot[:-1] + "; meeting_hours -> wellbeing }"
    assert spec(confounders=[], graph=dot).adjustment_set() == ["team"]
    gml = """graph [ directed 1
      node [ id 0 label "role" ] node [ id 1 label "meeting_hours" ] node [ id 2 label "wellbeing" ]
      node [ id 3 label "tenure_years" ]
      edge [ source 0 target 1 ] edge [ source 1 target 2 ] edge [ source 0 target 2 ] edge [ source 3 target 1 ] ]"""
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


def test_refuters_are_statistical_tests() -> None:
    est = Estimate(effect=-0.4, ci_low=-0.45, ci_high=-0.35)
    assert judge_refutation(Refuter.PLACEBO_TREATMENT, est, [0.01, -0.02, 0.0, 0.015], p_value=0.001).passed
    # a placebo distribution that contains the real estimate (p large), or sits away from zero
    assert not judge_refutation(Refuter.PLACEBO_TREATMENT, est, [-0.3, -0.5, -0.4, -0.35], p_value=0.6).passed
    assert not judge_refutation(Refuter.PLACEBO_TREATMENT, est, [-0.2, -0.21, -0.19, -0.2], p_value=0.001).passed
    # subset: inside the original interval passes, even if 10% away; outside fails
    assert judge_refutation(Refuter.DATA_SUBSET, est, [-0.37, -0.38, -0.36]).passed
    assert not judge_refutation(Refuter.DATA_SUBSET, est, [-0.30, -0.31, -0.32]).passed
    assert judge_refutation(Refuter.DUMMY_OUTCOME, est, [0.05, -0.04, 0.01]).passed
    assert not judge_refutation(Refuter.DUMMY_OUTCOME, est, [0.30, 0.31, 0.29]).passed


@pytest.mark.parametrize("simulations", [3, 5, 10, 20])
def test_a_null_refuter_rarely_fails_however_few_the_simulations(simulations: int) -> None:
    """Calibration over 4,000 seeded null refuters (effects centred on 0): the false-failure rate
    stays below 2% at every simulation count (a fixed 1.96 SD failed 7.7% at 3 simulations),
    while a distribution 5 SD away from 0 still fails at 10 or more simulations."""
    rng = random.Random(simulations)
    est = Estimate(effect=-0.4, ci_low=-0.45, ci_high=-0.35)
    trials = 4000
    false_failures = sum(
        not judge_refutation(Refuter.DUMMY_OUTCOME, est, [rng.gauss(0, 0.01) for _ in range(simulations)]).passed
        for _ in range(trials)
    )
    assert false_failures / trials < 0.02, false_failures
    if simulations >= 10:
        biased = [rng.gauss(0.05, 0.01) for _ in range(simulations)]
        assert not judge_refutation(Refuter.DUMMY_OUTCOME, est, biased).passed


def _diagnostics(share: float | None = 0.01, residual: float | None = None) -> Diagnostics:
    overlap = Overlap(kind="propensity", share_outside_support=share, residual_treatment_share=residual)
    return Diagnostics(overlap=overlap, balance=[], max_abs_smd_before=0.3, max_abs_smd_after=0.02)


def _sensitivity(explained: bool) -> Sensitivity:
    return Sensitivity(
        method="test",
        robustness_value=0.3,
        robustness_value_alpha=0.25,
        partial_r2_treatment_outcome=0.2,
        benchmark="team",
        adjusted_ci_low=-0.1 if explained else -0.3,
        adjusted_ci_high=0.1 if explained else -0.2,
        explained_away=explained,
    )


def test_verdict_ladder() -> None:
    est = Estimate(effect=-0.4, ci_low=-0.45, ci_high=-0.35)
    ok = [judge_refutation(Refuter.DATA_SUBSET, est, [-0.4, -0.41, -0.39])]
    bad = [judge_refutation(Refuter.DATA_SUBSET, est, [-0.1, -0.11, -0.09])]
    good_diag, good_sens = _diagnostics(), _sensitivity(False)
    assert verdict(est, ok, good_diag, good_sens) == ("robust", [])
    label, reasons = verdict(est, ok, _diagnostics(share=0.4), good_sens)
    assert label == "insufficient_overlap" and "40% of units" in reasons[0]
    assert verdict(est, ok, _diagnostics(share=None, residual=0.01), good_sens)[0] == "insufficient_overlap"
    null = Estimate(effect=-0.01, ci_low=-0.05, ci_high=0.03)
    label, reasons = verdict(null, ok, good_diag, good_sens)
    assert label == "not_significant" and "includes 0" in reasons[0]
    assert verdict(est, bad, good_diag, good_sens)[0] == "fragile"
    assert verdict(est, [], good_diag, good_sens)[0] == "fragile"
    label, reasons = verdict(est, ok, good_diag, _sensitivity(True))
    assert label == "sensitive_to_hidden_confounding" and "as strong as team" in reasons[0]
    # nothing assessed is never robust
    assert verdict(est, ok, None, None)[0] == "insufficient_overlap"
    assert verdict(est, ok, good_diag, None)[0] == "sensitive_to_hidden_confounding"
    # a failed functional-form check caps the verdict at fragile, with the shift in the reason
    bent = SpecificationCheck(
        method="m", terms=["tenure_years^2"], flexible_effect=-0.2, shift=0.2, shift_se=0.05, p_value=1e-4, passed=False
    )
    label, reasons = verdict(est, ok, good_diag, good_sens, specification=bent)
    assert label == "fragile" and "functional-form check failed" in reasons[0] and "tenure_years^2" in reasons[0]
    straight = bent.model_copy(update={"p_value": 0.4, "passed": True})
    assert verdict(est, ok, good_diag, good_sens, specification=straight) == ("robust", [])
    assert hidden_confounder_explains_away(-0.4, 0.1, 0.2)  # the sign flips
    assert not hidden_confounder_explains_away(-0.4, -0.3, -0.2)


def test_outcomes_csv_reports_every_bad_line() -> None:
    good = "employee,period,metric,value,source\na,2026-01-05,wellbeing,7.5,\nb,2026-01-05,wellbeing,6,pulse\n"
    rows = parse_outcomes_csv(good)
    assert [(r.employee, r.value, s) for r, s in rows] == [("a", 7.5, None), ("b", 6.0, "pulse")]
    with pytest.raises(CsvProblem) as err:
        parse_outcomes_csv("employee,period,metric,value\na,2026-01-05,wellbeing,nan\n,2026-01-05,x,1\n")
    fields = [d["field"] for d in err.value.details]
    assert any(f.startswith("line 2") for f in fields) and any(f.startswith("line 3") for f in fields)
