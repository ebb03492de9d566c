"""Load a generated organisation (shared/domain/synthetic_org.py) into the real stores, and the
demo stage that runs one analysis on it through the real pipeline.

Metrics go through the metrics area's own writer (MetricsStore.write_history: daily partitions
and the hourly rollup), outcomes and attributes through the causal store; every id is
pseudonymised exactly like ingested events.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from datetime import time as dtime
from typing import Any

from shared.adapters.postgres.causal_store import CausalStore
from shared.adapters.postgres.metrics_store import MetricsStore
from shared.domain.analysis import AnalysisSpec
from shared.domain.metrics import HISTORY_COLUMNS
from shared.domain.privacy import pseudonymise
from shared.domain.synthetic_org import OUTCOME_METRIC, SyntheticOrg, generate_org
from shared.platform.resources import Resources

SOURCE = "synthetic"
_INT_COLUMNS = {"degree_in", "degree_out", "network_size", "strong_ties", "diverse_ties"}


async def load_org(resources: Resources, org: SyntheticOrg, chunk: int = 50_000) -> dict[str, int]:
    """Write the org's weekly metrics, wellbeing outcomes and attributes; returns row counts."""
    import numpy as np

    key = resources.settings.pseudonymisation_key
    pseudo = {raw: pseudonymise(raw, key) for raw in org.people}
    cols = org.columns
    employees = [pseudo[e] for e in cols["employee"].tolist()]
    periods = cols["period"].tolist()
    metrics = MetricsStore(resources.pg)
    written = 0
    per_week: dict[Any, list[int]] = {}
    for i, p in enumerate(periods):
        per_week.setdefault(p, []).append(i)
    values = {c: cols[c].tolist() for c in HISTORY_COLUMNS[2:]}
    for week, idx in per_week.items():
        at = datetime.combine(week, dtime(12, 0), tzinfo=UTC)
        records = [
            (
                at,
                employees[i],
                *(int(values[c][i]) if c in _INT_COLUMNS else values[c][i] for c in HISTORY_COLUMNS[2:]),
            )
            for i in idx
        ]
        written += await metrics.write_history(at, records)
    store = CausalStore(resources.pg)
    outcome_values = np.asarray(cols[OUTCOME_METRIC], dtype=float).tolist()
    outcomes = 0
    for start in range(0, len(employees), chunk):
        rows = [
            (employees[i], periods[i], OUTCOME_METRIC, outcome_values[i], SOURCE)
            for i in range(start, min(start + chunk, len(employees)))
        ]
        outcomes += await store.upsert_outcomes(rows)
    attrs = await store.upsert_attributes(
        [(pseudo[p], t, r, None) for p, t, r in zip(org.people, org.tenure_years, org.roles, strict=True)]
    )
    return {"metric_rows": written, "outcome_rows": outcomes, "people": attrs}


async def demo_stage(resources: Resources, out: Callable[[str], None]) -> None:
    """Generate an organisation, run one analysis through the durable workflow (or, when no
    worker picks it up within 20 s or Temporal is down, the same service in-process), and print
    effect, interval and verdict."""
    from shared.domain.analysis import Window
    from shared.services.causal_analysis import ProgressState, compute, start_analysis

    org = generate_org(seed=2026, people=400, weeks=12, true_effect=-0.4)
    first = pseudonymise(org.people[0], resources.settings.pseudonymisation_key)
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
        f"causal: estimand {str(result.get('estimand', 'ate')).upper()}, standard error "
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
