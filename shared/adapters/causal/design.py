"""The design both engines share: which rows count, how categories become numbers, and the
closed-form pieces (t quantile, the weighting estimator's standard error).

Why one place: engine parity. Rows with any needed value missing are dropped; the treatment
is binarised as ``treatment > threshold`` when a threshold is given; a categorical covariate
(team, role, or any text column) becomes one 0/1 column per level except the first in sorted
order, named ``col=level``. The Spark engine builds the identical columns with ``when``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.domain.analysis import CATEGORICAL_COLUMNS, CONFIDENCE_LEVEL, AnalysisSpec, DataProfile

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

PS_MIN = 0.05  # propensity clipping, DoWhy's default for the weighting estimator
PS_MAX = 0.95
T_COL = "__treatment"
Y_COL = "__outcome"


def dummy_name(column: str, level: Any) -> str:
    return f"{column}={level}"


def is_categorical(frame: pd.DataFrame, column: str) -> bool:
    import pandas as pd

    return column in CATEGORICAL_COLUMNS or not pd.api.types.is_numeric_dtype(frame[column])


def profile(frame: pd.DataFrame, spec: AnalysisSpec) -> DataProfile:
    """What :func:`check_against_data` needs, computed on a pandas frame."""
    cols = list(frame.columns)
    needed = [c for c in spec.columns() if c in frame.columns]
    complete = frame[needed].dropna()
    distinct, binary = 0, False
    if spec.treatment in complete.columns and len(complete):
        t = complete[spec.treatment].astype(float)
        if spec.treatment_threshold is not None:
            t = (t > spec.treatment_threshold).astype(float)
        distinct = int(t.nunique())
        binary = bool(t.isin([0.0, 1.0]).all())
    return DataProfile(columns=cols, rows=len(complete), treatment_distinct=distinct, treatment_binary=binary)


def design_frame(frame: pd.DataFrame, spec: AnalysisSpec) -> tuple[pd.DataFrame, list[str]]:
    """Numeric frame with ``__treatment``, ``__outcome`` and encoded covariates; their names."""
    import pandas as pd

    adjust = spec.adjustment_set()
    data = frame[[spec.treatment, spec.outcome, *adjust]].dropna()
    out = pd.DataFrame(index=data.index)
    t = data[spec.treatment].astype(float)
    if spec.treatment_threshold is not None:
        t = (t > spec.treatment_threshold).astype(float)
    out[T_COL] = t
    out[Y_COL] = data[spec.outcome].astype(float)
    covariates: list[str] = []
    for col in adjust:
        if is_categorical(data, col):
            levels = sorted(data[col].astype(str).unique())
            values = data[col].astype(str)
            for level in levels[1:]:
                name = dummy_name(col, level)
                out[name] = (values == level).astype(float)
                covariates.append(name)
        else:
            out[col] = data[col].astype(float)
            covariates.append(col)
    return out.reset_index(drop=True), covariates


def t_quantile(dof: int) -> float:
    """Two-sided critical value at the configured confidence level (as statsmodels uses)."""
    from scipy import stats

    return float(stats.t.ppf(0.5 + CONFIDENCE_LEVEL / 2, max(dof, 1)))


def weighting_estimate(t: np.ndarray, y: np.ndarray, ps: np.ndarray) -> tuple[float, float]:
    """Hajek (self-normalised) inverse-propensity estimate of the ATE and its standard error.

    The SE is the sandwich (influence-function) one with the propensities treated as known,
    which is conservative for the ATE when the propensity model is right; the Spark engine
    computes the same sums.
    """
    import numpy as np

    ps = np.clip(ps, PS_MIN, PS_MAX)
    w = t / ps + (1 - t) / (1 - ps)
    s1, s0 = float(np.sum(w * t)), float(np.sum(w * (1 - t)))
    mu1 = float(np.sum(w * t * y)) / s1
    mu0 = float(np.sum(w * (1 - t) * y)) / s0
    n = len(t)
    infl = n * (w * t * (y - mu1) / s1 - w * (1 - t) * (y - mu0) / s0)
    se = float(np.sqrt(np.sum(infl**2)) / n)
    return mu1 - mu0, se
