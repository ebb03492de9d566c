"""Sensitivity to unobserved confounding from sufficient statistics: DoWhy's analysers evaluated on
the numbers both engines can compute (the pandas engine from statsmodels, the Spark engine from
nested regressions' residual sums), so the two judge alike.
"""

from __future__ import annotations

from typing import Any

from shared.adapters.causal.design import t_quantile
from shared.domain.causal_verdict import CONFIDENCE_LEVEL, Sensitivity, hidden_confounder_explains_away


def sensitivity_from_stats(
    ols_effect: float,
    ols_se: float,
    ols_dof: int,
    benchmarks: dict[str, tuple[float, float]],
    effect: float,
    se: float,
    dof: int,
    sd_outcome: float,
) -> Sensitivity:
    """DoWhy's analysers evaluated on sufficient statistics, so both engines share them.

    ``ols_*`` describe the treatment coefficient of the outcome regression (what DoWhy's
    LinearSensitivityAnalyzer reads from statsmodels); ``benchmarks`` maps each observed
    confounder to its partial R2 with the treatment and with the outcome (Cinelli-Hazlett). The
    confounder that would bias the estimate most, at the same strength (k = 1), is the
    benchmark. The bias-adjusted interval is centred as DoWhy adjusts the estimate and keeps our
    (clustered) standard error, scaled as DoWhy scales the OLS one. The E-value converts the
    effect to a standardised difference (outcome SD) as DoWhy's E-value analyser does.
    """
    import numpy as np
    from dowhy.causal_refuters.evalue_sensitivity_analyzer import EValueSensitivityAnalyzer
    from dowhy.causal_refuters.linear_sensitivity_analyzer import LinearSensitivityAnalyzer

    analyzer = LinearSensitivityAnalyzer.__new__(LinearSensitivityAnalyzer)
    analyzer.percent_change_estimate = 1.0
    analyzer.significance_level = 1 - CONFIDENCE_LEVEL
    analyzer.confounder_increases_estimate = True
    analyzer.null_hypothesis_effect = 0.0
    analyzer.estimate = ols_effect
    analyzer.standard_error = ols_se
    analyzer.degree_of_freedom = max(ols_dof, 2)
    analyzer.t_stats = ols_effect / ols_se if ols_se > 0 else float("inf")
    rv = float(analyzer.robustness_value_func())
    rv_alpha = float(analyzer.robustness_value_func(alpha=1 - CONFIDENCE_LEVEL))
    r2yt = analyzer.t_stats**2 / (analyzer.t_stats**2 + analyzer.degree_of_freedom)
    best: dict[str, Any] | None = None
    for name, (r2tw, r2yw) in benchmarks.items():
        r2tw, r2yw = min(max(r2tw, 0.0), 0.99), min(max(r2yw, 0.0), 0.99)
        # DoWhy's benchmark bounds (check_sensitivity) for a confounder as strong as this one
        r2tu = r2tw / (1 - r2tw)
        r2uw = r2tw**2 / ((1 - r2tw) * (1 - r2tw))
        if r2tu >= 0.99 or r2uw >= 0.99:
            r2tu, r2yu = 0.99, 0.99
        else:
            r2yu = min(0.99, float(((1 + np.sqrt(r2uw)) / np.sqrt(1 - r2uw)) ** 2 * (r2yw / (1 - r2yw))))
        bias = float(np.sqrt(r2yu * r2tu / (1 - r2tu)))
        if best is None or bias > best["bias"]:
            best = {"name": name, "bias": bias, "r2tw": r2tw, "r2yw": r2yw, "r2tu": r2tu, "r2yu": r2yu}
    adjusted: dict[str, float] = {}
    if best is not None and ols_se > 0:
        res = analyzer.compute_bias_adjusted(np.array([best["r2tu"]]), np.array([best["r2yu"]]))
        shift = float(np.ravel(res["bias_adjusted_estimate"])[0]) - ols_effect
        adj_se = float(np.ravel(res["bias_adjusted_se"])[0]) * se / ols_se
        z = t_quantile(dof)
        adjusted = {
            "adjusted_effect": effect + shift,
            "adjusted_ci_low": effect + shift - z * adj_se,
            "adjusted_ci_high": effect + shift + z * adj_se,
        }
    e_value = e_ci = None
    if sd_outcome > 0:
        ev = EValueSensitivityAnalyzer.__new__(EValueSensitivityAnalyzer)._evalue_MD(
            effect / sd_outcome, se / sd_outcome
        )
        e_value = float(ev["evalue_estimate"])
        limits = [v for v in (ev["evalue_lower_ci"], ev["evalue_upper_ci"]) if v is not None]
        e_ci = float(limits[0]) if limits else None
    return Sensitivity(
        method="DoWhy LinearSensitivityAnalyzer (partial R2, Cinelli-Hazlett) and EValueSensitivityAnalyzer",
        robustness_value=round(rv, 4),
        robustness_value_alpha=round(rv_alpha, 4),
        partial_r2_treatment_outcome=round(float(r2yt), 4),
        benchmark=best["name"] if best else None,
        benchmark_r2_treatment=round(best["r2tw"], 4) if best else None,
        benchmark_r2_outcome=round(best["r2yw"], 4) if best else None,
        e_value=e_value,
        e_value_ci=e_ci,
        explained_away=bool(adjusted)
        and hidden_confounder_explains_away(effect, adjusted["adjusted_ci_low"], adjusted["adjusted_ci_high"]),
        **adjusted,
    )
