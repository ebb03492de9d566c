"""The demo's causal stage: generate an organisation, analyse it, print the answer.

python -m ops.causal_demo    the stage on its own (needs the stack: ./dev demo:causal)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from shared.adapters.postgres.causal_store import CausalStore
from shared.domain.analysis import AnalysisSpec, Window
from shared.domain.privacy import pseudonymise
from shared.domain.synthetic_org import OUTCOME_METRIC, generate_org
from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import load_settings
from shared.services.causal_analysis import ProgressState, compute, start_analysis
from shared.services.synthetic_org import load_org


async def demo_stage(resources: Resources, out: Callable[[str], None]) -> None:
    """Generate an organisation, run one analysis through the durable workflow (or, when no
    worker picks it up within 20 s or Temporal is down, the same service in-process), and print
    effect, interval and verdict."""
    org = generate_org(seed=2026, people=400, weeks=12, true_effect=-0.4)
    first = pseudonymise(org.people[0], resources.settings.privacy.pseudonymisation_key)
    if await CausalStore(resources.pg).outcome_count(first, OUTCOME_METRIC) == 0:  # load once
        await load_org(resources, org)
    out(
        f"causal: generated organisation: {len(org.people)} people, {len(set(org.teams))} teams, "
        f"{org.rows} person-weeks; planted effect of meeting hours on wellbeing = {org.true_effect}"
    )
    spec = AnalysisSpec(**org.spec_kwargs(), window=Window(start=org.weeks[0], end=org.weeks[-1]))
    result: dict[str, Any] | None = None
    try:
        analysis_id, profile = await start_analysis(resources, spec, "demo")
        out(f"causal: analysis {analysis_id} started as a Temporal workflow on {profile.rows} rows")
        store = CausalStore(resources.pg)
        started = time.monotonic()
        while time.monotonic() - started < 180:
            row = await store.get(analysis_id)
            if row is None:
                break
            if row.status == "queued" and time.monotonic() - started > 20:
                out("causal: no worker picked the workflow up within 20 s")
                break
            if row.status in ("succeeded", "failed", "cancelled"):
                if row.status == "succeeded" and row.provenance is not None:
                    result = row.result
                    out(f"causal: workflow finished on the {row.provenance.get('engine')} engine")
                break
            await asyncio.sleep(1.0)
    except Exception as exc:  # noqa: BLE001 - Temporal down: the demo still shows the analysis
        out(f"causal: workflow unavailable ({type(exc).__name__})")
    if result is None:
        out("causal: running the same pipeline in-process")
        res, _ = await compute(resources, spec, ProgressState())
        result = res.model_dump(mode="json")
    out(
        f"causal: effect of +1 meeting hour on wellbeing = {result['effect']:.3f} "
        f"(95% CI {result['ci_low']:.3f} to {result['ci_high']:.3f}); "
        f"naive slope {result['naive_effect']:.3f}; "
        f"truth {org.true_effect}"
    )
    out(
        f"causal: estimand {str(result.get('estimand', 'ate')).upper()}, outcome lag {result.get('lag', 0)}, "
        "standard error "
        f"{result.get('std_error_kind', 'ols')} ({result.get('clusters') or '-'} clusters)"
    )
    diagnostics = result.get("diagnostics") or {}
    overlap = diagnostics.get("overlap") or {}
    if overlap.get("kind") == "continuous":
        out(
            f"causal: overlap: the confounders leave {overlap['residual_treatment_share']:.0%} "
            "of the treatment's variance"
        )
    elif overlap:
        out(f"causal: overlap: {overlap['share_outside_support']:.0%} of units outside propensity [0.05, 0.95]")
    sens = result.get("sensitivity")
    if sens and sens.get("adjusted_ci_low") is not None:
        out(
            f"causal: sensitivity: robustness value {sens['robustness_value']:.2f}, "
            f"E-value {sens.get('e_value') or 0:.2f}; "
            f"a hidden confounder as strong as {sens['benchmark']} -> "
            f"[{sens['adjusted_ci_low']:.3f}, {sens['adjusted_ci_high']:.3f}]"
        )
    refs = ", ".join(
        f"{r['refuter']} {'pass' if r['passed'] else 'FAIL'}"
        + (f" (p={r['p_value']:.2g})" if r.get("p_value") is not None else "")
        for r in result["refutations"]
    )
    out(f"causal: verdict {result['verdict'].upper()} ({refs})")
    for reason in result.get("verdict_reasons", []):
        out(f"causal:   because {reason}")


async def main() -> None:
    async with open_resources(load_settings(), Needs(pg=True, temporal=True)) as resources:
        await demo_stage(resources, print)


if __name__ == "__main__":
    asyncio.run(main())
