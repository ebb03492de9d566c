"""What a causal analysis returns (estimate, diagnostics, refutations, sensitivity, functional-form
check) and THE rule that turns them into a verdict on the ladder ``robust``,
``sensitive_to_hidden_confounding``, ``insufficient_overlap``, ``not_significant``, ``fragile``
(:func:`verdict`).

The engines (shared/adapters/causal) only compute; every rule lives here so it can be read top
to bottom and is documented in docs/causal.md ("Verdict ladder").
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from shared.domain.analysis import BINARY_ESTIMATORS, Engine, Estimand, Estimator, Refuter

# Rule thresholds (see docs/causal.md, "Verdict ladder").
CONFIDENCE_LEVEL = 0.95
REFUTER_SIGNIFICANCE = 0.05  # a refuter's test level
PS_SUPPORT = (0.05, 0.95)  # propensities outside this band mean a unit has (almost) no comparable other
MAX_SHARE_OUTSIDE_SUPPORT = 0.10  # more than this share of units outside the band: insufficient overlap
MAX_ABS_SMD_AFTER = 0.10  # a confounder still this imbalanced after weighting: insufficient balance
MIN_RESIDUAL_TREATMENT_SHARE = 0.05  # continuous treatment: variance left after the confounders
MIN_EFFECTIVE_SHARE = 0.10  # weighting: effective sample size of an arm below this share of the arm
SPECIFICATION_SIGNIFICANCE = 0.05  # functional-form check: a shift this unlikely under linearity fails it
VerdictLabel = Literal[
    "robust", "sensitive_to_hidden_confounding", "insufficient_overlap", "not_significant", "fragile"
]


class Refutation(BaseModel):
    """One refuter, run as a statistical test over ``simulations`` refits."""

    refuter: Refuter
    new_effect: float  # mean over the simulations
    simulations: int
    passed: bool
    rule: str
    spread: float | None = None  # standard deviation of the simulated effects
    p_value: float | None = None  # DoWhy's test of the original estimate against the simulated ones


class Estimate(BaseModel):
    effect: float
    ci_low: float
    ci_high: float
    std_error: float | None = None


class BalanceRow(BaseModel):
    """Standardised mean difference (treated - control, pooled SD) of one design column."""

    column: str
    smd_before: float
    smd_after: float | None  # after weighting for the estimand (None: continuous treatment)


class Overlap(BaseModel):
    """Can treated and untreated be compared at all? (propensity scores for a binary treatment)."""

    kind: Literal["propensity", "continuous"]
    propensity_quantiles: dict[str, dict[str, float]] | None = None  # arm -> {"min","p05",...,"max"}
    share_outside_support: float | None = None  # share of units with a propensity outside PS_SUPPORT
    effective_sample_size: dict[str, float] | None = None  # arm -> Kish ESS under the estimand's weights
    arm_sizes: dict[str, int] | None = None
    residual_treatment_share: float | None = None  # continuous: 1 - R2 of the treatment on the confounders
    trimmed_rows: int = 0  # rows dropped by trim_propensity
    trim_rule: str | None = None


class Diagnostics(BaseModel):
    overlap: Overlap
    balance: list[BalanceRow]
    max_abs_smd_before: float
    max_abs_smd_after: float | None


class Sensitivity(BaseModel):
    """How strong an unobserved confounder would have to be (DoWhy's analysers, Cinelli-Hazlett and E-value)."""

    method: str
    robustness_value: float  # RV: partial R2 with treatment and outcome that moves the estimate to 0
    robustness_value_alpha: float  # RV_alpha: ... that makes it not significant at 5%
    partial_r2_treatment_outcome: float
    benchmark: str | None  # the strongest observed confounder
    benchmark_r2_treatment: float | None = None
    benchmark_r2_outcome: float | None = None
    adjusted_effect: float | None = None  # with a hidden confounder as strong as the benchmark
    adjusted_ci_low: float | None = None
    adjusted_ci_high: float | None = None
    e_value: float | None = None  # risk-ratio scale, point estimate
    e_value_ci: float | None = None  # for the interval limit closest to the null

    explained_away: bool = False  # see hidden_confounder_explains_away


def hidden_confounder_explains_away(effect: float, adjusted_low: float, adjusted_high: float) -> bool:
    """The benchmark-strength hidden confounder would make the effect not significant or flip its sign."""
    if adjusted_low <= 0.0 <= adjusted_high:
        return True
    return (adjusted_low > 0) != (effect > 0)


class SpecificationCheck(BaseModel):
    """Functional-form check of the outcome regression (a RESET-style test on the effect itself).

    The adjustment is made flexible (squared and cubed standardised terms of every continuous
    confounder) and the treatment coefficient refitted; if the confounders act non-linearly the
    linear adjustment leaves bias and the coefficient moves. ``p_value`` is the Hausman-type test
    of that shift (clustered like the estimate).
    """

    method: str
    terms: list[str]  # the added terms, e.g. "tenure_years^2"
    flexible_effect: float
    shift: float  # flexible_effect - effect
    shift_se: float
    p_value: float
    passed: bool


def specification_passes(p_value: float) -> bool:
    return p_value >= SPECIFICATION_SIGNIFICANCE


class EstimatorEstimate(BaseModel):
    """One estimator's answer in comparison mode."""

    estimator: Estimator
    effect: float
    ci_low: float
    ci_high: float
    std_error: float | None
    std_error_kind: str


class Comparison(BaseModel):
    """Comparison mode: the same question under several estimators. Disagreement is evidence: when
    estimators that are all consistent under the assumptions land far apart, some assumption (the
    outcome model's form, the propensity model, overlap) fails."""

    estimates: list[EstimatorEstimate]  # the spec's estimator first
    spread: float  # max - min of the effects
    outside: list[Estimator]  # estimators whose effect is outside the main estimate's interval
    agree: bool  # no estimator outside


def compare_estimates(main: Estimate, estimates: list[EstimatorEstimate]) -> Comparison:
    """The rule: every other estimator's effect must lie inside the main estimate's 95% interval."""
    effects = [e.effect for e in estimates]
    outside = [e.estimator for e in estimates[1:] if not (main.ci_low <= e.effect <= main.ci_high)]
    return Comparison(estimates=estimates, spread=max(effects) - min(effects), outside=outside, agree=not outside)


class AnalysisResult(BaseModel):
    treatment: str
    outcome: str
    estimator: Estimator
    estimand: Estimand = Estimand.ATE
    lag: int = 0  # outcome periods after the treatment's (the spec's lag)
    adjustment_set: list[str]
    design_columns: list[str]  # the encoded covariates actually adjusted for
    rows: int
    rows_dropped_missing: int = 0  # panel rows without every needed value
    effect: float
    ci_low: float
    ci_high: float
    std_error: float | None
    std_error_kind: str = "ols"  # "cluster:person", "cluster:team", "ols", "sandwich"
    clusters: int | None = None
    naive_effect: float  # the same estimator with no adjustment, to show what confounding does
    diagnostics: Diagnostics | None = None
    sensitivity: Sensitivity | None = None
    specification: SpecificationCheck | None = None  # None: no continuous confounder, or not a regression
    comparison: Comparison | None = None  # comparison mode only
    refutations: list[Refutation]
    verdict: VerdictLabel
    verdict_reasons: list[str]
    engine: Engine
    engine_reason: str = ""
    seconds: float = 0.0


def zero_bound(spread: float, n: int) -> float:
    """How far from 0 the mean of ``n`` simulated effects may lie and 0 still be a plausible draw:
    the half-width of the 95% prediction interval, Student's t with n - 1 degrees of freedom.

    The spread is itself estimated from the n draws; a fixed 1.96 SD failed a null refuter 7.7%
    of the time at 3 simulations (1.35% with this bound; both vanish by 10 simulations).
    """
    from scipy import stats

    return float(stats.t.ppf(0.975, n - 1)) * spread * (1 + 1 / n) ** 0.5


def judge_refutation(
    refuter: Refuter,
    estimate: Estimate,
    effects: list[float],
    p_value: float | None = None,
) -> Refutation:
    """One refuter as a statistical test (rules in docs/causal.md, "Refuters").

    - placebo: the real estimate must lie outside the placebo distribution (DoWhy's p-value below
      5%), and that distribution must be consistent with zero;
    - dummy outcome: the dummy outcome's effects must be consistent with zero;
    - data subset and random common cause: the mean new estimate stays inside the original interval.
    """
    import statistics

    n = len(effects)
    mean = statistics.fmean(effects)
    spread = statistics.stdev(effects) if n > 1 else 0.0
    zero_inside = abs(mean) <= zero_bound(spread, n) if spread > 0 else mean == 0.0
    if refuter is Refuter.PLACEBO_TREATMENT:
        p = p_value if p_value is not None else 1.0
        passed = zero_inside and p < REFUTER_SIGNIFICANCE
        rule = f"placebo effects consistent with 0 and the estimate outside them (p < {REFUTER_SIGNIFICANCE})"
    elif refuter is Refuter.DUMMY_OUTCOME:
        passed = zero_inside
        rule = "effects on a dummy outcome consistent with 0"
    else:
        passed = estimate.ci_low <= mean <= estimate.ci_high
        rule = "mean new estimate inside the original 95% interval"
    return Refutation(
        refuter=refuter, new_effect=mean, simulations=n, passed=passed, rule=rule, spread=spread, p_value=p_value
    )


def overlap_problems(estimator: Estimator, diagnostics: Diagnostics) -> list[str]:
    """Why the treated and untreated cannot be compared (empty: overlap and balance are fine)."""
    problems: list[str] = []
    o = diagnostics.overlap
    if o.share_outside_support is not None and o.share_outside_support > MAX_SHARE_OUTSIDE_SUPPORT:
        lo, hi = PS_SUPPORT
        problems.append(
            f"{o.share_outside_support:.0%} of units have a propensity outside [{lo}, {hi}] "
            f"(at most {MAX_SHARE_OUTSIDE_SUPPORT:.0%})"
        )
    if o.residual_treatment_share is not None and o.residual_treatment_share < MIN_RESIDUAL_TREATMENT_SHARE:
        problems.append(
            f"the confounders explain {1 - o.residual_treatment_share:.0%} of the treatment's variance: "
            "almost no independent variation is left"
        )
    if estimator in BINARY_ESTIMATORS:  # they all compare treated with reweighted/matched controls
        for arm, ess in (o.effective_sample_size or {}).items():
            size = (o.arm_sizes or {}).get(arm, 0)
            if size and ess < MIN_EFFECTIVE_SHARE * size:
                problems.append(f"effective sample size of the {arm} arm is {ess:.0f} of {size} after weighting")
        if diagnostics.max_abs_smd_after is not None and diagnostics.max_abs_smd_after > MAX_ABS_SMD_AFTER:
            worst = max(diagnostics.balance, key=lambda r: abs(r.smd_after or 0.0))
            problems.append(
                f"{worst.column} is still imbalanced after weighting (SMD {worst.smd_after:+.2f}, "
                f"at most {MAX_ABS_SMD_AFTER})"
            )
    return problems


def verdict(
    estimate: Estimate,
    refutations: list[Refutation],
    diagnostics: Diagnostics | None = None,
    sensitivity: Sensitivity | None = None,
    estimator: Estimator = Estimator.LINEAR_REGRESSION,
    specification: SpecificationCheck | None = None,
    comparison: Comparison | None = None,
) -> tuple[VerdictLabel, list[str]]:
    """THE verdict ladder; the first rung that applies wins, and every failed condition is a reason.

    1. ``insufficient_overlap``: the diagnostics say the groups cannot be compared (no estimate
       from such data should be trusted, whatever its interval);
    2. ``not_significant``: the 95% interval includes 0;
    3. ``fragile``: no refuter ran, a refuter failed its test, or the functional-form check
       failed (a flexible adjustment moves the estimate: the linear model is misspecified), or in
       comparison mode another estimator's effect lies outside the interval;
    4. ``sensitive_to_hidden_confounding``: an unobserved confounder as strong as the strongest
       observed one would make the effect not significant (or sensitivity was not assessed);
    5. ``robust``: none of the above. Only ``robust`` may propose an intervention automatically.
    """
    reasons: list[str] = []
    overlap = overlap_problems(estimator, diagnostics) if diagnostics is not None else []
    reasons += overlap
    if diagnostics is None:
        reasons.append("overlap and balance were not assessed")
    significant = not (estimate.ci_low <= 0.0 <= estimate.ci_high)
    if not significant:
        reasons.append(
            f"the {CONFIDENCE_LEVEL:.0%} interval [{estimate.ci_low:.4g}, {estimate.ci_high:.4g}] includes 0"
        )
    failed = [r for r in refutations if not r.passed]
    if not refutations:
        reasons.append("no refuter was run")
    for r in failed:
        p = f", p={r.p_value:.3g}" if r.p_value is not None else ""
        reasons.append(f"{r.refuter.value} failed: mean new effect {r.new_effect:.4g}{p} ({r.rule})")
    misspecified = specification is not None and not specification.passed
    if specification is not None and misspecified:
        reasons.append(
            f"functional-form check failed: with {', '.join(specification.terms)} the estimate moves from "
            f"{estimate.effect:.4g} to {specification.flexible_effect:.4g} (p={specification.p_value:.3g})"
        )
    disagree = comparison is not None and not comparison.agree
    if comparison is not None and disagree:
        others = ", ".join(
            f"{e.estimator.value} {e.effect:.4g}" for e in comparison.estimates if e.estimator in comparison.outside
        )
        reasons.append(
            f"estimators disagree: {others} outside the interval [{estimate.ci_low:.4g}, {estimate.ci_high:.4g}]"
        )
    hidden = sensitivity is None or sensitivity.explained_away
    if sensitivity is None:
        reasons.append("sensitivity to unobserved confounding was not assessed")
    elif sensitivity.explained_away:
        reasons.append(
            f"a hidden confounder as strong as {sensitivity.benchmark} would make the effect not significant "
            f"(adjusted interval [{sensitivity.adjusted_ci_low:.4g}, {sensitivity.adjusted_ci_high:.4g}]; "
            f"robustness value {sensitivity.robustness_value_alpha:.3f})"
        )
    label: VerdictLabel
    if overlap or diagnostics is None:
        label = "insufficient_overlap"
    elif not significant:
        label = "not_significant"
    elif failed or not refutations or misspecified or disagree:
        label = "fragile"
    elif hidden:
        label = "sensitive_to_hidden_confounding"
    else:
        label = "robust"
    return label, reasons
