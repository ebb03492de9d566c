"""Spark engine: the pandas engine's estimators as Spark jobs over the panel read straight from
PostgreSQL over JDBC. Nothing but aggregates (coefficients, sums, category levels) ever reaches
the driver; the data is never collected, into pandas or otherwise.

- Linear regression: Spark ML ``LinearRegression(solver="normal")``, i.e. the normal equations
  on an aggregated X'X / X'y (one tree-aggregate pass in the JVM) with OLS standard errors,
  the same model DoWhy fits with statsmodels; the interval uses the same t quantile.
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

pyspark is imported lazily; the session is created once per process (``getOrCreate``) and
reused, its master URL and the JDBC jar come from settings.
"""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.adapters.causal import AnalysisCancelled, Progress, ShouldStop, never_stop, no_progress
from shared.adapters.causal.design import (
    PS_MAX,
    PS_MIN,
    T_COL,
    Y_COL,
    cluster_label,
    cluster_variance_correction,
    dummy_name,
    sensitivity_from_stats,
    t_quantile,
)
from shared.adapters.postgres.panel import PANEL_SESSION_SETTING
from shared.domain.analysis import (
    CATEGORICAL_COLUMNS,
    CLUSTER_COLUMNS,
    PS_SUPPORT,
    AnalysisResult,
    AnalysisSpec,
    BalanceRow,
    Diagnostics,
    Engine,
    Estimand,
    Estimate,
    Estimator,
    Overlap,
    Refutation,
    Refuter,
    Sensitivity,
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
_CLUSTER = "__cluster"
_RAW = "__raw_"  # prefix of the un-demeaned copies of fitted columns (absorbed designs)
ABSORB_MIN_LEVELS = 10


def spark_session(settings: Settings) -> SparkSession:
    """The process's Spark session (created on first use, then reused)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(settings.causal.spark.master)
        .appName(settings.service_name + "-causal")
        .config("spark.jars", str(settings.causal.spark.jdbc_jar))
        .config("spark.driver.memory", settings.causal.spark.driver_memory)
        .config("spark.sql.shuffle.partitions", str(settings.causal.spark.shuffle_partitions))
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
    props = {"driver": "org.postgresql.Driver", "fetchsize": "10000", "sessionInitStatement": PANEL_SESSION_SETTING}
    if parts.username:
        props["user"] = urllib.parse.unquote(parts.username)
    if parts.password:
        props["password"] = urllib.parse.unquote(parts.password)
    return f"jdbc:postgresql://{host}:{port}/{database}", props


def read_panel(spark: SparkSession, settings: Settings, sql: str) -> DataFrame:
    """The panel query, read in parallel partitions (by a hash of the employee) over JDBC."""
    url, props = jdbc_target(settings.postgres.dsn.get_secret_value())
    n = max(1, settings.causal.spark.jdbc_partitions)
    predicates = [f"abs(hashtext(employee)) % {n} = {i}" for i in range(n)]
    return spark.read.jdbc(url, f"({sql}) AS panel", predicates=predicates, properties=props)


@dataclass(frozen=True)
class _Design:
    frame: DataFrame  # cached: T, Y (demeaned within __g if absorbed), fit columns, raw T/Y, cluster
    covariates: list[str]  # the design columns adjusted for, as the pandas engine names them
    fit_columns: list[str]  # the columns actually fitted (absorbed dummies left out)
    groups: int  # levels of the absorbed categorical (0: none absorbed)
    absorbed: str | None  # the absorbed adjustment column
    binary: bool  # the treatment is 0/1
    clustered: bool  # a __cluster column is present


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
    regression on a continuous treatment the categorical with the most levels (>=
    ABSORB_MIN_LEVELS, e.g. team) is absorbed: every column is demeaned within its levels instead
    of carrying one dummy per level (Frisch-Waugh-Lovell: the same coefficient, with far fewer
    columns in every pass); un-demeaned copies are kept for the sensitivity benchmarks.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.types import NumericType

    adjust = spec.adjustment_set()
    cluster_source = CLUSTER_COLUMNS.get(spec.cluster)
    clustered = cluster_source is not None and cluster_source in df.columns
    keep: list[str] = list(dict.fromkeys([spec.treatment, spec.outcome, *adjust]))
    if clustered and cluster_source is not None and cluster_source not in keep:
        keep.append(cluster_source)
    raw = df.select(*keep).dropna(subset=[spec.treatment, spec.outcome, *adjust]).persist(StorageLevel.MEMORY_AND_DISK)
    t = F.col(spec.treatment).cast("double")
    if spec.treatment_threshold is not None:
        t = (F.col(spec.treatment) > F.lit(float(spec.treatment_threshold))).cast("double")
    y = F.col(spec.outcome).cast("double")
    types = {f.name: f.dataType for f in raw.schema.fields}
    levels: dict[str, list[str]] = {}
    for c in adjust:
        if c in CATEGORICAL_COLUMNS or not isinstance(types[c], NumericType):
            levels[c] = sorted(str(r[0]) for r in raw.select(F.col(c).cast("string")).distinct().collect())
    binary = bool(_first(raw.agg(F.min((t.isin(0.0, 1.0)).cast("int"))))[0])
    absorbed = None
    if spec.estimator is Estimator.LINEAR_REGRESSION and levels and not binary:
        widest = max(levels, key=lambda c: len(levels[c]))
        if len(levels[widest]) >= ABSORB_MIN_LEVELS:
            absorbed = widest
    cols = [t.alias(T_COL), y.alias(Y_COL), t.alias(_T_RAW), y.alias(_Y_RAW)]
    if clustered:
        cols.append(F.col(str(cluster_source)).cast("string").alias(_CLUSTER))
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
        frame = frame.select("*", *[F.col(f"`{c}`").alias(_RAW + c) for c in fit_columns])
        frame = _demean(frame, [T_COL, Y_COL, *fit_columns])
    frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
    frame.count()  # materialise from the cached raw columns before dropping them
    raw.unpersist()
    groups = len(levels[absorbed]) if absorbed else 0
    return _Design(frame, covariates, fit_columns, groups, absorbed, binary, clustered)


def _first(df: DataFrame) -> Any:
    """The single row of an aggregation."""
    row = df.first()
    if row is None:
        raise ValueError("empty aggregation")
    return row


def _assemble(df: DataFrame, columns: list[str]) -> DataFrame:
    from pyspark.ml.feature import VectorAssembler

    return VectorAssembler(inputCols=[f"`{c}`" for c in columns], outputCol=_FEATURES).transform(df)


def _linear(df: DataFrame, label: str, features: list[str]) -> Any:
    """Spark ML's normal-equations least squares of ``label`` on ``features`` (with intercept)."""
    from pyspark.ml.regression import LinearRegression

    lr = LinearRegression(
        featuresCol=_FEATURES,
        labelCol=label,
        solver="normal",
        regParam=0.0,
        standardization=False,
        fitIntercept=True,
    )
    return lr.fit(_assemble(df, features))


def _rss(df: DataFrame, label: str, features: list[str]) -> float:
    """Residual sum of squares of ``label`` on ``features`` (one pass)."""
    from pyspark.sql import functions as F

    if not features:
        row = _first(df.agg(F.var_pop(label).alias("v"), F.count(F.lit(1)).alias("n")))
        return float(row["v"]) * int(row["n"])
    summary = _linear(df, label, features).summary
    return float(summary.meanSquaredError) * int(summary.numInstances)


def _coefficient(df: DataFrame, treatment: str, covariates: list[str]) -> float:
    """The treatment's OLS coefficient (refuter refits: no standard error needed)."""
    return float(_linear(df, Y_COL, [treatment, *covariates]).coefficients[0])


def _treatment_fit(d: _Design, spec: AnalysisSpec) -> dict[str, float]:
    """OLS coefficient with OLS and clustered SEs (design.ols_treatment_fit as Spark sums)."""
    from pyspark.sql import functions as F

    frame, fit_cols = d.frame, d.fit_columns
    model = _linear(frame, Y_COL, [T_COL, *fit_cols])
    beta, intercept = float(model.coefficients[0]), float(model.intercept)
    coefs = [float(c) for c in model.coefficients]
    e = (
        F.col(Y_COL)
        - F.lit(intercept)
        - sum((F.lit(c) * F.col(f"`{n}`") for c, n in zip(coefs, [T_COL, *fit_cols], strict=True)), F.lit(0.0))
    )
    if fit_cols:
        tm = _linear(frame, T_COL, fit_cols)
        t_hat = F.lit(float(tm.intercept)) + sum(
            (F.lit(float(c)) * F.col(f"`{n}`") for c, n in zip(tm.coefficients, fit_cols, strict=True)), F.lit(0.0)
        )
    else:
        t_hat = F.lit(float(_first(frame.agg(F.avg(T_COL)))[0]))
    r = F.col(T_COL) - t_hat
    resid = frame.select((r).alias("r"), e.alias("e"), *([F.col(_CLUSTER)] if d.clustered else []))
    sums = _first(
        resid.agg(
            F.sum(F.col("r") * F.col("r")).alias("rr"),
            F.sum(F.col("e") * F.col("e")).alias("ee"),
            F.count(F.lit(1)).alias("n"),
        )
    )
    raw = _first(frame.agg(F.var_pop(_T_RAW).alias("vt"), F.stddev_pop(_Y_RAW).alias("sy")))
    n, rr, ee = int(sums["n"]), float(sums["rr"]), float(sums["ee"])
    k = len(d.covariates) + 2
    out = {
        "effect": beta,
        "se_ols": (ee / max(n - k, 1) / rr) ** 0.5,
        "dof_ols": float(n - k),
        "rss_y": ee,
        "rss_t": rr,
        "n": float(n),
        "residual_treatment_share": rr / (float(raw["vt"]) * n),
        "sd_outcome": float(raw["sy"]),
    }
    if d.clustered:
        by = resid.groupBy(_CLUSTER).agg(F.sum(F.col("r") * F.col("e")).alias("s"))
        c = _first(by.agg(F.sum(F.col("s") * F.col("s")).alias("ss"), F.count(F.lit(1)).alias("g")))
        g = int(c["g"])
        out["se_cluster"] = (float(c["ss"]) * cluster_variance_correction(n, k, g)) ** 0.5 / rr
        out["clusters"] = float(g)
    return out


def _weights(estimand: Estimand) -> Any:
    """The estimand's inverse-propensity weights (design.estimand_weights) as a column."""
    from pyspark.sql import functions as F

    t, ps = F.col(T_COL), F.col("__ps")
    if estimand is Estimand.ATT:
        return t + (1 - t) * ps / (1 - ps)
    if estimand is Estimand.ATC:
        return t * (1 - ps) / ps + (1 - t)
    return t / ps + (1 - t) / (1 - ps)


def _propensity(df: DataFrame, treatment: str, covariates: list[str]) -> DataFrame:
    """df with ``__ps``: the propensity of ``treatment`` given the covariates (clipped against 0 and 1)."""
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
    df: DataFrame, treatment: str, covariates: list[str], estimand: Estimand, clustered: bool, with_se: bool = True
) -> tuple[float, float | None, int]:
    """Hajek IPW estimate for the estimand and its (clustered) sandwich SE (design.weighting_estimate)."""
    from pyspark.sql import functions as F

    scored = _propensity(df.withColumn(T_COL, F.col(treatment)) if treatment != T_COL else df, T_COL, covariates)
    t, y = F.col(T_COL), F.col(Y_COL)
    w = _weights(estimand)
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
    if clustered:
        by = scored.groupBy(_CLUSTER).agg(F.sum(infl).alias("s"))
        c = _first(by.agg(F.sum(F.col("s") * F.col("s")).alias("ss"), F.count(F.lit(1)).alias("g")))
        g = int(c["g"])
        return float(mu1 - mu0), float((c["ss"] * g / max(g - 1, 1)) ** 0.5 / n), n
    ss = _first(scored.agg(F.sum(infl * infl)))[0]
    return float(mu1 - mu0), float(ss**0.5 / n), n


