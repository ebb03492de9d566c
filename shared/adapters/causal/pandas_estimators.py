"""The pandas engine's estimators: every estimate is DoWhy's (``CausalModel.estimate_effect`` with
the spec's method name and ``target_units``); what differs is the interval.

- linear regression: the clustered sandwich by Frisch-Waugh-Lovell (design.ols_treatment_fit);
- propensity-score weighting: the Hajek estimator's clustered sandwich (design.weighting_estimate),
  or, with ``interval: "bootstrap"``, the bootstrap below;
- doubly robust, propensity-score matching and stratification: DoWhy gives no interval we can
  trust on person-week panels (its bootstrap resamples rows), so the bootstrap below.

The bootstrap resamples **people** (the cluster unit; rows only with ``cluster: none``) with
replacement, ``bootstrap_draws`` times from ``seed``, and refits the whole estimator each draw
(DoWhy's ``get_new_estimator_object`` + ``fit``: the propensity model is refitted too, so its
uncertainty is in the interval). The interval is the percentile one; the standard error the SD
of the draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.adapters.causal import AnalysisCancelled, ShouldStop
from shared.adapters.causal.design import PS_MAX, PS_MIN, T_COL, Y_COL, t_quantile, weighting_estimate
from shared.domain.analysis import BINARY_ESTIMATORS, AnalysisSpec, Estimator
from shared.domain.causal_verdict import CONFIDENCE_LEVEL, Estimate

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class Fitted:
    """One estimator's DoWhy estimate with its interval."""

    dowhy: Any  # DoWhy's CausalEstimate (refuters refit its estimator)
    estimate: Estimate
    dof: int
    kind: str  # "cluster:person", "iid", "bootstrap:person", "bootstrap:rows"


def method_params(estimator: Estimator) -> dict[str, Any]:
    """DoWhy's method_params: an unpenalised logistic propensity model (as the Spark engine's
    LogisticRegression(regParam=0)), clipped only against division by zero (design.PS_MIN)."""
    if estimator is Estimator.LINEAR_REGRESSION:
        return {}
    from sklearn.linear_model import LogisticRegression

    params: dict[str, Any] = {"propensity_score_model": LogisticRegression(C=1e10, max_iter=2000)}
    if estimator is Estimator.PROPENSITY_SCORE_WEIGHTING:
        params |= {"weighting_scheme": "ips_weight", "min_ps_score": PS_MIN, "max_ps_score": PS_MAX}
    elif estimator is Estimator.DOUBLY_ROBUST:
        params |= {"min_ps_score": PS_MIN, "max_ps_score": PS_MAX}
    return params


def naive(data: pd.DataFrame, estimator: Estimator) -> float:
    """The same question with no adjustment: slope of Y on T, or the difference in means."""
    import numpy as np

    t = data[T_COL].to_numpy()
    y = data[Y_COL].to_numpy()
    if estimator in BINARY_ESTIMATORS:
        return float(y[t == 1].mean() - y[t == 0].mean())
    tc = t - t.mean()
    return float(np.dot(tc, y - y.mean()) / np.dot(tc, tc))


def person_bootstrap(
    data: pd.DataFrame,
    clusters: np.ndarray | None,
    refit: Any,
    draws: int,
    seed: int,
    should_stop: ShouldStop,
) -> np.ndarray:
    """``draws`` effects, each ``refit(sample)`` on people drawn with replacement (rows if no clusters)."""
    import numpy as np

    codes = np.arange(len(data)) if clusters is None else clusters
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes))])
    members = [order[bounds[g] : bounds[g + 1]] for g in range(len(bounds) - 1)]
    rng = np.random.default_rng([seed, 2])
    effects = np.empty(draws)
    for k in range(draws):
        if should_stop():
            raise AnalysisCancelled("bootstrap")
        picked = rng.integers(0, len(members), size=len(members))
        rows = np.concatenate([members[g] for g in picked])
        effects[k] = refit(data.iloc[rows].reset_index(drop=True))
    return effects


def estimate(
    model: Any,
    identified: Any,
    estimator: Estimator,
    spec: AnalysisSpec,
    fit: dict[str, float],
    clusters: np.ndarray | None,
    should_stop: ShouldStop,
) -> Fitted:
    """DoWhy's estimate for ``estimator`` with the interval the module docstring gives."""
    import numpy as np

    data = model._data
    before = set(data.columns)
    est = model.estimate_effect(
        identified,
        method_name=estimator.value,
        target_units=spec.estimand.value,
        method_params=method_params(estimator),
    )
    # DoWhy's propensity estimators write propensity/weight columns into the model's data in place; a
    # later fit (a refuter, another estimator, a bootstrap draw) would reuse the *real* treatment's
    # propensities. Drop them so every fit starts from scratch.
    ps = np.asarray(est.propensity_scores, dtype=float) if estimator is Estimator.PROPENSITY_SCORE_WEIGHTING else None
    data.drop(columns=[c for c in data.columns if c not in before], inplace=True)
    effect = float(est.value)
    clustered = clusters is not None and "se_cluster" in fit
    groups = int(fit.get("clusters", 0)) if clustered else 0
    kind = f"cluster:{spec.cluster.value}" if clustered else "iid"
    if spec.bootstrapped(estimator):

        def refit(sample: pd.DataFrame) -> float:
            new = est.estimator.get_new_estimator_object(identified)
            new.fit(sample)
            value = new.estimate_effect(
                sample, control_value=0, treatment_value=1, target_units=spec.estimand.value
            ).value
            return float(value)

        draws = person_bootstrap(
            data, clusters if clustered else None, refit, spec.bootstrap_draws, spec.seed, should_stop
        )
        tail = (1 - CONFIDENCE_LEVEL) / 2 * 100
        low, high = (float(v) for v in np.percentile(draws, [tail, 100 - tail]))
        se = float(np.std(draws, ddof=1))
        kind = f"bootstrap:{spec.cluster.value}" if clustered else "bootstrap:rows"
        return Fitted(est, Estimate(effect=effect, ci_low=low, ci_high=high, std_error=se), len(draws) - 1, kind)
    if estimator is Estimator.LINEAR_REGRESSION:
        se = fit["se_cluster"] if clustered else fit["se_ols"]
        dof = groups - 1 if clustered else int(fit["dof_ols"])
    else:
        assert ps is not None  # the weighting estimator (the only other analytic one)
        t, y = data[T_COL].to_numpy(dtype=float), data[Y_COL].to_numpy(dtype=float)
        _, se = weighting_estimate(t, y, ps, spec.estimand, clusters if clustered else None)
        dof = groups - 1 if clustered else len(data) - 1
    z = t_quantile(dof)
    return Fitted(
        est, Estimate(effect=effect, ci_low=effect - z * se, ci_high=effect + z * se, std_error=se), dof, kind
    )
