"""The full cycle with the other areas' real workflows as children, on the dev server: the
metrics refresh (workflows/metrics_refresh), one causal analysis (workflows/analysis) on a
seeded synthetic organisation loaded into a database and graph of this module's own, then
evaluation, which proposes one meeting-load cap from the analysis it just stored (and never
another module's robust findings)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from shared.adapters.postgres.audit import AuditStore
from shared.platform.resources import Needs, Resources
from shared.platform.settings import Settings
from tests.interventions.conftest import left, own_findings
from workflows.intervention.contract import CycleRequest


@pytest.fixture(scope="module")
async def org_resources(iv_settings: Settings, stack_env: dict[str, str], run_id: str) -> AsyncIterator[Resources]:
    async with own_findings(
        iv_settings, stack_env, run_id, "cycleint", Needs(graph=True, redis=True, pg=True, s3=True)
    ) as res:
        yield res


@pytest.mark.slow
async def test_full_cycle_with_real_refresh_and_analysis(org_resources: Resources) -> None:
    from shared.domain.analysis import Window
    from shared.domain.synthetic_org import generate_org
    from shared.services.synthetic_org import load_org
    from workflows.worker import collect

    resources, settings = org_resources, org_resources.settings
    # moderate team confounding: robust (a hidden confounder as strong as the team could not explain it)
    org = generate_org(seed=606, people=120, weeks=8, true_effect=-0.4, load_on_treatment=1.0, load_on_outcome=-1.0)
    await load_org(resources, org)
    spec = {
        **org.spec_kwargs(),
        "window": Window(start=org.weeks[0], end=org.weeks[-1]).model_dump(mode="json"),
        "refuter_simulations": 5,
    }
    workflows, activities = collect(resources)
    names = {w.__name__ for w in workflows}
    assert {"MetricsRefreshWorkflow", "AnalysisWorkflow", "InterventionCycleWorkflow"} <= names
    queue = f"cycle-int-{uuid.uuid4().hex[:6]}"
    client = await Client.connect(settings.temporal.address, namespace=settings.temporal.namespace)
    with ThreadPoolExecutor(8) as pool:
        async with Worker(client, task_queue=queue, workflows=workflows, activities=activities, activity_executor=pool):
            req = CycleRequest(mode="full", analyses=[spec], lookback_hours=1, initial_retry_s=1)
            result = await client.execute_workflow(
                "InterventionCycleWorkflow", req, id=f"{queue}-full", task_queue=queue
            )
            assert result["analyses"] == 1
            assert len(result["started"]) >= 1
            started = [client.get_workflow_handle(w) for w in result["started"]]
            snaps = [await left(h, "proposed") for h in started]  # its "proposed" event is written
            for h in started:
                await h.terminate("test over")
    caps = [s for s in snaps if s["type"] == "meeting_load_cap"]
    assert caps, snaps
    rows = await AuditStore(resources.pg, resources.settings.audit.key).query(
        intervention_id=caps[0]["intervention_id"], events=["proposed"]
    )
    evidence = rows[0].details["proposal"]["evidence"]
    assert evidence["verdict"] == "robust" and evidence["treatment"] == "meeting_hours"
    assert evidence["ci_low"] < org.true_effect < evidence["ci_high"]
    async with resources.pg.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT result->>'verdict' FROM analyses WHERE id::text = $1", evidence["analysis_id"]
        )
    assert stored == "robust"
