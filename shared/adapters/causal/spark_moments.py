"""Least squares from one aggregation of cross-products: the Spark engine's many small regressions
(sensitivity's nested fits, the refuters' refits) solved on the driver from X'X-type sums.

One pass sums, per absorbed level (or over all rows), the count, each column's sum and every
pairwise product; the driver centres them within the level (sum_g P_g - s_g s_g'/n_g), which is
exactly the cross-product matrix of the within-level demeaned columns. Any regression with an
intercept (or with the level absorbed) over those columns is then a numpy solve of a sub-block:
only k x k sums per level reach the driver, never the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from shared.adapters.causal.design import T_COL, Y_COL
from shared.adapters.causal.spark_design import GROUP, SparkDesign, first_row
from shared.domain.analysis import Refuter

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@dataclass(frozen=True)
class Moments:
    names: list[str]
    centred: np.ndarray  # within-level (or overall) centred cross-products of the columns
    means: np.ndarray  # overall column means
    n: int
    level_means: dict[str, np.ndarray]  # each absorbed level's column means (grouped only)

    def at(self, columns: Sequence[str]) -> list[int]:
        return [self.names.index(c) for c in columns]


def cross_moments(df: DataFrame, columns: list[str], grouped: bool = False, apart: int = 0) -> Moments:
    """The centred cross-product matrix of ``columns`` in one pass (within ``__g`` if grouped).

    The first ``apart`` columns are never multiplied with each other (independent simulations'
    noise columns: no regression uses two of them); those entries stay 0.
    """
    from pyspark.sql import functions as F

    k = len(columns)
    col = [F.col(f"`{c}`") for c in columns]
    pairs = [(i, j) for i in range(k) for j in range(i, k) if i == j or j >= apart]
    aggs = [F.count(F.lit(1)).alias("n")]
    aggs += [F.sum(col[i]).alias(f"s{i}") for i in range(k)]
    aggs += [F.sum(col[i] * col[j]).alias(f"p{i}_{j}") for i, j in pairs]
    rows = df.groupBy(GROUP).agg(*aggs).collect() if grouped else [first_row(df.agg(*aggs))]
    centred = np.zeros((k, k))
    total = np.zeros(k)
    n_all = 0
    level_means: dict[str, np.ndarray] = {}
    for row in rows:
        n = int(row["n"])
        if n == 0:
            continue
        s = np.array([float(row[f"s{i}"]) for i in range(k)])
        p = np.zeros((k, k))
        for i, j in pairs:
            p[i, j] = p[j, i] = float(row[f"p{i}_{j}"])
        outer = np.outer(s, s) / n
        outer[:apart, :apart] = np.diag(np.diag(outer)[:apart])
        centred += p - outer
        total += s
        n_all += n
        if grouped:
            level_means[str(row[GROUP])] = s / n
    return Moments(list(columns), centred, total / max(n_all, 1), n_all, level_means)


def ols(m: Moments, label: str, features: list[str]) -> tuple[np.ndarray, float, float]:
    """Coefficients, intercept and residual sum of squares of ``label`` on ``features`` (with intercept)."""
    y = m.names.index(label)
    if not features:
        return np.zeros(0), float(m.means[y]), float(m.centred[y, y])
    x = m.at(features)
    xx = m.centred[np.ix_(x, x)]
    xy = m.centred[x, y]
    try:
        beta = np.linalg.solve(xx, xy)
    except np.linalg.LinAlgError:  # collinear columns: the minimum-norm solution, as a pseudo-inverse
        beta = np.linalg.lstsq(xx, xy, rcond=None)[0]
    intercept = float(m.means[y] - m.means[x] @ beta)
    return beta, intercept, float(m.centred[y, y] - xy @ beta)


def coefficient(m: Moments, label: str, features: list[str]) -> float:
    """The first feature's OLS coefficient."""
    return float(ols(m, label, features)[0][0])


def linear_refits(
    d: SparkDesign, refuter: Refuter, seeds: list[int], t_mean: float, t_sd: float, y_sd: float
) -> list[float]:
    """The refuter's re-estimates for linear regression, from cross-moments instead of refits.

    Placebo, random common cause and dummy outcome add a noise column per simulation: all
    simulations' columns are summed in ONE pass (each noise column only against the design's
    columns), demeaned within the absorbed level by the grouped centring. A data subset is one
    pass per simulation over its sample (re-demeaned within the subset the same way).
    """
    from pyspark.sql import functions as F

    frame, fit, grouped = d.frame, d.fit_columns, bool(d.groups)
    if refuter is Refuter.DATA_SUBSET:
        out = []
        for seed in seeds:
            m = cross_moments(frame.sample(fraction=0.8, seed=seed), [T_COL, Y_COL, *fit], grouped)
            out.append(coefficient(m, Y_COL, [T_COL, *fit]))
        return out
    names = [f"__noise{k}" for k in range(len(seeds))]
    if refuter is Refuter.PLACEBO_TREATMENT:
        draws = [
            (F.rand(s) < F.lit(t_mean)).cast("double") if d.binary else F.randn(s) * F.lit(t_sd) + F.lit(t_mean)
            for s in seeds
        ]
    elif refuter is Refuter.DUMMY_OUTCOME:
        draws = [F.randn(s) * F.lit(y_sd or 1.0) for s in seeds]
    else:
        draws = [F.randn(s) for s in seeds]
    data = frame.select("*", *[z.alias(n) for z, n in zip(draws, names, strict=True)])
    m = cross_moments(data, [*names, T_COL, Y_COL, *fit], grouped, apart=len(names))
    if refuter is Refuter.PLACEBO_TREATMENT:
        return [coefficient(m, Y_COL, [n, *fit]) for n in names]
    if refuter is Refuter.DUMMY_OUTCOME:
        return [coefficient(m, n, [T_COL, *fit]) for n in names]
    return [coefficient(m, Y_COL, [T_COL, *fit, n]) for n in names]


def moment_fit(
    m: Moments, fit: tuple[np.ndarray, float, float], features: list[str], demeaned: Sequence[str] = ()
) -> Any:
    """A moments fit's prediction as a column; the ``demeaned`` features enter centred within
    their level (their level means from the same pass, as a literal map: no join)."""
    from pyspark.sql import functions as F

    beta, intercept, _ = fit
    terms = (F.lit(float(b)) * F.col(f"`{n}`") for b, n in zip(beta, features, strict=True))
    prediction = F.lit(intercept) + sum(terms, F.lit(0.0))
    if not demeaned or not m.level_means:
        return prediction
    at = [features.index(c) for c in demeaned]
    means = m.at(demeaned)
    offsets = {g: float(beta[at] @ v[means]) - float(beta[at] @ m.means[means]) for g, v in m.level_means.items()}
    table = F.create_map(*[F.lit(x) for g, o in offsets.items() for x in (g, o)])
    return prediction - table[F.col(GROUP)]
