"""The pandas engine's refuters: each simulation is one refit through DoWhy's refutation
functions, and the linear regression refits solve the normal equations (why: below).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.adapters.causal import AnalysisCancelled, ShouldStop
from shared.adapters.causal.design import T_COL, Y_COL
from shared.domain.analysis import Refuter

if TYPE_CHECKING:
    import pandas as pd


def refit_estimator_class() -> type:
    """DoWhy's linear regression, refitted by the normal equations instead of statsmodels.

    Why: every refuter simulation refits the model (and its effect is the coefficient).
    statsmodels' default fit takes two SVDs of the design (1.8 s each at 100K rows x 85
    columns on this machine, measured); X'X and a Cholesky solve take a fraction of that and
    are what the Spark engine computes too. Same estimate on a full-rank design; a singular X'X
    (a category absent from a subset) falls back
    to least squares. The main estimate and its interval keep DoWhy's own statsmodels fit.
    """
    import copy

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
        def __deepcopy__(self, memo: dict[int, Any]) -> NormalEquationsLinearRegressionEstimator:
            # DoWhy's get_new_estimator_object deep-copies the estimator for every refit: with it
            # the main fit's statsmodels results (the whole design, twice) and the covariate frame,
            # which fit() rebuilds anyway. The refit starts without them; its estimand is replaced
            # by get_new_estimator_object, its encoders are its own (fit() resets them).
            new = copy.copy(self)
            new.model = None
            new._observed_common_causes = None
            new._encoders = copy.deepcopy(self._encoders, memo)
            return new

        def fit(self, data: pd.DataFrame, effect_modifier_names: list[str] | None = None) -> Any:
            # DoWhy's fit also keeps an encoded copy of the covariate columns, which only the
            # sensitivity analyser reads (on the main fit); a refit needs the coefficient only.
            self.reset_encoders()
            self._set_effect_modifiers(data, effect_modifier_names)
            self._observed_common_causes_names = self._target_estimand.get_adjustment_set()
            self._observed_common_causes = None
            self.symbolic_estimator = self.construct_symbolic_estimator(self._target_estimand)
            _, self.model = self._build_model(data)
            return self

        def _build_features(self, data_df: pd.DataFrame, treatment_values: Any = None) -> np.ndarray:
            # The design frame is all float columns (design.design_frame), so DoWhy's one-hot
            # encoding is the identity: [1, treatment, covariates] straight from the frame's values
            # (DoWhy's pandas selection and encoding were a third of a refit's time).
            names = [*self._target_estimand.treatment_variable, *self._observed_common_causes_names]
            where = data_df.columns.get_indexer(names)
            numeric = (where >= 0).all() and all(data_df.dtypes.iloc[i].kind in "fiub" for i in where)
            if self._effect_modifier_names or not numeric:
                return np.asarray(super()._build_features(data_df, treatment_values), dtype=float)
            # one copy, column by column into a Fortran array (X'X reads columns); at 100K rows x 85
            # columns three whole-frame copies (interleave, select, stack) were most of a refit
            features = np.empty((len(data_df), len(names) + 1), order="F")
            features[:, 0] = 1.0
            for j, name in enumerate(names, start=1):
                features[:, j] = data_df[name].to_numpy(dtype=float)
            if treatment_values is not None:
                features[:, 1] = np.asarray(treatment_values, dtype=float).reshape(-1)
            return features

        def _build_model(self, data: pd.DataFrame) -> tuple[Any, Any]:
            features = np.asarray(self._build_features(data), dtype=float)
            y = data[self._target_estimand.outcome_variable[0]].to_numpy(dtype=float)
            try:
                params = scipy.linalg.solve(features.T @ features, features.T @ y, assume_a="pos")
            except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
                params = np.linalg.lstsq(features, y, rcond=None)[0]
            return features, _NormalEquationsFit(params)

        def _do(self, value: Any, data: pd.DataFrame) -> float:
            # no effect modifiers: only do(T=1) - do(T=0) is used, and it is the coefficient
            # (predicting the whole frame twice per refit was most of a refuter's time)
            return float(self.model.params.iloc[1]) * float(value)

    return NormalEquationsLinearRegressionEstimator


def refute(
    refuter: Refuter,
    sims: int,
    seed: int,
    data: pd.DataFrame,
    identified: Any,
    est: Any,
    sd_outcome: float,
    should_stop: ShouldStop,
) -> list[float]:
    """``sims`` refits for one refuter, each through DoWhy's refutation functions.

    A ``RandomState`` object (not an int) is passed, so every simulation draws anew: with an int
    DoWhy's data-subset refuter drew the same subset every time.
    """
    import copy

    import numpy as np
    from dowhy.causal_refuters.data_subset_refuter import refute_data_subset
    from dowhy.causal_refuters.placebo_treatment_refuter import PlaceboType, refute_placebo_treatment
    from dowhy.causal_refuters.random_common_cause import refute_random_common_cause

    rs = np.random.RandomState(seed)
    effects: list[float] = []
    for _ in range(sims):
        if should_stop():
            raise AnalysisCancelled(refuter.value)
        if refuter is Refuter.PLACEBO_TREATMENT:
            ref = refute_placebo_treatment(
                data, identified, est, [T_COL], num_simulations=1, placebo_type=PlaceboType.PERMUTE, random_state=rs
            )
            effects.append(float(ref.new_effect))
        elif refuter is Refuter.DATA_SUBSET:
            ref = refute_data_subset(data, identified, est, subset_fraction=0.8, num_simulations=1, random_state=rs)
            effects.append(float(ref.new_effect))
        elif refuter is Refuter.RANDOM_COMMON_CAUSE:
            ref = refute_random_common_cause(data, identified, est, num_simulations=1, random_state=rs)
            effects.append(float(ref.new_effect))
        else:  # dummy outcome: noise with the outcome's spread, independent of everything
            new_data = data.assign(**{Y_COL: rs.normal(scale=sd_outcome or 1.0, size=len(data))})
            dummy = copy.deepcopy(identified)
            new_estimator = est.estimator.get_new_estimator_object(dummy)
            new_estimator.fit(new_data)
            new = new_estimator.estimate_effect(
                new_data,
                control_value=est.control_value,
                treatment_value=est.treatment_value,
                target_units=est.estimator._target_units,
            )
            effects.append(float(new.value))
    return effects
