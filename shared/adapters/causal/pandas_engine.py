"""In-process engine: DoWhy's four steps (model, identify, estimate, refute) on a pandas frame.

Used below the Spark threshold and by the analysts' CLI. dowhy is imported here only, lazily.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import TYPE_CHECKING, Any

from shared.adapters.causal import AnalysisCancelled, Progress, ShouldStop, never_stop, no_progress
from shared.adapters.causal.design import (
    CLUSTER_COL,
    PS_MAX,
    PS_MIN,
    T_COL,
    Y_COL,
    balance_table,
    cluster_codes,
    design_frame,
    estimand_weights,
    kish_ess,
    ols_treatment_fit,
    propensity_quantiles,
    propensity_scores,
    share_outside_support,
)
from shared.adapters.causal.identification import identify
from shared.adapters.causal.pandas_estimators import estimate, naive
from shared.adapters.causal.pandas_refuters import refit_estimator_class, refute
from shared.adapters.causal.sensitivity import sensitivity_from_stats
from shared.adapters.causal.specification import functional_form_check
from shared.domain.analysis import AnalysisSpec, Engine, Estimator
from shared.domain.causal_verdict import (
    AnalysisResult,
    Diagnostics,
    EstimatorEstimate,
    Overlap,
    Refutation,
    Sensitivity,
    compare_estimates,
    judge_refutation,
    verdict,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def _is_binary(t: np.ndarray) -> bool:
    import numpy as np

    return bool(np.isin(t, (0.0, 1.0)).all())


def diagnose(
    data: pd.DataFrame, covariates: list[str], spec: AnalysisSpec, fit: dict[str, float], trimmed: int
) -> Diagnostics:
    """Overlap and balance before any estimate is trusted (docs/causal.md, "Diagnostics")."""
    import numpy as np

    t = data[T_COL].to_numpy(dtype=float)
    x = data[covariates].to_numpy(dtype=float) if covariates else np.empty((len(data), 0))
    binary = _is_binary(t)
    if binary:
        ps = np.clip(propensity_scores(t, x), PS_MIN, PS_MAX)
        w = estimand_weights(t, ps, spec.estimand)
        overlap = Overlap(
            kind="propensity",
            propensity_quantiles=propensity_quantiles(ps, t),
            share_outside_support=round(share_outside_support(ps), 4),
            effective_sample_size={
                "treated": round(kish_ess(w[t == 1]), 1),
                "control": round(kish_ess(w[t == 0]), 1),
            },
            arm_sizes={"treated": int((t == 1).sum()), "control": int((t == 0).sum())},
            trimmed_rows=trimmed,
            trim_rule=(
                f"drop units with propensity outside [{spec.trim_propensity}, {1 - spec.trim_propensity}]"
                if spec.trim_propensity
                else None
            ),
        )
        balance = balance_table(x, covariates, t, w, binary=True)
    else:
        overlap = Overlap(kind="continuous", residual_treatment_share=round(fit["residual_treatment_share"], 4))
        balance = balance_table(x, covariates, t, None, binary=False)
    before = max((abs(r.smd_before) for r in balance), default=0.0)
    after = max((abs(r.smd_after) for r in balance if r.smd_after is not None), default=None)
    return Diagnostics(overlap=overlap, balance=balance, max_abs_smd_before=before, max_abs_smd_after=after)


def _trim(data: pd.DataFrame, covariates: list[str], spec: AnalysisSpec) -> tuple[pd.DataFrame, int]:
    """Optional trimming to common support: drop units whose propensity is outside [a, 1 - a]."""
    import numpy as np

    t = data[T_COL].to_numpy(dtype=float)
    if spec.trim_propensity is None or not _is_binary(t):
        return data, 0
    x = data[covariates].to_numpy(dtype=float) if covariates else np.empty((len(data), 0))
    ps = propensity_scores(t, x)
    a = spec.trim_propensity
    keep = (ps >= a) & (ps <= 1 - a)
    return data.loc[keep].reset_index(drop=True), int((~keep).sum())


def _sensitivity(
    lr_est: Any,
    data: pd.DataFrame,
    covariates: list[str],
    groups: dict[str, list[str]],
    effect: float,
    se: float,
    dof: int,
    sd_outcome: float,
) -> Sensitivity:
    """DoWhy's LinearSensitivityAnalyzer on the outcome regression (statsmodels' fit inside DoWhy's
    estimator): partial R2s of the treatment and of each observed confounder (a categorical's
    dummies as one group), then design.sensitivity_from_stats (shared with the Spark engine)."""
    import numpy as np
    from dowhy.causal_refuters.linear_sensitivity_analyzer import LinearSensitivityAnalyzer

    estimator = lr_est.estimator
    analyzer = LinearSensitivityAnalyzer(
        estimator=estimator,
        data=data,
        treatment_name=[T_COL],
        benchmark_common_causes=[],
        # DoWhy's own column order (its design is built in this order, not in ours)
        common_causes_order=list(estimator._observed_common_causes.columns),
        frac_strength_treatment=1.0,
        frac_strength_outcome=1.0,
    )
    model = estimator.model
    benchmarks: dict[str, tuple[float, float]] = {}
    if groups:
        treatment_model = analyzer.treatment_regression()
        for name, columns in groups.items():
            xs = [analyzer.common_causes_map[c] for c in columns]
            x: Any = xs if len(xs) > 1 else xs[0]
            benchmarks[name] = (
                float(analyzer.partial_r2_func(treatment_model, x)),
                float(analyzer.partial_r2_func(model, x)),
            )
    return sensitivity_from_stats(
        float(np.asarray(model.params)[1]),
        float(np.asarray(model.bse)[1]),
        int(model.df_resid),
        benchmarks,
        effect,
        se,
        dof,
        sd_outcome,
    )


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
    from dowhy.causal_refuter import test_significance
    from threadpoolctl import threadpool_limits

    logging.getLogger("dowhy").setLevel(logging.ERROR)
    design, covariates = design_frame(frame, spec)
    dropped = len(frame) - len(design)
    steps = 3 + len(spec.refuters)  # model, diagnostics, estimate (+ compare, sensitivity), refuters

    def step(stage: str, done: int) -> None:
        if should_stop():
            raise AnalysisCancelled(stage)
        progress(stage, done / steps)

    step("model", 0)
    # One BLAS thread: statsmodels' SVD on these tall, narrow matrices gets no faster with more
    # threads, and oversubscribed cores (a worker runs other activities) made it 4x slower.
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        design, trimmed = _trim(design, covariates, spec)
        clusters = cluster_codes(design)
        data = design.drop(columns=[CLUSTER_COL], errors="ignore")
        t = data[T_COL].to_numpy(dtype=float)
        y = data[Y_COL].to_numpy(dtype=float)
        x = data[covariates].to_numpy(dtype=float) if covariates else np.empty((len(data), 0))
        fit = ols_treatment_fit(t, y, x, clusters)
        step("diagnostics", 1)
        diagnostics = diagnose(data, covariates, spec, fit, trimmed)

        model, identified = identify(data, spec, covariates)  # on the spec's graph when it has one
        step("estimate", 2)
        main = estimate(model, identified, spec.estimator, spec, fit, clusters, should_stop)
        est, estimated, effect, se, dof = (
            main.dowhy,
            main.estimate,
            main.estimate.effect,
            main.estimate.std_error,
            main.dof,
        )
        assert se is not None
        low, high = estimated.ci_low, estimated.ci_high
        lr_est = est if spec.estimator is Estimator.LINEAR_REGRESSION else None
        comparison = None
        if spec.compare:
            step("compare", 2)
            others = [estimate(model, identified, e, spec, fit, clusters, should_stop) for e in spec.estimators()[1:]]
            comparison = compare_estimates(
                estimated,
                [
                    EstimatorEstimate(
                        estimator=e,
                        effect=f.estimate.effect,
                        ci_low=f.estimate.ci_low,
                        ci_high=f.estimate.ci_high,
                        std_error=f.estimate.std_error,
                        std_error_kind=f.kind,
                    )
                    for e, f in zip(spec.estimators(), [main, *others], strict=True)
                ],
            )

        sensitivity = None
        if spec.sensitivity:
            step("sensitivity", 2)
            if lr_est is None:  # the analysers work on the outcome regression with the same adjustment
                lr_est = model.estimate_effect(identified, method_name=Estimator.LINEAR_REGRESSION.value)
            confounders = _column_groups(spec, covariates)
            sensitivity = _sensitivity(lr_est, data, covariates, confounders, effect, se, dof, fit["sd_outcome"])

        clustered = clusters is not None and "se_cluster" in fit
        specification = None
        if spec.estimator is Estimator.LINEAR_REGRESSION:
            specification = functional_form_check(t, y, x, covariates, clusters if clustered else None)

        if spec.estimator is Estimator.LINEAR_REGRESSION and spec.refuters:
            # refits (the refuters' simulations) by the normal equations, without intervals
            est.estimator.__class__ = refit_estimator_class()
            est.estimator._confidence_intervals = False
        refutations: list[Refutation] = []
        for i, refuter in enumerate(spec.refuters):
            step(f"refute:{refuter.value}", 3 + i)
            effects = refute(
                refuter,
                spec.refuter_simulations,
                spec.seed * 1000 + i,
                model._data,
                identified,
                est,
                fit["sd_outcome"],
                should_stop,
            )
            p = float(test_significance(est, effects)["p_value"]) if len(set(effects)) > 1 else None
            refutations.append(judge_refutation(refuter, estimated, effects, p))
    label, reasons = verdict(
        estimated, refutations, diagnostics, sensitivity, spec.estimator, specification, comparison
    )
    progress("done", 1.0)
    return AnalysisResult(
        treatment=spec.treatment,
        outcome=spec.outcome,
        estimator=spec.estimator,
        estimand=spec.estimand,
        adjustment_set=spec.adjustment_set(),
        design_columns=covariates,
        rows=len(data),
        rows_dropped_missing=dropped,
        effect=effect,
        ci_low=low,
        ci_high=high,
        std_error=se,
        std_error_kind=main.kind,
        clusters=int(fit["clusters"]) if clustered else None,
        naive_effect=naive(data, spec.estimator),
        diagnostics=diagnostics,
        sensitivity=sensitivity,
        specification=specification,
        comparison=comparison,
        refutations=refutations,
        verdict=label,
        verdict_reasons=reasons,
        engine=Engine.PANDAS,
        engine_reason=engine_reason,
        seconds=round(time.perf_counter() - started, 3),
    )


def _column_groups(spec: AnalysisSpec, covariates: list[str]) -> dict[str, list[str]]:
    """Design columns by the confounder they encode (a categorical's dummies form one group)."""
    groups: dict[str, list[str]] = {}
    for column in spec.adjustment_set():
        members = [c for c in covariates if c == column or c.startswith(column + "=")]
        if members:
            groups[column] = members
    return groups
