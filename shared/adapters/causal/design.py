"""The design both engines share: which rows count, how categories become numbers, and the
closed-form pieces (t quantile, the weighting estimator's standard error).

Why one place: engine parity. Rows with any needed value missing are dropped; the treatment
is binarised as ``treatment > threshold`` when a threshold is given; a categorical covariate
(team, role, or any text column) becomes one 0/1 column per level except the first in sorted
order, named ``col=level``. The Spark engine builds the identical columns with ``when``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.domain.analysis import CATEGORICAL_COLUMNS, CLUSTER_COLUMNS, AnalysisSpec, Cluster, Estimand
from shared.domain.analysis import DataProfile as DataProfile
from shared.domain.causal_verdict import (
    CONFIDENCE_LEVEL,
    PS_SUPPORT,
    BalanceRow,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# Propensities are clipped only against division by zero: clipping at DoWhy's default
# [0.05, 0.95] biased the estimate (13.7% clipped at the generator's default confounding); poor
# overlap is reported by the diagnostics and caps the verdict instead.
PS_MIN = 1e-4
PS_MAX = 1 - 1e-4
T_COL = "__treatment"
Y_COL = "__outcome"
CLUSTER_COL = "__cluster"


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
    cluster_source = CLUSTER_COLUMNS.get(spec.cluster)
    if cluster_source is not None and cluster_source in frame.columns:
        out[CLUSTER_COL] = frame.loc[data.index, cluster_source].astype(str)
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


def cluster_codes(frame: pd.DataFrame) -> np.ndarray | None:
    """Integer cluster ids of the design's rows, or None when no cluster column is present."""
    import pandas as pd

    if CLUSTER_COL not in frame.columns:
        return None
    return pd.factorize(frame[CLUSTER_COL])[0]


def estimand_weights(t: np.ndarray, ps: np.ndarray, estimand: Estimand) -> np.ndarray:
    """Inverse-propensity weights that target the ATE, the ATT (treated weight 1) or the ATC."""
    if estimand is Estimand.ATT:
        return t + (1 - t) * ps / (1 - ps)
    if estimand is Estimand.ATC:
        return t * (1 - ps) / ps + (1 - t)
    return t / ps + (1 - t) / (1 - ps)


def cluster_variance_correction(n: int, k: int, groups: int) -> float:
    """Stata's and statsmodels' small-sample factor G/(G-1) * (N-1)/(N-K) for clustered sandwiches."""
    return groups / max(groups - 1, 1) * (n - 1) / max(n - k, 1)


def weighting_estimate(
    t: np.ndarray, y: np.ndarray, ps: np.ndarray, estimand: Estimand = Estimand.ATE, clusters: np.ndarray | None = None
) -> tuple[float, float]:
    """Hajek (self-normalised) inverse-propensity estimate for the estimand and its standard error.

    The SE is the sandwich (influence-function) one with the propensities treated as known; with
    ``clusters`` the influence is summed within each cluster first (a person's weeks are not
    independent). The Spark engine computes the same sums.
    """
    import numpy as np

    ps = np.clip(ps, PS_MIN, PS_MAX)
    w = estimand_weights(t, ps, estimand)
    s1, s0 = float(np.sum(w * t)), float(np.sum(w * (1 - t)))
    mu1 = float(np.sum(w * t * y)) / s1
    mu0 = float(np.sum(w * (1 - t) * y)) / s0
    n = len(t)
    infl = n * (w * t * (y - mu1) / s1 - w * (1 - t) * (y - mu0) / s0)
    if clusters is None:
        return mu1 - mu0, float(np.sqrt(np.sum(infl**2)) / n)
    sums = np.bincount(clusters, weights=infl)
    g = len(sums)
    return mu1 - mu0, float(np.sqrt(np.sum(sums**2) * g / max(g - 1, 1)) / n)


