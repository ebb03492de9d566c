"""The Spark engine's statistics as aggregations over the cached design: the treatment's
coefficient with OLS and clustered standard errors, the weighting estimator, the overlap and
balance diagnostics, the sensitivity statistics and the functional-form check. The formulas are
the pandas engine's (design.py, specification.py); nothing but sums reaches the driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.adapters.causal.design import (
    PS_MAX,
    PS_MIN,
    T_COL,
    Y_COL,
    cluster_variance_correction,
)
from shared.adapters.causal.sensitivity import sensitivity_from_stats
from shared.adapters.causal.spark_design import (
    CLUSTER,
    FEATURES,
    RAW,
    T_RAW,
    Y_RAW,
    SparkDesign,
    assemble,
    first_row,
)
from shared.adapters.causal.spark_moments import Moments, cross_moments, moment_fit, ols
from shared.adapters.causal.specification import MIN_DISTINCT, QUANTILES, bin_cuts, shift_test, term_names
from shared.domain.analysis import AnalysisSpec, Estimand
from shared.domain.causal_verdict import PS_SUPPORT, BalanceRow, Diagnostics, Overlap, Sensitivity, SpecificationCheck

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def functional_form(d: SparkDesign, effect: float) -> SpecificationCheck | None:
    """specification.functional_form_check as Spark sums: quintile indicators of each continuous
    column (exact quantiles; demeaned within the absorbed levels, so the fit equals the dummy
    regression), two more regressions, then the shift's clustered sandwich."""
    from pyspark.sql import functions as F

    frame = d.frame
    candidates = [c for c in d.fit_columns if "=" not in c]
    if not candidates:
        return None
    raw = {c: (RAW + c if d.absorbed else c) for c in candidates}
    stats = first_row(
        frame.agg(
            *[F.countDistinct(F.col(f"`{raw[c]}`")).alias(f"n{i}") for i, c in enumerate(candidates)],
            *[F.min(F.col(f"`{raw[c]}`")).alias(f"m{i}") for i, c in enumerate(candidates)],
        )
    )
    cont = [(i, c) for i, c in enumerate(candidates) if int(stats[f"n{i}"]) >= MIN_DISTINCT]
    if not cont:
        return None
    quantiles = frame.approxQuantile([raw[c] for _, c in cont], list(QUANTILES), 0.0)
    terms: list[str] = []
    steps = []
    for (i, c), qs in zip(cont, quantiles, strict=True):
        cuts = bin_cuts([float(q) for q in qs], float(stats[f"m{i}"]))
        names = term_names(c, cuts)
        terms += names
        steps += [
            (F.col(f"`{raw[c]}`") >= F.lit(cut)).cast("double").alias(n) for cut, n in zip(cuts, names, strict=True)
        ]
    # one pass of cross-moments; the grouped centring demeans the indicators within the levels
    flexible = frame.select("*", *steps)
    m = cross_moments(flexible, [T_COL, Y_COL, *d.fit_columns, *terms], grouped=bool(d.groups))
    linear_t = ols(m, T_COL, d.fit_columns)
    flexible_t = ols(m, T_COL, [*d.fit_columns, *terms])
    flexible_y = ols(m, Y_COL, [T_COL, *d.fit_columns, *terms])
    resid = flexible.select(
        (F.col(T_COL) - moment_fit(m, linear_t, d.fit_columns)).alias("r1"),
        (F.col(T_COL) - moment_fit(m, flexible_t, [*d.fit_columns, *terms], terms)).alias("r2"),
        (F.col(Y_COL) - moment_fit(m, flexible_y, [T_COL, *d.fit_columns, *terms], terms)).alias("e"),
        *([F.col(CLUSTER)] if d.clustered else []),
    )
    s = {"s1": linear_t[2], "s2": flexible_t[2]}
    de = (F.col("r2") / F.lit(s["s2"]) - F.col("r1") / F.lit(s["s1"])) * F.col("e")
    if d.clustered:
        by = resid.groupBy(CLUSTER).agg(F.sum(de).alias("s"))
        c = first_row(by.agg(F.sum(F.col("s") * F.col("s")).alias("ss"), F.count(F.lit(1)).alias("g")))
        g = int(c["g"])
        variance = float(c["ss"]) * g / max(g - 1, 1)
    else:
        variance = float(first_row(resid.agg(F.sum(de * de)))[0])
    return shift_test(float(flexible_y[0][0]) - effect, variance, effect, terms)


