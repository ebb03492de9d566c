"""Engine parity on the same 150,000 person-weeks in PostgreSQL: the Spark engine (reading over
JDBC, chosen by the row-count rule) and the pandas/DoWhy engine agree within 1%."""

from __future__ import annotations

import pytest

from shared.adapters.causal.pandas_engine import run_pandas
from shared.adapters.postgres.panel import fetch_panel
from shared.domain.analysis import Engine, Estimator, Refuter, Window
from shared.platform.resources import Resources
from shared.services.causal_analysis import ProgressState, compute
from tests.causal.conftest import PEOPLE, WEEKS, big_spec, close

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "extra",
    [
        {"estimator": Estimator.LINEAR_REGRESSION},
        {"estimator": Estimator.PROPENSITY_SCORE_WEIGHTING, "treatment_threshold": 10.0},
    ],
    ids=["linear_regression", "propensity_weighting"],
)
async def test_pandas_and_spark_agree_on_150k_rows(cres: Resources, big_org: Window, extra: dict) -> None:
    spec = big_spec(big_org, **extra)
    spark, provenance = await compute(cres, spec, ProgressState())
    assert spark.engine is Engine.SPARK and provenance["engine"] == "spark"
    assert spark.engine_reason == f"{PEOPLE * WEEKS} rows >= spark threshold 100000"
    assert "pyspark" in provenance["library_versions"] and provenance["rows"] == PEOPLE * WEEKS

    async with cres.pg.acquire() as conn:
        frame = await fetch_panel(conn, spec)
    pandas = run_pandas(frame, spec)
    assert pandas.rows == spark.rows == PEOPLE * WEEKS
    assert pandas.design_columns == spark.design_columns
    assert close(pandas.effect, spark.effect), (pandas.effect, spark.effect)
    assert close(pandas.ci_low, spark.ci_low) and close(pandas.ci_high, spark.ci_high)
    assert close(pandas.naive_effect, spark.naive_effect)
    # the new figures: clustered standard error, diagnostics, sensitivity
    assert spark.std_error_kind == pandas.std_error_kind == "cluster:person" and spark.clusters == PEOPLE
    assert close(pandas.std_error or 0, spark.std_error or 0)
    ps, ss = pandas.sensitivity, spark.sensitivity
    assert ps is not None and ss is not None and ps.benchmark == ss.benchmark
    assert close(ps.robustness_value, ss.robustness_value) and close(ps.e_value or 0, ss.e_value or 0)
    assert close(ps.benchmark_r2_outcome or 0, ss.benchmark_r2_outcome or 0)
    assert close(ps.adjusted_ci_low or 0, ss.adjusted_ci_low or 0, rel=0.02)
    pd_, sd_ = pandas.diagnostics, spark.diagnostics
    assert pd_ is not None and sd_ is not None
    if spec.estimator is Estimator.LINEAR_REGRESSION:
        assert close(pd_.overlap.residual_treatment_share or 0, sd_.overlap.residual_treatment_share or 0)
    else:
        assert abs((pd_.overlap.share_outside_support or 0) - (sd_.overlap.share_outside_support or 0)) < 0.005
        assert abs((pd_.max_abs_smd_after or 0) - (sd_.max_abs_smd_after or 0)) < 0.01
    if spec.estimator is Estimator.LINEAR_REGRESSION:
        assert abs(spark.effect - (-0.4)) < 0.02  # and both find the planted effect
        # the functional-form check: same terms, same shift and standard error (team absorbed in Spark)
        pc, sc = pandas.specification, spark.specification
        assert pc is not None and sc is not None and pc.terms == sc.terms and len(pc.terms) == 4
        assert close(pc.flexible_effect, sc.flexible_effect) and close(pc.shift_se, sc.shift_se)
        assert abs(pc.p_value - sc.p_value) < 0.01
    else:
        assert pandas.specification is None and spark.specification is None


async def test_spark_refuters(cres: Resources, big_org: Window) -> None:
    spec = big_spec(big_org, refuters=list(Refuter), refuter_simulations=8)
    result, _ = await compute(cres, spec, ProgressState())
    assert result.engine is Engine.SPARK
    by = {r.refuter: r for r in result.refutations}
    assert abs(by[Refuter.PLACEBO_TREATMENT].new_effect) < 0.02
    assert all(r.passed for r in result.refutations), result.refutations
    assert result.verdict == "robust", result.verdict_reasons
