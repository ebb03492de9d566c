"""Spark engine: the pandas engine's estimators as Spark jobs over the panel read straight from
PostgreSQL over JDBC. Nothing but aggregates (coefficients, sums, category levels) ever reaches
the driver; the data is never collected, into pandas or otherwise.

- Linear regression: Spark ML ``LinearRegression(solver="normal")``, i.e. the normal equations
  on an aggregated X'X / X'y (one tree-aggregate pass in the JVM) with OLS standard errors,
  the same model DoWhy fits with statsmodels; the interval uses the same t quantile.
- Propensity-score weighting: Spark ML ``LogisticRegression`` (unpenalised) for the
  propensities, then the Hajek estimate and its sandwich standard error as two aggregations
  (the same formulas as design.weighting_estimate).
- Refuters, each averaged over ``refuter_simulations`` refits on the cached design:
  placebo = an independent draw with the treatment's mean and variance (Bernoulli(p) for a
  binary treatment; DoWhy permutes instead, which Spark can only do with a global sort);
  random common cause = an added N(0, 1) covariate; data subset = a random 80% of rows.

pyspark is imported lazily; the session is created once per process (``getOrCreate``) and
reused, its master URL and the JDBC jar come from settings.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import TYPE_CHECKING, Any

from shared.adapters.causal import AnalysisCancelled, Progress, ShouldStop, never_stop, no_progress
from shared.adapters.causal.design import PS_MAX, PS_MIN, T_COL, Y_COL, dummy_name, t_quantile
from shared.domain.analysis import (
    CATEGORICAL_COLUMNS,
    AnalysisResult,
    AnalysisSpec,
    Engine,
    Estimate,
    Estimator,
    Refutation,
    Refuter,
    judge_refutation,
    verdict,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from shared.platform.settings import Settings

_FEATURES = "__features"


def spark_session(settings: Settings) -> SparkSession:
    """The process's Spark session (created on first use, then reused)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(settings.spark_master)
        .appName(settings.service_name + "-causal")
        .config("spark.jars", str(settings.spark_jdbc_jar))
        .config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


def jdbc_target(dsn: str) -> tuple[str, dict[str, str]]:
    """A libpq URL as a JDBC URL plus connection properties (credentials stay out of the URL)."""
    parts = urllib.parse.urlsplit(dsn)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 5432
    database = parts.path.lstrip("/") or "postgres"
    props = {"driver": "org.postgresql.Driver", "fetchsize": "10000"}
    if parts.username:
        props["user"] = urllib.parse.unquote(parts.username)
    if parts.password:
        props["password"] = urllib.parse.unquote(parts.password)
    return f"jdbc:postgresql://{host}:{port}/{database}", props


def read_panel(spark: SparkSession, settings: Settings, sql: str) -> DataFrame:
    """The panel query, read in parallel partitions (by a hash of the employee) over JDBC."""
    url, props = jdbc_target(settings.pg_dsn.get_secret_value())
    n = max(1, settings.spark_jdbc_partitions)
    predicates = [f"abs(hashtext(employee)) % {n} = {i}" for i in range(n)]
    return spark.read.jdbc(url, f"({sql}) AS panel", predicates=predicates, properties=props)


