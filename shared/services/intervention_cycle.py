"""Evaluate interventions: robust analyses -> automatic proposals (the full cycle's last step).

Reads recent succeeded analyses whose verdict is robust (table ``analyses``, causal area),
picks for each the people most exposed to the treatment in the latest metrics
(``employee_metrics``, metrics area), and returns the workflow inputs of the proposals the
catalogue allows. Proposal ids are fingerprints, so evaluating the same finding twice starts
nothing new (Temporal refuses a second workflow with the same id).
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from shared.domain.analysis import METRIC_COLUMNS
from shared.domain.interventions import Evidence, InterventionType, Verdict, suggest_type
from shared.platform.settings import Settings
from shared.services.interventions import Finding, automatic_proposal, build_input


async def robust_findings(conn: asyncpg.Connection, lookback_hours: float, limit: int = 20) -> list[Evidence]:
    if lookback_hours < 0:
        raise ValueError("lookback_hours must be >= 0")
    rows = await conn.fetch(
        """SELECT id::text AS id, result::text AS result FROM analyses
           WHERE status = 'succeeded' AND result->>'verdict' = 'robust'
             AND completed_at >= now() - make_interval(secs => $1)
           ORDER BY completed_at DESC LIMIT $2""",
        lookback_hours * 3600,
        limit,
    )
    out = []
    for r in rows:
        res = json.loads(r["result"])
        out.append(
            Evidence(
                analysis_id=r["id"],
                treatment=str(res["treatment"]),
                outcome=str(res["outcome"]),
                effect=float(res["effect"]),
                ci_low=float(res["ci_low"]),
                ci_high=float(res["ci_high"]),
                verdict=Verdict(res["verdict"]),
            )
        )
    return out


async def most_exposed(conn: asyncpg.Connection, treatment: str, k: int) -> tuple[list[str], list[str]]:
    """The k people with the highest treatment (latest value each), or the two least-connected teams."""
    if treatment not in METRIC_COLUMNS:
        return [], []
    latest = f"""SELECT DISTINCT ON (employee) employee, team, {treatment} AS v FROM employee_metrics
                 WHERE {treatment} IS NOT NULL ORDER BY employee, time DESC"""
    if treatment == "cross_team_ratio":
        rows = await conn.fetch(
            f"SELECT team FROM ({latest}) l WHERE team IS NOT NULL GROUP BY team ORDER BY avg(v), team LIMIT 2"
        )
        return [], [r["team"] for r in rows]
    rows = await conn.fetch(f"SELECT employee FROM ({latest}) l ORDER BY v DESC, employee LIMIT $1", k)
    return [r["employee"] for r in rows], []


async def evaluate(conn: asyncpg.Connection, settings: Settings, lookback_hours: float) -> list[Any]:
    """Workflow inputs for every automatic proposal the recent robust findings justify."""
    inputs = []
    for evidence in await robust_findings(conn, lookback_hours):
        type_ = suggest_type(evidence)
        if type_ is None:
            continue
        people, teams = await most_exposed(conn, evidence.treatment, settings.interventions.cycle.max_people)
        if type_ is InterventionType.CROSS_TEAM_INTRODUCTION and len(teams) < 2:
            continue
        if type_ is not InterventionType.CROSS_TEAM_INTRODUCTION and not people:
            continue
        proposal = automatic_proposal(Finding(evidence, tuple(people), tuple(teams)))
        if proposal is not None:
            inputs.append(build_input(proposal, settings))
    return inputs
