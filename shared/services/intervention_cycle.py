"""Evaluate interventions: robust analyses -> automatic proposals (the full cycle's last step).

Reads recent succeeded analyses whose verdict is robust, picks for each the people most exposed
to the treatment in the latest metrics (both reads: ``shared.adapters.postgres.intervention_findings``),
and returns the workflow inputs of the proposals the catalogue allows. Proposal ids are
fingerprints, so evaluating the same finding twice starts nothing new (Temporal refuses a second
workflow with the same id).
"""

from __future__ import annotations

from shared.adapters.postgres.intervention_findings import InterventionFindings
from shared.domain.interventions import Evidence, InterventionType, suggest_type
from shared.platform.settings import Settings
from shared.services.interventions import Finding, automatic_proposal, build_input
from workflows.intervention.contract import InterventionInput


async def robust_findings(findings: InterventionFindings, lookback_hours: float, limit: int = 20) -> list[Evidence]:
    """The evidence of recent robust analyses, exactly as their stored results say."""
    return [Evidence.from_result(aid, result) for aid, result in await findings.robust_results(lookback_hours, limit)]


async def evaluate(
    findings: InterventionFindings, settings: Settings, lookback_hours: float
) -> list[InterventionInput]:
    """Workflow inputs for every automatic proposal the recent robust findings justify."""
    inputs = []
    for evidence in await robust_findings(findings, lookback_hours):
        type_ = suggest_type(evidence)
        if type_ is None:
            continue
        people, teams = await findings.most_exposed(evidence.treatment, settings.interventions.cycle.max_people)
        if type_ is InterventionType.CROSS_TEAM_INTRODUCTION and len(teams) < 2:
            continue
        if type_ is not InterventionType.CROSS_TEAM_INTRODUCTION and not people:
            continue
        proposal = automatic_proposal(Finding(evidence, tuple(people), tuple(teams)))
        if proposal is not None:
            inputs.append(build_input(proposal, settings))
    return inputs
