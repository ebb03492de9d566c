"""The causal subcommands of ``causal-organism``: ``analyze`` (an analyst's own CSV, the same
pandas pipeline, JSON out) and ``import-outcomes`` (a CSV into the outcomes table).

Kept here so shared/cli/__init__.py only registers them; dowhy loads when ``analyze`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from shared.domain.analysis import DEFAULT_REFUTERS, AnalysisSpec, Estimator, Refuter, SpecProblem
from shared.domain.outcomes import CsvProblem, parse_outcomes_csv
from shared.platform.resources import Needs, open_resources
from shared.services.causal_analysis import store_outcomes
from shared.services.causal_local import analyze_frame


def _csv_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def cmd_analyze(args: argparse.Namespace, settings: Any) -> int:
    import pandas as pd
    from pydantic import ValidationError

    def fail(field: str, problem: str) -> int:
        print(
            json.dumps(
                {
                    "error": {
                        "code": "validation_error",
                        "message": problem,
                        "details": [{"field": field, "problem": problem}],
                    }
                }
            )
        )
        return 2

    try:
        spec = AnalysisSpec.model_validate(
            {
                "treatment": args.treatment,
                "outcome": args.outcome,
                "confounders": _csv_list(args.confounders) if args.confounders else [],
                "graph": Path(args.graph).read_text() if args.graph else None,
                "estimator": args.estimator,
                "refuters": _csv_list(args.refuters) if args.refuters is not None else list(DEFAULT_REFUTERS),
                "treatment_threshold": args.treatment_threshold,
                "estimand": args.estimand,
                "lag": args.lag,
                "cluster": args.cluster,
                "trim_propensity": args.trim_propensity,
                "refuter_simulations": args.simulations,
                "compare": _csv_list(args.compare) if args.compare else [],
                "interval": args.interval,
                "bootstrap_draws": args.bootstrap_draws,
                "seed": args.seed,
            }
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        return fail(".".join(str(p) for p in err["loc"]) or "spec", str(err["msg"]))
    try:
        frame = pd.read_csv(args.csv)
    except (OSError, ValueError) as exc:
        return fail("csv", f"cannot read the CSV: {exc}")
    try:
        result = analyze_frame(frame, spec, settings.causal.min_rows, "command line: in-process pandas")
    except SpecProblem as exc:
        return fail(exc.field, exc.reason)
    out = result.model_dump(mode="json")
    keys = [
        "effect",
        "ci_low",
        "ci_high",
        "std_error",
        "naive_effect",
        "verdict",
        "verdict_reasons",
        "estimand",
        "lag",
        "std_error_kind",
        "clusters",
        "refutations",
        "sensitivity",
        "specification",
        "comparison",
        "diagnostics",
        "rows",
        "rows_dropped_missing",
        "treatment",
        "outcome",
        "estimator",
        "adjustment_set",
        "engine",
        "seconds",
    ]
    print(json.dumps({k: out[k] for k in keys}, indent=None if args.compact else 2))
    return 0


def cmd_import_outcomes(args: argparse.Namespace, settings: Any) -> int:
    try:
        with open(args.csv, encoding="utf-8-sig") as fh:
            records = parse_outcomes_csv(fh.read())
    except CsvProblem as exc:
        print(json.dumps({"error": {"code": "validation_error", "message": str(exc), "details": exc.details}}))
        return 2

    async def run() -> int:
        async with open_resources(settings, Needs(pg=True)) as resources:
            return await store_outcomes(resources, records, args.source)

    print(json.dumps({"accepted": asyncio.run(run())}))
    return 0


def add_causal_commands(sub: Any) -> None:
    """Register ``analyze`` and ``import-outcomes`` on the CLI's subparsers."""
    p = sub.add_parser("analyze", help="causal analysis of your own CSV (DoWhy, in-process); prints JSON")
    p.add_argument("--csv", required=True, help="one row per unit (e.g. person-week), one column per variable")
    p.add_argument("--treatment", required=True)
    p.add_argument("--outcome", required=True)
    p.add_argument("--confounders", help="comma-separated columns to adjust for")
    p.add_argument("--graph", help="file with a DOT or GML causal graph (instead of --confounders)")
    p.add_argument("--estimator", default=Estimator.LINEAR_REGRESSION.value, choices=[e.value for e in Estimator])
    p.add_argument(
        "--refuters",
        help="comma-separated: "
        + ",".join(r.value for r in Refuter)
        + " (default "
        + ",".join(r.value for r in DEFAULT_REFUTERS)
        + ")",
    )
    p.add_argument("--estimand", default="att", choices=["ate", "att", "atc"])
    p.add_argument(
        "--lag", type=int, default=0, help="outcome periods after the treatment's (needs employee and period columns)"
    )
    p.add_argument(
        "--cluster", default="person", choices=["person", "team", "none"], help="clustered SEs (needs that column)"
    )
    p.add_argument("--trim-propensity", type=float, help="drop units with propensity outside [a, 1-a]")
    p.add_argument("--treatment-threshold", type=float, help="binarise the treatment as treatment > threshold")
    p.add_argument("--simulations", type=int, default=20, help="simulations per refuter")
    p.add_argument("--compare", help="comparison mode: comma-separated estimators to run beside --estimator")
    p.add_argument("--interval", default="analytic", choices=["analytic", "bootstrap"], help="weighting's interval")
    p.add_argument("--bootstrap-draws", type=int, default=100, help="bootstrap resamples of people")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--compact", action="store_true", help="one-line JSON")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("import-outcomes", help="import outcomes from a CSV (employee,period,metric,value[,source])")
    p.add_argument("--csv", required=True)
    p.add_argument("--source", required=True, help="where the values come from, e.g. pulse-survey")
    p.set_defaults(func=cmd_import_outcomes)
