"""DoWhy's doubly robust, matching and stratification estimators beside the regression and the
weighting estimator; bootstrap intervals that resample people; comparison mode; what the Spark
engine refuses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.adapters.causal.pandas_engine import run_pandas
from shared.domain.analysis import (
    AnalysisSpec,
    DataProfile,
    Engine,
    Estimand,
    Estimator,
    SpecProblem,
    check_against_data,
    check_engine,
)
from shared.domain.causal_verdict import Estimate, EstimatorEstimate, compare_estimates, verdict
from shared.domain.synthetic_org import generate_org

# a binary treatment with moderate team confounding and persistent person habits
ORG = {"people": 160, "weeks": 8, "treatment": "high_meeting_load", "true_effect": -2.0}
ORG |= {"load_on_treatment": 1.0, "load_on_outcome": -1.0, "person_effect": 0.5}
FAST = {"refuters": [], "sensitivity": False, "estimand": Estimand.ATE, "bootstrap_draws": 20}


@pytest.mark.parametrize(
    "estimator",
    [Estimator.DOUBLY_ROBUST, Estimator.PROPENSITY_SCORE_MATCHING, Estimator.PROPENSITY_SCORE_STRATIFICATION],
)
def test_library_estimators_recover_the_planted_effect_with_a_person_bootstrap(estimator: Estimator) -> None:
    org = generate_org(5, **ORG)
    spec = AnalysisSpec(**org.spec_kwargs(), estimator=estimator, **FAST)
    result = run_pandas(org.frame(), spec)
    assert result.estimator is estimator and result.std_error_kind == "bootstrap:person"
    assert result.ci_low <= org.true_effect <= result.ci_high, (result.effect, result.ci_low, result.ci_high)
    assert abs(result.naive_effect - org.true_effect) > abs(result.effect - org.true_effect)  # adjustment helps
    assert result.std_error and 0 < result.std_error < 1.0
    if estimator is not Estimator.PROPENSITY_SCORE_MATCHING:
        return  # the draws' seeding, on the cheapest estimator
    again = run_pandas(org.frame(), spec)
    assert (again.ci_low, again.ci_high) == (result.ci_low, result.ci_high)  # seeded
    other = run_pandas(org.frame(), spec.model_copy(update={"seed": 1}))
    assert (other.ci_low, other.ci_high) != (result.ci_low, result.ci_high)
    assert other.effect == pytest.approx(result.effect)  # the seed moves only the draws


def test_weighting_bootstrap_interval_resamples_people_and_matches_the_sandwich() -> None:
    org = generate_org(6, **ORG)
    base = AnalysisSpec(**org.spec_kwargs(), estimator=Estimator.PROPENSITY_SCORE_WEIGHTING, **FAST)
    sandwich = run_pandas(org.frame(), base)
    boot = run_pandas(org.frame(), base.model_copy(update={"interval": "bootstrap", "bootstrap_draws": 60}))
    assert sandwich.std_error_kind == "cluster:person" and boot.std_error_kind == "bootstrap:person"
    assert boot.effect == pytest.approx(sandwich.effect)
    assert sandwich.std_error and boot.std_error
    assert 0.6 < boot.std_error / sandwich.std_error < 1.6, (boot.std_error, sandwich.std_error)
    rows = run_pandas(org.frame(), base.model_copy(update={"interval": "bootstrap", "cluster": "none"}))
    assert rows.std_error_kind == "bootstrap:rows"
    # resampling rows ignores that a person's weeks move together: a narrower (too narrow) interval
    assert rows.std_error and rows.std_error < boot.std_error


def test_comparison_mode_reports_every_estimator_and_their_spread() -> None:
    org = generate_org(7, **ORG)
    spec = AnalysisSpec(
        **org.spec_kwargs(),
        estimator=Estimator.PROPENSITY_SCORE_WEIGHTING,
        compare=[Estimator.LINEAR_REGRESSION, Estimator.DOUBLY_ROBUST, Estimator.PROPENSITY_SCORE_WEIGHTING],
        **FAST,
    )
    result = run_pandas(org.frame(), spec)
    c = result.comparison
    assert c is not None
    assert [e.estimator for e in c.estimates] == [
        Estimator.PROPENSITY_SCORE_WEIGHTING,
        Estimator.LINEAR_REGRESSION,
        Estimator.DOUBLY_ROBUST,
    ]
    effects = [e.effect for e in c.estimates]
    assert c.estimates[0].effect == result.effect
    assert c.spread == pytest.approx(max(effects) - min(effects))
    assert c.estimates[2].std_error_kind == "bootstrap:person"
    assert c.agree == (not c.outside)
    assert all(abs(e - org.true_effect) < 0.6 for e in effects), effects


def test_disagreeing_estimators_cap_the_verdict() -> None:
    main = Estimate(effect=-2.0, ci_low=-2.3, ci_high=-1.7)
    fields = ("estimator", "effect", "ci_low", "ci_high", "std_error", "std_error_kind")
    est = [
        EstimatorEstimate(**dict(zip(fields, row, strict=True)))
        for row in (
            (Estimator.LINEAR_REGRESSION, -2.0, -2.3, -1.7, 0.15, "cluster:person"),
            (Estimator.PROPENSITY_SCORE_MATCHING, -0.9, -1.5, -0.3, 0.3, "bootstrap:person"),
        )
    ]
    comparison = compare_estimates(main, est)
    assert not comparison.agree and comparison.outside == [Estimator.PROPENSITY_SCORE_MATCHING]
    assert comparison.spread == pytest.approx(1.1)
    label, reasons = verdict(main, [], None, None, comparison=comparison)
    assert "estimators disagree" in " ".join(reasons)
    assert compare_estimates(main, est[:1]).agree


def test_spec_rules_for_the_new_estimators_and_the_spark_engine() -> None:
    kwargs = {"treatment": "high_meeting_load", "outcome": "wellbeing", "confounders": ["team"]}
    with pytest.raises(ValidationError, match="ATE only"):
        AnalysisSpec(**kwargs, estimator=Estimator.DOUBLY_ROBUST)  # default estimand att
    with pytest.raises(ValidationError):
        AnalysisSpec(**kwargs, bootstrap_draws=100_000)  # abuse: a run that never ends
    with pytest.raises(ValidationError):
        AnalysisSpec(**kwargs, compare=list(Estimator))  # at most 4
    continuous = DataProfile(
        columns=["high_meeting_load", "wellbeing", "team"], rows=500, treatment_distinct=40, treatment_binary=False
    )
    with pytest.raises(SpecProblem) as err:
        check_against_data(AnalysisSpec(**kwargs, compare=[Estimator.PROPENSITY_SCORE_MATCHING]), continuous, 30)
    assert err.value.field == "compare" and "binary" in err.value.reason
    check_engine(AnalysisSpec(**kwargs, estimator=Estimator.PROPENSITY_SCORE_MATCHING), Engine.PANDAS)
    refused = [
        ({"estimator": Estimator.PROPENSITY_SCORE_MATCHING}, "estimator"),
        ({"estimator": Estimator.DOUBLY_ROBUST, "estimand": Estimand.ATE}, "estimator"),
        ({"compare": [Estimator.PROPENSITY_SCORE_STRATIFICATION]}, "compare"),
        ({"compare": [Estimator.PROPENSITY_SCORE_WEIGHTING]}, "compare"),
        ({"estimator": Estimator.PROPENSITY_SCORE_WEIGHTING, "interval": "bootstrap"}, "interval"),
    ]
    for over, field in refused:
        with pytest.raises(SpecProblem) as err:
            check_engine(AnalysisSpec(**kwargs | over), Engine.SPARK)
        assert err.value.field == field, over
    check_engine(AnalysisSpec(**kwargs, estimator=Estimator.PROPENSITY_SCORE_WEIGHTING), Engine.SPARK)