def _diagnostics(d: _Design, spec: AnalysisSpec, fit: dict[str, float]) -> Diagnostics:
    """Overlap and balance as aggregations (design.balance_table / pandas_engine.diagnose)."""
    from pyspark.sql import functions as F

    frame = d.frame
    raw_name = {c: (_RAW + c if d.absorbed else c) for c in d.fit_columns}
    if not d.binary:
        corr = (
            _first(
                frame.agg(
                    *[
                        F.corr(F.col(f"`{raw_name[c]}`"), F.col(_T_RAW)).alias(f"c{i}")
                        for i, c in enumerate(d.fit_columns)
                    ]
                )
            )
            if d.fit_columns
            else None
        )
        balance = (
            [
                BalanceRow(column=c, smd_before=round(float(corr[f"c{i}"] or 0.0), 4), smd_after=None)
                for i, c in enumerate(d.fit_columns)
            ]
            if corr is not None
            else []
        )
        overlap = Overlap(kind="continuous", residual_treatment_share=round(fit["residual_treatment_share"], 4))
        before = max((abs(r.smd_before) for r in balance), default=0.0)
        return Diagnostics(overlap=overlap, balance=balance, max_abs_smd_before=before, max_abs_smd_after=None)
    scored = _propensity(frame, T_COL, d.fit_columns).withColumn("__w", _weights(spec.estimand))
    t, w, ps = F.col(T_COL), F.col("__w"), F.col("__ps")
    lo, hi = PS_SUPPORT
    aggs = [
        F.avg(((ps < lo) | (ps > hi)).cast("double")).alias("outside"),
        F.sum(t).alias("n1"),
        F.sum(1 - t).alias("n0"),
        F.sum(w * t).alias("w1"),
        F.sum(w * w * t).alias("ww1"),
        F.sum(w * (1 - t)).alias("w0"),
        F.sum(w * w * (1 - t)).alias("ww0"),
    ]
    for i, c in enumerate(d.fit_columns):
        x = F.col(f"`{c}`")
        aggs += [
            F.avg(F.when(t == 1, x)).alias(f"m1_{i}"),
            F.avg(F.when(t == 0, x)).alias(f"m0_{i}"),
            F.var_pop(F.when(t == 1, x)).alias(f"v1_{i}"),
            F.var_pop(F.when(t == 0, x)).alias(f"v0_{i}"),
            (F.sum(F.when(t == 1, w * x)) / F.sum(F.when(t == 1, w))).alias(f"a1_{i}"),
            (F.sum(F.when(t == 0, w * x)) / F.sum(F.when(t == 0, w))).alias(f"a0_{i}"),
        ]
    row = _first(scored.agg(*aggs))
    balance = []
    for i, c in enumerate(d.fit_columns):
        sd = ((float(row[f"v1_{i}"] or 0) + float(row[f"v0_{i}"] or 0)) / 2) ** 0.5
        before = (float(row[f"m1_{i}"]) - float(row[f"m0_{i}"])) / sd if sd > 0 else 0.0
        after = (float(row[f"a1_{i}"]) - float(row[f"a0_{i}"])) / sd if sd > 0 else 0.0
        balance.append(BalanceRow(column=c, smd_before=round(before, 4), smd_after=round(after, 4)))
    probs = [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0]
    names = ["min", "p05", "p25", "p50", "p75", "p95", "max"]
    quantiles = {}
    for arm, value in (("treated", 1.0), ("control", 0.0)):
        qs = scored.filter(t == value).approxQuantile("__ps", probs, 0.001)
        quantiles[arm] = {k: round(float(q), 4) for k, q in zip(names, qs, strict=False)}
    overlap = Overlap(
        kind="propensity",
        propensity_quantiles=quantiles,
        share_outside_support=round(float(row["outside"]), 4),
        effective_sample_size={
            "treated": round(float(row["w1"]) ** 2 / float(row["ww1"]), 1) if row["ww1"] else 0.0,
            "control": round(float(row["w0"]) ** 2 / float(row["ww0"]), 1) if row["ww0"] else 0.0,
        },
        arm_sizes={"treated": int(row["n1"]), "control": int(row["n0"])},
    )
    before_max = max((abs(r.smd_before) for r in balance), default=0.0)
    after_max = max((abs(r.smd_after or 0.0) for r in balance), default=None)
    return Diagnostics(overlap=overlap, balance=balance, max_abs_smd_before=before_max, max_abs_smd_after=after_max)