def _design(df: DataFrame, spec: AnalysisSpec) -> tuple[DataFrame, list[str]]:
    """Numeric design with the same rows, names and encoding as design.design_frame, cached.

    The panel is read over JDBC exactly once: the needed columns are cached first, the category
    levels come from that cache, then the design is cached and the raw copy dropped.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.types import NumericType

    adjust = spec.adjustment_set()
    raw = df.select(spec.treatment, spec.outcome, *adjust).dropna().persist(StorageLevel.MEMORY_AND_DISK)
    t = F.col(spec.treatment).cast("double")
    if spec.treatment_threshold is not None:
        t = (F.col(spec.treatment) > F.lit(float(spec.treatment_threshold))).cast("double")
    cols = [t.alias(T_COL), F.col(spec.outcome).cast("double").alias(Y_COL)]
    covariates: list[str] = []
    types = {f.name: f.dataType for f in raw.schema.fields}
    for c in adjust:
        if c in CATEGORICAL_COLUMNS or not isinstance(types[c], NumericType):
            levels = sorted(str(r[0]) for r in raw.select(F.col(c).cast("string")).distinct().collect())
            for level in levels[1:]:
                name = dummy_name(c, level)
                cols.append((F.col(c).cast("string") == F.lit(level)).cast("double").alias(name))
                covariates.append(name)
        else:
            cols.append(F.col(c).cast("double").alias(c))
            covariates.append(c)
    design = raw.select(*cols).persist(StorageLevel.MEMORY_AND_DISK)
    design.count()  # materialise from the cached raw columns before dropping them
    raw.unpersist()
    return design, covariates


def _first(df: DataFrame) -> Any:
    """The single row of an aggregation."""
    row = df.first()
    if row is None:
        raise ValueError("empty aggregation")
    return row


def _assemble(df: DataFrame, columns: list[str]) -> DataFrame:
    from pyspark.ml.feature import VectorAssembler

    return VectorAssembler(inputCols=[f"`{c}`" for c in columns], outputCol=_FEATURES).transform(df)


def _ols(df: DataFrame, treatment: str, covariates: list[str], with_se: bool = True) -> tuple[float, float | None, int]:
    """Coefficient of ``treatment`` (first feature), its OLS standard error, and rows used."""
    from pyspark.ml.regression import LinearRegression

    lr = LinearRegression(
        featuresCol=_FEATURES,
        labelCol=Y_COL,
        solver="normal",
        regParam=0.0,
        standardization=False,
        fitIntercept=True,
    )
    model = lr.fit(_assemble(df, [treatment, *covariates]))
    beta = float(model.coefficients[0])
    if not with_se:
        return beta, None, 0
    summary = model.summary
    return beta, float(summary.coefficientStandardErrors[0]), int(summary.numInstances)


def _propensity(df: DataFrame, treatment: str, covariates: list[str]) -> DataFrame:
    """df with ``__ps``: the clipped propensity of ``treatment`` given the covariates."""
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    if not covariates:
        p = _first(df.agg(F.avg(treatment)))[0]
        return df.withColumn("__ps", F.lit(float(p)))
    lr = LogisticRegression(
        featuresCol=_FEATURES, labelCol=treatment, regParam=0.0, maxIter=200, tol=1e-10, standardization=True
    )
    assembled = _assemble(df, covariates)
    scored = lr.fit(assembled).transform(assembled)
    ps = vector_to_array(F.col("probability"))[1]
    return scored.withColumn("__ps", F.least(F.lit(PS_MAX), F.greatest(F.lit(PS_MIN), ps))).drop(
        _FEATURES, "probability", "rawPrediction", "prediction"
    )


def _weighting(
    df: DataFrame, treatment: str, covariates: list[str], with_se: bool = True
) -> tuple[float, float | None, int]:
    """Hajek IPW estimate of the ATE and its sandwich SE (design.weighting_estimate, as sums)."""
    from pyspark.sql import functions as F

    scored = _propensity(df, treatment, covariates)
    t, y, ps = F.col(treatment), F.col(Y_COL), F.col("__ps")
    w = t / ps + (1 - t) / (1 - ps)
    sums = _first(
        scored.agg(
            F.sum(w * t).alias("s1"),
            F.sum(w * (1 - t)).alias("s0"),
            F.sum(w * t * y).alias("y1"),
            F.sum(w * (1 - t) * y).alias("y0"),
            F.count(F.lit(1)).alias("n"),
        )
    )
    mu1, mu0 = sums["y1"] / sums["s1"], sums["y0"] / sums["s0"]
    n = int(sums["n"])
    if not with_se:
        return float(mu1 - mu0), None, n
    infl = F.lit(n) * (
        w * t * (y - F.lit(mu1)) / F.lit(sums["s1"]) - w * (1 - t) * (y - F.lit(mu0)) / F.lit(sums["s0"])
    )
    ss = _first(scored.agg(F.sum(infl * infl)))[0]
    return float(mu1 - mu0), float(ss**0.5 / n), n


def run_spark(
    panel: DataFrame,
    spec: AnalysisSpec,
    *,
    progress: Progress = no_progress,
    should_stop: ShouldStop = never_stop,
    engine_reason: str = "",
) -> AnalysisResult:
    """Run the analysis on a Spark DataFrame holding the panel (e.g. from :func:`read_panel`)."""
    from pyspark.sql import functions as F

    started = time.perf_counter()
    steps = 2 + len(spec.refuters)

    def step(stage: str, done: int) -> None:
        if should_stop():
            raise AnalysisCancelled(stage)
        progress(stage, done / steps)

    step("model", 0)
    design, covariates = _design(panel, spec)
    try:
        fit = _ols if spec.estimator is Estimator.LINEAR_REGRESSION else _weighting
        step("estimate", 1)
        effect, se, rows = fit(design, T_COL, covariates)
        assert se is not None
        dof = rows - len(covariates) - 2 if spec.estimator is Estimator.LINEAR_REGRESSION else rows - 1
        z = t_quantile(dof)
        estimate = Estimate(effect=effect, ci_low=effect - z * se, ci_high=effect + z * se, std_error=se)
        if spec.estimator is Estimator.LINEAR_REGRESSION:
            naive, _, _ = _ols(design, T_COL, [], with_se=False)
        else:
            means = design.groupBy(T_COL).agg(F.avg(Y_COL).alias("m")).collect()
            by_t = {float(r[T_COL]): float(r["m"]) for r in means}
            naive = by_t.get(1.0, float("nan")) - by_t.get(0.0, float("nan"))

        moments = _first(design.agg(F.avg(T_COL).alias("m"), F.stddev_samp(T_COL).alias("s")))
        binary = spec.estimator is Estimator.PROPENSITY_SCORE_WEIGHTING
        refutations: list[Refutation] = []
        for i, refuter in enumerate(spec.refuters):
            step(f"refute:{refuter.value}", 2 + i)
            effects: list[float] = []
            for k in range(spec.refuter_simulations):
                if should_stop():
                    raise AnalysisCancelled(refuter.value)
                seed = spec.seed * 1000 + i * 100 + k
                if refuter is Refuter.PLACEBO_TREATMENT:
                    placebo = (
                        (F.rand(seed) < F.lit(moments["m"])).cast("double")
                        if binary
                        else F.randn(seed) * F.lit(moments["s"]) + F.lit(moments["m"])
                    )
                    data, treat, covs = design.withColumn("__placebo", placebo), "__placebo", covariates
                elif refuter is Refuter.RANDOM_COMMON_CAUSE:
                    data = design.withColumn("__random_cause", F.randn(seed))
                    treat, covs = T_COL, [*covariates, "__random_cause"]
                else:
                    data, treat, covs = design.sample(fraction=0.8, seed=seed), T_COL, covariates
                new_effect, _, _ = fit(data, treat, covs, with_se=False)
                effects.append(new_effect)
            mean_effect = sum(effects) / len(effects)
            refutations.append(judge_refutation(refuter, effect, mean_effect, spec.refuter_simulations))
    finally:
        design.unpersist()
    label, reasons = verdict(estimate, refutations)
    progress("done", 1.0)
    return AnalysisResult(
        treatment=spec.treatment,
        outcome=spec.outcome,
        estimator=spec.estimator,
        adjustment_set=spec.adjustment_set(),
        design_columns=covariates,
        rows=rows,
        effect=effect,
        ci_low=estimate.ci_low,
        ci_high=estimate.ci_high,
        std_error=se,
        naive_effect=naive,
        refutations=refutations,
        verdict=label,
        verdict_reasons=reasons,
        engine=Engine.SPARK,
        engine_reason=engine_reason,
        seconds=round(time.perf_counter() - started, 3),
    )
