"""In-process engine: DoWhy's four steps (model, identify, estimate, refute) on a pandas frame.

Used below the Spark threshold and by the analysts' CLI. dowhy is imported here only, lazily.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import TYPE_CHECKING, Any

from shared.adapters.causal import AnalysisCancelled, Progress, ShouldStop, never_stop, no_progress
from shared.adapters.causal.design import T_COL, Y_COL, design_frame, t_quantile, weighting_estimate
from shared.domain.analysis import (
    CONFIDENCE_LEVEL,
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
    import pandas as pd

_DOWHY_REFUTERS: dict[Refuter, tuple[str, dict[str, Any]]] = {
    Refuter.PLACEBO_TREATMENT: ("placebo_treatment_refuter", {"placebo_type": "permute"}),
    Refuter.RANDOM_COMMON_CAUSE: ("random_common_cause", {}),
    Refuter.DATA_SUBSET: ("data_subset_refuter", {"subset_fraction": 0.8}),
}


def _method_params(estimator: Estimator) -> dict[str, Any]:
    if estimator is Estimator.PROPENSITY_SCORE_WEIGHTING:
        from sklearn.linear_model import LogisticRegression

        # Unpenalised (C huge), like the Spark engine's LogisticRegression(regParam=0).
        return {
            "propensity_score_model": LogisticRegression(C=1e10, max_iter=2000),
            "weighting_scheme": "ips_weight",
        }
    return {}


def _refit_estimator_class() -> type:
    """DoWhy's linear regression, refitted by the normal equations instead of statsmodels.

    Why: every refuter simulation refits the model. statsmodels' default fit takes two SVDs of
    the design (1.8 s each at 100K rows x 85 columns on this machine, measured); X'X and a
    Cholesky solve take a fraction of that and are what the Spark engine computes too. Same
    estimate on a full-rank design; a singular X'X (a category absent from a subset) falls back
    to least squares. The main estimate and its interval keep DoWhy's own statsmodels fit.
    """
    import numpy as np
    import pandas as pd
    import scipy.linalg
    from dowhy.causal_estimators.linear_regression_estimator import LinearRegressionEstimator

    class _NormalEquationsFit:
        def __init__(self, params: np.ndarray) -> None:
            self.params = pd.Series(params)

        def predict(self, features: Any) -> np.ndarray:
            return np.asarray(features, dtype=float) @ self.params.to_numpy()

        def summary(self) -> str:
            return "least squares by the normal equations"

    class NormalEquationsLinearRegressionEstimator(LinearRegressionEstimator):
        def _build_model(self, data: pd.DataFrame) -> tuple[Any, Any]:
            features = np.asarray(self._build_features(data), dtype=float)
            y = data[self._target_estimand.outcome_variable[0]].to_numpy(dtype=float)
            try:
                params = scipy.linalg.solve(features.T @ features, features.T @ y, assume_a="pos")
            except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
                params = np.linalg.lstsq(features, y, rcond=None)[0]
            return features, _NormalEquationsFit(params)

    return NormalEquationsLinearRegressionEstimator


def _naive(data: pd.DataFrame, estimator: Estimator) -> float:
    """The same question with no adjustment: slope of Y on T, or the difference in means."""
    import numpy as np

    t = data[T_COL].to_numpy()
    y = data[Y_COL].to_numpy()
    if estimator is Estimator.PROPENSITY_SCORE_WEIGHTING:
        return float(y[t == 1].mean() - y[t == 0].mean())
    tc = t - t.mean()
    return float(np.dot(tc, y - y.mean()) / np.dot(tc, tc))


def run_pandas(
    frame: pd.DataFrame,
    spec: AnalysisSpec,
    *,
    progress: Progress = no_progress,
    should_stop: ShouldStop = never_stop,
    engine_reason: str = "",
) -> AnalysisResult:
    """Run the analysis; the frame holds (at least) the spec's columns, one row per person-period."""
    started = time.perf_counter()
    import numpy as np
    from dowhy import CausalModel
    from threadpoolctl import threadpool_limits

    logging.getLogger("dowhy").setLevel(logging.WARNING)
    data, covariates = design_frame(frame, spec)
    steps = 2 + len(spec.refuters)

    def step(stage: str, done: int) -> None:
        if should_stop():
            raise AnalysisCancelled(stage)
        progress(stage, done / steps)

    step("model", 0)
    # One BLAS thread: statsmodels' SVD on these tall, narrow matrices gets no faster with more
    # threads, and oversubscribed cores (a worker runs other activities) made it 4x slower.
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        model = CausalModel(data=data, treatment=T_COL, outcome=Y_COL, common_causes=covariates or None)
        # maximal-adjustment: adjust for exactly the given set (DoWhy's default search is
        # exponential in the number of covariates and adjusts for the same set here).
        identified = model.identify_effect(method_name="maximal-adjustment", proceed_when_unidentifiable=True)
        step("estimate", 1)
        est = model.estimate_effect(
            identified,
            method_name=spec.estimator.value,
            confidence_intervals=spec.estimator is Estimator.LINEAR_REGRESSION,
            method_params=_method_params(spec.estimator),
        )
        effect = float(est.value)
        if spec.estimator is Estimator.LINEAR_REGRESSION:
            low, high = (float(v) for v in np.ravel(est.get_confidence_intervals(confidence_level=CONFIDENCE_LEVEL)))
            se = float(np.ravel(est.get_standard_error())[0])
        else:
            _, se = weighting_estimate(
                data[T_COL].to_numpy(), data[Y_COL].to_numpy(), np.asarray(est.propensity_scores, dtype=float)
            )
            z = t_quantile(len(data) - 1)
            low, high = effect - z * se, effect + z * se
        estimate = Estimate(effect=effect, ci_low=low, ci_high=high, std_error=se)
        # DoWhy's weighting estimator writes propensity and weight columns into the model's data
        # in place; a refuter would then reuse the *real* treatment's propensities (a placebo
        # would look like an effect). Drop them so each refutation refits from scratch.
        extra = [c for c in model._data.columns if c not in {T_COL, Y_COL, *covariates}]
        model._data.drop(columns=extra, inplace=True)

        if spec.estimator is Estimator.LINEAR_REGRESSION and spec.refuters:
            # refits (the refuters' simulations) by the normal equations, without intervals
            est.estimator.__class__ = _refit_estimator_class()
            est.estimator._confidence_intervals = False
        refutations: list[Refutation] = []
        for i, refuter in enumerate(spec.refuters):
            step(f"refute:{refuter.value}", 2 + i)
            method, kwargs = _DOWHY_REFUTERS[refuter]
            ref = model.refute_estimate(
                identified,
                est,
                method_name=method,
                num_simulations=spec.refuter_simulations,
                random_state=spec.seed + i,
                **kwargs,
            )
            refutations.append(judge_refutation(refuter, effect, float(ref.new_effect), spec.refuter_simulations))
    label, reasons = verdict(estimate, refutations)
    progress("done", 1.0)
    return AnalysisResult(
        treatment=spec.treatment,
        outcome=spec.outcome,
        estimator=spec.estimator,
        adjustment_set=spec.adjustment_set(),
        design_columns=covariates,
        rows=len(data),
        effect=effect,
        ci_low=low,
        ci_high=high,
        std_error=se,
        naive_effect=_naive(data, spec.estimator),
        refutations=refutations,
        verdict=label,
        verdict_reasons=reasons,
        engine=Engine.PANDAS,
        engine_reason=engine_reason,
        seconds=round(time.perf_counter() - started, 3),
    )