def design_moments(d: SparkDesign) -> Moments:
    """One pass of the design's cross-moments: the treatment fit and the sensitivity's nested fits."""
    raw = [RAW + c for c in d.fit_columns] if d.absorbed else []
    return cross_moments(d.frame, list(dict.fromkeys([T_COL, Y_COL, *d.fit_columns, T_RAW, Y_RAW, *raw])))


def treatment_fit(d: SparkDesign, m: Moments) -> dict[str, float]:
    """OLS coefficient with OLS and clustered SEs (design.ols_treatment_fit as Spark sums)."""
    from pyspark.sql import functions as F

    frame, fit_cols = d.frame, d.fit_columns
    model, treatment_model = ols(m, Y_COL, [T_COL, *fit_cols]), ols(m, T_COL, fit_cols)
    beta = float(model[0][0])
    r = F.col(T_COL) - moment_fit(m, treatment_model, fit_cols)
    e = F.col(Y_COL) - moment_fit(m, model, [T_COL, *fit_cols])
    resid = frame.select(r.alias("r"), e.alias("e"), *([F.col(CLUSTER)] if d.clustered else []))
    t_raw, y_raw = m.at([T_RAW, Y_RAW])
    raw = {"vt": m.centred[t_raw, t_raw] / m.n, "sy": (m.centred[y_raw, y_raw] / m.n) ** 0.5}
    n, rr, ee = m.n, treatment_model[2], model[2]
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
        by = resid.groupBy(CLUSTER).agg(F.sum(F.col("r") * F.col("e")).alias("s"))
        c = first_row(by.agg(F.sum(F.col("s") * F.col("s")).alias("ss"), F.count(F.lit(1)).alias("g")))
        g = int(c["g"])
        out["se_cluster"] = (float(c["ss"]) * cluster_variance_correction(n, k, g)) ** 0.5 / rr
        out["clusters"] = float(g)
    return out


def estimand_weight_column(estimand: Estimand) -> Any:
    """The estimand's inverse-propensity weights (design.estimand_weights) as a column."""
    from pyspark.sql import functions as F

    t, ps = F.col(T_COL), F.col("__ps")
    if estimand is Estimand.ATT:
        return t + (1 - t) * ps / (1 - ps)
    if estimand is Estimand.ATC:
        return t * (1 - ps) / ps + (1 - t)
    return t / ps + (1 - t) / (1 - ps)


def with_propensity(df: DataFrame, treatment: str, covariates: list[str]) -> DataFrame:
    """df with ``__ps``: the propensity of ``treatment`` given the covariates (clipped against 0 and 1)."""
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    if not covariates:
        p = first_row(df.agg(F.avg(treatment)))[0]
        return df.withColumn("__ps", F.lit(float(p)))
    lr = LogisticRegression(
        featuresCol=FEATURES, labelCol=treatment, regParam=0.0, maxIter=200, tol=1e-10, standardization=True
    )
    assembled = assemble(df, covariates)
    scored = lr.fit(assembled).transform(assembled)
    ps = vector_to_array(F.col("probability"))[1]
    return scored.withColumn("__ps", F.least(F.lit(PS_MAX), F.greatest(F.lit(PS_MIN), ps))).drop(
        FEATURES, "probability", "rawPrediction", "prediction"
    )