def _solve(a: np.ndarray, b: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Least-squares coefficients from the normal equations (a = Z'Z, b = Z'v); lstsq if singular."""
    import numpy as np
    import scipy.linalg

    try:
        return np.asarray(scipy.linalg.solve(a, b, assume_a="pos"))
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError, ValueError):
        return np.asarray(np.linalg.pinv(a) @ b)


def residualise(v: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``v`` minus its least-squares fit on the columns of ``z``."""
    return v - z @ _solve(z.T @ z, z.T @ v, z)


def ols_treatment_fit(
    t: np.ndarray, y: np.ndarray, covariates: np.ndarray, clusters: np.ndarray | None
) -> dict[str, float]:
    """OLS coefficient of the treatment with OLS and clustered standard errors, by Frisch-Waugh-Lovell.

    The treatment residualised on the covariates (with intercept) carries the whole sandwich for
    its coefficient: var = sum_g (sum_i in g r_i e_i)^2 / (sum r_i^2)^2, times the small-sample
    factor. Equal to statsmodels' ``cov_type="cluster"`` for that coefficient (tested); the Spark
    engine computes the same sums. Also returns the residual treatment share (overlap for a
    continuous treatment).
    """
    import numpy as np

    n = len(t)
    z = np.column_stack([np.ones(n), covariates]) if covariates.size else np.ones((n, 1))
    r, y_res = residualise(t, z), residualise(y, z)
    rr = float(r @ r)
    beta = float(r @ y_res) / rr
    e = y_res - beta * r
    k = z.shape[1] + 1
    sigma2 = float(e @ e) / max(n - k, 1)
    out = {
        "effect": beta,
        "se_ols": float(np.sqrt(sigma2 / rr)),
        "dof_ols": float(n - k),
        "residual_treatment_share": rr / float(((t - t.mean()) ** 2).sum()),
        "sd_outcome": float(np.std(y)),
    }
    if clusters is not None:
        sums = np.bincount(clusters, weights=r * e)
        g = len(sums)
        out["se_cluster"] = float(np.sqrt(np.sum(sums**2) * cluster_variance_correction(n, k, g)) / rr)
        out["clusters"] = float(g)
    return out


def smd(x: np.ndarray, t: np.ndarray, w: np.ndarray | None = None) -> float:
    """Standardised mean difference treated - control; the pooled SD is the unweighted one."""
    import numpy as np

    treated, control = t == 1, t == 0
    sd = float(np.sqrt((x[treated].var() + x[control].var()) / 2))
    if sd == 0:
        return 0.0
    if w is None:
        return float((x[treated].mean() - x[control].mean()) / sd)
    m1 = np.average(x[treated], weights=w[treated])
    m0 = np.average(x[control], weights=w[control])
    return float((m1 - m0) / sd)


def kish_ess(w: np.ndarray) -> float:
    """Kish's effective sample size of a weighted sample."""
    import numpy as np

    return float(np.sum(w) ** 2 / np.sum(w**2)) if len(w) else 0.0


def propensity_scores(t: np.ndarray, covariates: np.ndarray) -> np.ndarray:
    """P(T = 1 | covariates) by logistic regression (sklearn, practically unpenalised)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    if covariates.size == 0:
        return np.full(len(t), float(t.mean()))
    model = LogisticRegression(C=1e6, max_iter=2000)
    model.fit(covariates, t.astype(int))
    return np.asarray(model.predict_proba(covariates)[:, 1])


def propensity_quantiles(ps: np.ndarray, t: np.ndarray) -> dict[str, dict[str, float]]:
    import numpy as np

    qs = {"min": 0.0, "p05": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95, "max": 1.0}
    out: dict[str, dict[str, float]] = {}
    for arm, mask in (("treated", t == 1), ("control", t == 0)):
        values = ps[mask]
        out[arm] = {k: round(float(np.quantile(values, q)), 4) for k, q in qs.items()} if len(values) else {}
    return out


def share_outside_support(ps: np.ndarray) -> float:
    import numpy as np

    lo, hi = PS_SUPPORT
    return float(np.mean((ps < lo) | (ps > hi))) if len(ps) else 0.0


def balance_table(
    x: np.ndarray, names: list[str], t: np.ndarray, w: np.ndarray | None, binary: bool
) -> list[BalanceRow]:
    """SMD of every design column before and after weighting (binary), or its correlation with a
    continuous treatment (before only: regression adjustment leaves none by construction)."""
    import numpy as np

    rows = []
    for j, name in enumerate(names):
        col = x[:, j]
        if binary:
            rows.append(BalanceRow(column=name, smd_before=round(smd(col, t), 4), smd_after=round(smd(col, t, w), 4)))
        else:
            c = float(np.corrcoef(col, t)[0, 1]) if col.std() > 0 and t.std() > 0 else 0.0
            rows.append(BalanceRow(column=name, smd_before=round(c, 4), smd_after=None))
    return rows


def cluster_label(spec: AnalysisSpec, clustered: bool) -> str:
    return f"cluster:{spec.cluster.value}" if clustered and spec.cluster is not Cluster.NONE else "iid"