def _sensitivity(
    d: _Design, spec: AnalysisSpec, fit: dict[str, float], effect: float, se: float, dof: int
) -> Sensitivity:
    """Partial R2s of each observed confounder from nested regressions' residual sums, then DoWhy's
    analysers through design.sensitivity_from_stats (as the pandas engine)."""
    benchmarks: dict[str, tuple[float, float]] = {}
    frame, fit_cols = d.frame, d.fit_columns
    for column in spec.adjustment_set():
        if column == d.absorbed:  # without the absorbed category: the un-demeaned columns
            others = [_RAW + c for c in fit_cols]
            rss_y = _rss(frame, _Y_RAW, [_T_RAW, *others])
            rss_t = _rss(frame, _T_RAW, others)
        else:
            members = [c for c in fit_cols if c == column or c.startswith(column + "=")]
            if not members:
                continue
            others = [c for c in fit_cols if c not in members]
            rss_y = _rss(frame, Y_COL, [T_COL, *others])
            rss_t = _rss(frame, T_COL, others)
        benchmarks[column] = ((rss_t - fit["rss_t"]) / rss_t, (rss_y - fit["rss_y"]) / rss_y)
    return sensitivity_from_stats(
        fit["effect"], fit["se_ols"], int(fit["dof_ols"]), benchmarks, effect, se, dof, fit["sd_outcome"]
    )


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
    d = _design(panel, spec)
    design, covariates, fit_cols = d.frame, d.covariates, d.fit_columns
    weighting = spec.estimator is Estimator.PROPENSITY_SCORE_WEIGHTING
    try:
        step("estimate", 1)
        fit = _treatment_fit(d, spec)
        rows = int(fit["n"])
        clustered = "se_cluster" in fit
        groups = int(fit.get("clusters", 0))
        if weighting:
            effect, se_w, _ = _weighting(design, T_COL, fit_cols, spec.estimand, clustered)
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
            naive = float(_first(design.agg(F.covar_samp(_T_RAW, _Y_RAW) / F.var_samp(_T_RAW)))[0])
        else:
            means = design.groupBy(T_COL).agg(F.avg(Y_COL).alias("m")).collect()
            by_t = {float(r[T_COL]): float(r["m"]) for r in means}
            naive = by_t.get(1.0, float("nan")) - by_t.get(0.0, float("nan"))
        step("diagnostics", 2)
        diagnostics = _diagnostics(d, spec, fit)
        sensitivity = _sensitivity(d, spec, fit, effect, se, dof) if spec.sensitivity else None

        moments = _first(design.agg(F.avg(_T_RAW).alias("m"), F.stddev_samp(_T_RAW).alias("s")))
        refutations: list[Refutation] = []
        for i, refuter in enumerate(spec.refuters):
            step(f"refute:{refuter.value}", 3 + i)
            effects: list[float] = []
            for k in range(spec.refuter_simulations):
                if should_stop():
                    raise AnalysisCancelled(refuter.value)
                # far-apart seeds: Spark seeds each partition with seed + partition index, so
                # seeds 1 apart made the simulations' streams overlap (near-identical draws)
                seed = (spec.seed * 7919 + i * 104_729 + k * 1_000_003) % (2**31 - 1)
                treat, covs, data = T_COL, fit_cols, design
                if refuter is Refuter.PLACEBO_TREATMENT:
                    placebo = (
                        (F.rand(seed) < F.lit(moments["m"])).cast("double")
                        if d.binary
                        else F.randn(seed) * F.lit(moments["s"]) + F.lit(moments["m"])
                    )
                    data, treat = design.withColumn("__placebo", placebo), "__placebo"
                    if d.groups:
                        data = _demean(data, ["__placebo"])
                elif refuter is Refuter.RANDOM_COMMON_CAUSE:
                    data, covs = design.withColumn("__random_cause", F.randn(seed)), [*fit_cols, "__random_cause"]
                    if d.groups:
                        data = _demean(data, ["__random_cause"])
                elif refuter is Refuter.DUMMY_OUTCOME:
                    data = design.withColumn(Y_COL, F.randn(seed) * F.lit(fit["sd_outcome"] or 1.0))
                    if d.groups:
                        data = _demean(data, [Y_COL])
                else:
                    data = design.sample(fraction=0.8, seed=seed)
                    if d.groups:  # re-demean within the subset: its own level means
                        data = _demean(data, [T_COL, Y_COL, *fit_cols])
                if weighting:
                    new_effect, _, _ = _weighting(data, treat, covs, spec.estimand, False, with_se=False)
                else:
                    new_effect = _coefficient(data, treat, covs)
                effects.append(new_effect)
            p = (
                float(test_significance(SimpleNamespace(value=effect), effects)["p_value"])
                if len(set(effects)) > 1
                else None
            )
            refutations.append(judge_refutation(refuter, estimate, effects, p))
    finally:
        design.unpersist()
    label, reasons = verdict(estimate, refutations, diagnostics, sensitivity, spec.estimator)
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
        refutations=refutations,
        verdict=label,
        verdict_reasons=reasons,
        engine=Engine.SPARK,
        engine_reason=engine_reason,
        seconds=round(time.perf_counter() - started, 3),
    )