def weighting_fit(
    df: DataFrame, treatment: str, covariates: list[str], estimand: Estimand, clustered: bool, with_se: bool = True
) -> tuple[float, float | None, int]:
    """Hajek IPW estimate for the estimand and its (clustered) sandwich SE (design.weighting_estimate)."""
    from pyspark.sql import functions as F

    scored = with_propensity(df.withColumn(T_COL, F.col(treatment)) if treatment != T_COL else df, T_COL, covariates)
    t, y = F.col(T_COL), F.col(Y_COL)
    w = estimand_weight_column(estimand)
    sums = first_row(
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
        by = scored.groupBy(CLUSTER).agg(F.sum(infl).alias("s"))
        c = first_row(by.agg(F.sum(F.col("s") * F.col("s")).alias("ss"), F.count(F.lit(1)).alias("g")))
        g = int(c["g"])
        return float(mu1 - mu0), float((c["ss"] * g / max(g - 1, 1)) ** 0.5 / n), n
    ss = first_row(scored.agg(F.sum(infl * infl)))[0]
    return float(mu1 - mu0), float(ss**0.5 / n), n


def diagnostics_of(d: SparkDesign, m: Moments, spec: AnalysisSpec, fit: dict[str, float]) -> Diagnostics:
    """Overlap and balance as aggregations (design.balance_table / pandas_engine.diagnose)."""
    from pyspark.sql import functions as F

    frame = d.frame
    raw_name = {c: (RAW + c if d.absorbed else c) for c in d.fit_columns}
    if not d.binary:
        t_raw = m.at([T_RAW])[0]
        balance = []
        for c in d.fit_columns:
            j = m.at([raw_name[c]])[0]
            scale = float(m.centred[j, j] * m.centred[t_raw, t_raw]) ** 0.5
            corr = float(m.centred[j, t_raw]) / scale if scale > 0 else 0.0
            balance.append(BalanceRow(column=c, smd_before=round(corr, 4), smd_after=None))
        overlap = Overlap(kind="continuous", residual_treatment_share=round(fit["residual_treatment_share"], 4))
        before = max((abs(r.smd_before) for r in balance), default=0.0)
        return Diagnostics(overlap=overlap, balance=balance, max_abs_smd_before=before, max_abs_smd_after=None)
    scored = with_propensity(frame, T_COL, d.fit_columns).withColumn("__w", estimand_weight_column(spec.estimand))
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
    row = first_row(scored.agg(*aggs))
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


def sensitivity_of(
    d: SparkDesign, m: Moments, spec: AnalysisSpec, fit: dict[str, float], effect: float, se: float, dof: int
) -> Sensitivity:
    """Partial R2s of each observed confounder from nested regressions' residual sums, then DoWhy's
    analysers through design.sensitivity_from_stats (as the pandas engine); every nested fit is a
    solve on ONE pass's cross-moments."""
    benchmarks: dict[str, tuple[float, float]] = {}
    fit_cols = d.fit_columns
    raw = [RAW + c for c in fit_cols]
    for column in spec.adjustment_set():
        if column == d.absorbed:  # without the absorbed category: the un-demeaned columns
            rss_y = ols(m, Y_RAW, [T_RAW, *raw])[2]
            rss_t = ols(m, T_RAW, raw)[2]
        else:
            members = [c for c in fit_cols if c == column or c.startswith(column + "=")]
            if not members:
                continue
            others = [c for c in fit_cols if c not in members]
            rss_y = ols(m, Y_COL, [T_COL, *others])[2]
            rss_t = ols(m, T_COL, others)[2]
        benchmarks[column] = ((rss_t - fit["rss_t"]) / rss_t, (rss_y - fit["rss_y"]) / rss_y)
    return sensitivity_from_stats(
        fit["effect"], fit["se_ols"], int(fit["dof_ols"]), benchmarks, effect, se, dof, fit["sd_outcome"]
    )
