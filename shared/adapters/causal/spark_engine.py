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
from dataclasses import dataclass
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
_GROUP = "__g"
_T_RAW = "__t_raw"
_Y_RAW = "__y_raw"
ABSORB_MIN_LEVELS = 10


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


@dataclass(frozen=True)
class _Design:
    frame: DataFrame  # cached: T, Y (demeaned within __g if absorbed), fit columns, raw T/Y
    covariates: list[str]  # the design columns adjusted for, as the pandas engine names them
    fit_columns: list[str]  # the columns actually fitted (absorbed dummies left out)
    groups: int  # levels of the absorbed categorical (0: none absorbed)


def _demean(df: DataFrame, columns: list[str]) -> DataFrame:
    """Subtract each column's mean within ``__g`` (one aggregation, broadcast back)."""
    from pyspark.sql import functions as F

    means = df.groupBy(_GROUP).agg(*[F.avg(F.col(f"`{c}`")).alias(f"__mean{i}") for i, c in enumerate(columns)])
    joined = df.join(F.broadcast(means), _GROUP)
    replaced = {c: (F.col(f"`{c}`") - F.col(f"__mean{i}")).alias(c) for i, c in enumerate(columns)}
    return joined.select(*[replaced.get(c, F.col(f"`{c}`")) for c in df.columns])


def _design(df: DataFrame, spec: AnalysisSpec) -> _Design:
    """Numeric design with the same rows, names and encoding as design.design_frame, cached.

    The panel is read over JDBC exactly once: the needed columns are cached first, the category
    levels come from that cache, then the design is cached and the raw copy dropped. For linear
    regression the categorical with the most levels (>= ABSORB_MIN_LEVELS, e.g. team) is
    absorbed: every column is demeaned within its levels instead of carrying one dummy per level
    (Frisch-Waugh-Lovell: the same coefficient, with far fewer columns in every pass).
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.types import NumericType

    adjust = spec.adjustment_set()
    raw = df.select(spec.treatment, spec.outcome, *adjust).dropna().persist(StorageLevel.MEMORY_AND_DISK)
    t = F.col(spec.treatment).cast("double")
    if spec.treatment_threshold is not None:
        t = (F.col(spec.treatment) > F.lit(float(spec.treatment_threshold))).cast("double")
    y = F.col(spec.outcome).cast("double")
    types = {f.name: f.dataType for f in raw.schema.fields}
    levels: dict[str, list[str]] = {}
    for c in adjust:
        if c in CATEGORICAL_COLUMNS or not isinstance(types[c], NumericType):
            levels[c] = sorted(str(r[0]) for r in raw.select(F.col(c).cast("string")).distinct().collect())
    absorbed = None
    if spec.estimator is Estimator.LINEAR_REGRESSION and levels:
        widest = max(levels, key=lambda c: len(levels[c]))
        if len(levels[widest]) >= ABSORB_MIN_LEVELS:
            absorbed = widest
    cols = [t.alias(T_COL), y.alias(Y_COL), t.alias(_T_RAW), y.alias(_Y_RAW)]
    covariates: list[str] = []
    fit_columns: list[str] = []
    for c in adjust:
        if c in levels:
            names = [dummy_name(c, level) for level in levels[c][1:]]
            covariates += names
            if c == absorbed:
                cols.append(F.col(c).cast("string").alias(_GROUP))
                continue
            for level, name in zip(levels[c][1:], names, strict=True):
                cols.append((F.col(c).cast("string") == F.lit(level)).cast("double").alias(name))
            fit_columns += names
        else:
            cols.append(F.col(c).cast("double").alias(c))
            covariates.append(c)
            fit_columns.append(c)
    frame = raw.select(*cols)
    if absorbed is not None:
        frame = _demean(frame, [T_COL, Y_COL, *fit_columns])
    frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
    frame.count()  # materialise from the cached raw columns before dropping them
    raw.unpersist()
    return _Design(frame, covariates, fit_columns, len(levels[absorbed]) if absorbed else 0)


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
    d = _design(panel, spec)
    design, covariates, fit_cols = d.frame, d.covariates, d.fit_columns
    try:
        fit = _ols if spec.estimator is Estimator.LINEAR_REGRESSION else _weighting
        step("estimate", 1)
        effect, se, rows = fit(design, T_COL, fit_cols)
        assert se is not None
        if d.groups:  # the absorbed levels cost degrees of freedom the fit did not see
            k = len(fit_cols) + 1
            se *= ((rows - k - 1) / (rows - k - d.groups)) ** 0.5
        dof = rows - len(covariates) - 2 if spec.estimator is Estimator.LINEAR_REGRESSION else rows - 1
        z = t_quantile(dof)
        estimate = Estimate(effect=effect, ci_low=effect - z * se, ci_high=effect + z * se, std_error=se)
        if spec.estimator is Estimator.LINEAR_REGRESSION:
            naive = float(_first(design.agg(F.covar_samp(_T_RAW, _Y_RAW) / F.var_samp(_T_RAW)))[0])
        else:
            means = design.groupBy(T_COL).agg(F.avg(Y_COL).alias("m")).collect()
            by_t = {float(r[T_COL]): float(r["m"]) for r in means}
            naive = by_t.get(1.0, float("nan")) - by_t.get(0.0, float("nan"))

        moments = _first(design.agg(F.avg(_T_RAW).alias("m"), F.stddev_samp(_T_RAW).alias("s")))
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
                    data, treat, covs = design.withColumn("__placebo", placebo), "__placebo", fit_cols
                    if d.groups:
                        data = _demean(data, ["__placebo"])
                elif refuter is Refuter.RANDOM_COMMON_CAUSE:
                    data = design.withColumn("__random_cause", F.randn(seed))
                    treat, covs = T_COL, [*fit_cols, "__random_cause"]
                    if d.groups:
                        data = _demean(data, ["__random_cause"])
                else:
                    data, treat, covs = design.sample(fraction=0.8, seed=seed), T_COL, fit_cols
                    if d.groups:  # re-demean within the subset: its own level means
                        data = _demean(data, [T_COL, Y_COL, *fit_cols])
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
