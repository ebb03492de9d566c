"""Spark engine: the pandas engine's estimators as Spark jobs over the panel read straight from
PostgreSQL over JDBC. Nothing but aggregates (coefficients, sums, category levels) ever reaches
the driver; the data is never collected, into pandas or otherwise.

- Linear regression: the normal equations solved on the driver from one aggregation of the
  centred cross-products (spark_moments.py), with OLS standard errors, the same model DoWhy
  fits with statsmodels; the interval uses the same t quantile. Every nested or refuter fit is
  a solve on such moments (one pass for all noise simulations of a refuter).
- Propensity-score weighting: Spark ML ``LogisticRegression`` (unpenalised) for the
  propensities, then the Hajek estimate and its sandwich standard error as two aggregations
  (the same formulas as design.weighting_estimate).
- Clustered standard errors without collecting: by Frisch-Waugh-Lovell the treatment's
  sandwich needs only the treatment residualised on the covariates (one more regression) and
  the per-cluster sums of residual x residual (one groupBy), as design.ols_treatment_fit.
- Diagnostics (propensity quantiles, ESS, SMDs) and the sensitivity statistics (partial R2s
  from the residual sums of nested regressions) are aggregations; the formulas are the pandas
  engine's (design.sensitivity_from_stats calls DoWhy's analysers on them).
- Refuters, ``refuter_simulations`` refits each on the cached design:
  placebo = an independent draw with the treatment's mean and variance (Bernoulli(p) for a
  binary treatment; DoWhy permutes instead, which Spark can only do with a global sort);
  random common cause = an added N(0, 1) covariate; data subset = a random 80% of rows;
  dummy outcome = N(0, sd(outcome)) noise as the outcome. The p-value is DoWhy's test.

The data side (session, JDBC read, design) is spark_design.py, the statistics spark_stats.py.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from shared.adapters.causal import AnalysisCancelled, Progress, ShouldStop, never_stop, no_progress
from shared.adapters.causal.design import T_COL, Y_COL, cluster_label, t_quantile
from shared.adapters.causal.spark_design import T_RAW, Y_RAW, SparkDesign, build_design
from shared.adapters.causal.spark_moments import linear_refits
from shared.adapters.causal.spark_stats import (
    design_moments,
    diagnostics_of,
    functional_form,
    sensitivity_of,
    treatment_fit,
    weighting_fit,
)
from shared.domain.analysis import AnalysisSpec, Engine, Estimator, Refuter
from shared.domain.causal_verdict import AnalysisResult, Estimate, Refutation, judge_refutation, verdict

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def run_spark(
    panel: DataFrame,
    spec: AnalysisSpec,
    *,
    progress: Progress = no_progress,
    should_stop: ShouldStop = never_stop,
    engine_reason: str = "",
) -> AnalysisResult:
    """Run the analysis on a Spark DataFrame holding the panel (e.g. from :func:`read_panel`)."""
    from types import SimpleNamespace

    from dowhy.causal_refuter import test_significance
    from pyspark.sql import functions as F

    started = time.perf_counter()
    steps = 3 + len(spec.refuters)

    def step(stage: str, done: int) -> None:
        if should_stop():
            raise AnalysisCancelled(stage)
        progress(stage, done / steps)

    step("model", 0)
    d = build_design(panel, spec)
    design, covariates, fit_cols = d.frame, d.covariates, d.fit_columns
    weighting = spec.estimator is Estimator.PROPENSITY_SCORE_WEIGHTING
    try:
        step("estimate", 1)
        moments_of_design = design_moments(d)
        fit = treatment_fit(d, moments_of_design)
        rows = int(fit["n"])
        clustered = "se_cluster" in fit
        groups = int(fit.get("clusters", 0))
        if weighting:
            effect, se_w, _ = weighting_fit(design, T_COL, fit_cols, spec.estimand, clustered)
            assert se_w is not None
            se = se_w
            dof = groups - 1 if clustered else rows - 1
        else:
            effect = fit["effect"]
            se = fit["se_cluster"] if clustered else fit["se_ols"]
            dof = groups - 1 if clustered else int(fit["dof_ols"])
        z = t_quantile(dof)
        estimate = Estimate(effect=effect, ci_low=effect - z * se, ci_high=effect + z * se, std_error=se)
        if not weighting:
            t_raw, y_raw = moments_of_design.at([T_RAW, Y_RAW])
            naive = float(moments_of_design.centred[t_raw, y_raw] / moments_of_design.centred[t_raw, t_raw])
        else:
            means = design.groupBy(T_COL).agg(F.avg(Y_COL).alias("m")).collect()
            by_t = {float(r[T_COL]): float(r["m"]) for r in means}
            naive = by_t.get(1.0, float("nan")) - by_t.get(0.0, float("nan"))
        step("diagnostics", 2)
        diagnostics = diagnostics_of(d, moments_of_design, spec, fit)
        sensitivity = sensitivity_of(d, moments_of_design, spec, fit, effect, se, dof) if spec.sensitivity else None
        specification = None if weighting else functional_form(d, effect)

        t_raw = moments_of_design.at([T_RAW])[0]
        moments = {
            "m": float(moments_of_design.means[t_raw]),
            "s": float((moments_of_design.centred[t_raw, t_raw] / max(moments_of_design.n - 1, 1)) ** 0.5),
        }
        refutations: list[Refutation] = []
        for i, refuter in enumerate(spec.refuters):
            step(f"refute:{refuter.value}", 3 + i)
            # far-apart seeds: Spark seeds each partition with seed + partition index, so
            # seeds 1 apart made the simulations' streams overlap (near-identical draws)
            seeds = [
                (spec.seed * 7919 + i * 104_729 + k * 1_000_003) % (2**31 - 1) for k in range(spec.refuter_simulations)
            ]
            if weighting:
                effects = [weighting_refit(d, spec, refuter, seed, moments, fit, should_stop) for seed in seeds]
            else:
                effects = linear_refits(d, refuter, seeds, float(moments["m"]), float(moments["s"]), fit["sd_outcome"])
            p = (
                float(test_significance(SimpleNamespace(value=effect), effects)["p_value"])
                if len(set(effects)) > 1
                else None
            )
            refutations.append(judge_refutation(refuter, estimate, effects, p))
    finally:
        design.unpersist()
    label, reasons = verdict(estimate, refutations, diagnostics, sensitivity, spec.estimator, specification)
    progress("done", 1.0)
    return AnalysisResult(
        treatment=spec.treatment,
        outcome=spec.outcome,
        estimator=spec.estimator,
        estimand=spec.estimand,
        adjustment_set=spec.adjustment_set(),
        design_columns=covariates,
        rows=rows,
        effect=effect,
        ci_low=estimate.ci_low,
        ci_high=estimate.ci_high,
        std_error=se,
        std_error_kind=cluster_label(spec, clustered),
        clusters=groups or None,
        naive_effect=naive,
        diagnostics=diagnostics,
        sensitivity=sensitivity,
        specification=specification,
        refutations=refutations,
        verdict=label,
        verdict_reasons=reasons,
        engine=Engine.SPARK,
        engine_reason=engine_reason,
        seconds=round(time.perf_counter() - started, 3),
    )


def weighting_refit(
    d: SparkDesign,
    spec: AnalysisSpec,
    refuter: Refuter,
    seed: int,
    moments: Any,
    fit: dict[str, float],
    stop: ShouldStop,
) -> float:
    """One refuter simulation for the weighting estimator (never absorbed): a refit on the altered design."""
    from pyspark.sql import functions as F

    if stop():
        raise AnalysisCancelled(refuter.value)
    data, treat, covs = d.frame, T_COL, d.fit_columns
    if refuter is Refuter.PLACEBO_TREATMENT:
        placebo = (
            (F.rand(seed) < F.lit(moments["m"])).cast("double")
            if d.binary
            else F.randn(seed) * F.lit(moments["s"]) + F.lit(moments["m"])
        )
        data, treat = data.withColumn("__placebo", placebo), "__placebo"
    elif refuter is Refuter.RANDOM_COMMON_CAUSE:
        data, covs = data.withColumn("__random_cause", F.randn(seed)), [*covs, "__random_cause"]
    elif refuter is Refuter.DUMMY_OUTCOME:
        data = data.withColumn(Y_COL, F.randn(seed) * F.lit(fit["sd_outcome"] or 1.0))
    else:
        data = data.sample(fraction=0.8, seed=seed)
    return weighting_fit(data, treat, covs, spec.estimand, False, with_se=False)[0]
