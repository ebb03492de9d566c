"""The analysis page in real headless Chromium: progress moves live while the analysis runs (the
stored progress the workflow's activity writes), then the result appears with its interval,
verdict and reasons, refuters with p-values, sensitivity and the diagnostics drawn as plots."""

from __future__ import annotations

from typing import Any

from shared.adapters.postgres.causal_store import CausalStore
from shared.domain.causal_verdict import AnalysisResult
from shared.platform.resources import Resources
from tests.web.conftest import axe_violations, new_page, screenshot, settle, sign_in

RESULT: dict[str, Any] = {
    "treatment": "meeting_hours",
    "outcome": "wellbeing",
    "estimator": "backdoor.linear_regression",
    "estimand": "ate",
    "adjustment_set": ["team", "tenure_years"],
    "design_columns": ["team_b", "tenure_years"],
    "rows": 4000,
    "effect": -0.412,
    "ci_low": -0.5,
    "ci_high": -0.33,
    "std_error": 0.04,
    "std_error_kind": "cluster:person",
    "clusters": 500,
    "naive_effect": -0.61,
    "diagnostics": {
        "overlap": {
            "kind": "propensity",
            "propensity_quantiles": {
                "treated": {"min": 0.05, "p05": 0.1, "p25": 0.3, "p50": 0.5, "p75": 0.7, "p95": 0.9, "max": 0.97},
                "control": {"min": 0.02, "p05": 0.05, "p25": 0.2, "p50": 0.35, "p75": 0.55, "p95": 0.8, "max": 0.9},
            },
            "share_outside_support": 0.021,
            "effective_sample_size": {"treated": 1800.0, "control": 1700.0},
            "arm_sizes": {"treated": 2000, "control": 2000},
        },
        "balance": [
            {"column": "team_b", "smd_before": 0.42, "smd_after": 0.03},
            {"column": "tenure_years", "smd_before": -0.25, "smd_after": 0.01},
        ],
        "max_abs_smd_before": 0.42,
        "max_abs_smd_after": 0.03,
    },
    "sensitivity": {
        "method": "cinelli_hazlett",
        "robustness_value": 0.31,
        "robustness_value_alpha": 0.27,
        "partial_r2_treatment_outcome": 0.09,
        "benchmark": "tenure_years",
        "adjusted_effect": -0.39,
        "e_value": 2.4,
        "explained_away": False,
    },
    "refutations": [
        {
            "refuter": "placebo_treatment",
            "new_effect": 0.004,
            "simulations": 10,
            "passed": True,
            "rule": "placebo effect indistinguishable from 0",
            "p_value": 0.62,
        }
    ],
    "verdict": "robust",
    "verdict_reasons": ["every refuter passed", "a hidden confounder as strong as tenure would not explain it away"],
    "engine": "pandas",
}


async def test_progress_is_live_and_the_result_shows_its_diagnostics(
    web: str, browser: Any, resources: Resources
) -> None:
    result = AnalysisResult.model_validate(RESULT).model_dump(mode="json")  # the stored shape, validated
    store = CausalStore(resources.pg)
    spec = {"treatment": "meeting_hours", "outcome": "wellbeing", "confounders": ["team", "tenure_years"]}
    aid = await store.create(spec, "dev-analyst")
    await store.mark_running(aid, 1)
    await store.set_progress(aid, {"stage": "estimate", "fraction": 0.4})

    context, page = await new_page(browser)
    await sign_in(page, web, "analyst")
    await page.goto(f"{web}/app/analyses/{aid}")
    await settle(page)
    await page.wait_for_function("() => window.coLive.mode === 'live'", timeout=15_000)
    assert "40%: estimate" in await page.inner_text("#analysis")
    await page.evaluate("window.__noReload = true")
    await store.set_progress(aid, {"stage": "refute", "fraction": 0.8})
    await page.wait_for_selector("#analysis >> text=80%: refute", timeout=10_000)
    await store.complete(aid, result, {"engine": "pandas"})
    await page.wait_for_selector("#analysis-status[data-status=succeeded]", timeout=10_000)
    assert await page.evaluate("window.__noReload === true")
    text = await page.inner_text("#analysis")
    assert "-0.412" in text and "-0.5 to -0.33" in text and "robust" in text
    assert "every refuter passed" in text and "0.62" in text  # verdict reasons, refuter p-value
    assert "Robustness value 0.31" in text and "would not explain the effect away" in text
    assert "2.1% of units outside common support" in text
    assert await page.locator("#analysis svg.chart").count() == 2  # overlap and balance plots
    await screenshot(page, "analyst-analysis-result")
    assert await axe_violations(page) == []
    await context.close()

    context, page = await new_page(browser)
    await sign_in(page, web, "viewer")
    response = await page.goto(f"{web}/app/analyses/{aid}")
    assert response is not None and response.status == 403
    await context.close()
