"""Demo stage: networks over time (issue 13). Back-fills every closed week of the replayed
ledger, then shows the latest week's graph (ties dropped by the evidence rule, betweenness
mode and error bound) and the teams whose cross-team ratio changed most from the week before."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from shared.adapters.postgres.period_store import PeriodStore
from shared.domain.network_change import changes
from shared.domain.periods import previous
from shared.platform.resources import Resources
from shared.services.live_graph import tie_rules_from
from shared.services.metrics_refresh import definitions_from
from shared.services.period_metrics import backfill_in_process


async def demo_stage(resources: Resources, out: Callable[[str], None]) -> None:
    s = resources.settings
    periods = await backfill_in_process(
        resources.pg,
        "week",
        datetime.now(UTC),
        definitions_from(s),
        tie_rules_from(s),
        s.privacy.min_group_size,
        rewrite=True,
    )
    if not periods:
        out("no closed week in the ledger yet")
        return
    span = f"{periods[0].label} .. {periods[-1].label}"
    out(f"period history: {len(periods)} closed weeks back-filled from the ledger ({span})")
    store = PeriodStore(resources.pg)
    last = periods[-1]
    graph = (await store.period_graphs("week", last.label, last.end.date()))[0]
    bound = (
        "exact" if graph["mode"] == "exact" else f"sampled, within {graph['epsilon']:.3f} w.p. {1 - graph['delta']:.0%}"
    )
    out(
        f"week of {last.label}: {graph['people']} people, {graph['ties']} ties "
        f"({graph['dropped_pairs']} one-off pairs dropped by the evidence rule), betweenness {bound}"
    )
    before = previous("week", last)
    now_rows = {r["team"]: r for r in await store.teams_in_period("week", last.label)}
    prior = {r["team"]: r for r in await store.teams_in_period("week", before.label)}
    moved = []
    for team, row in now_rows.items():
        if row["withheld"] or team not in prior or prior[team]["withheld"]:
            continue
        delta = changes([prior[team], row])[1]["change_cross_team_ratio"]
        if delta is not None:
            moved.append((abs(delta), delta, team, row["cross_team_ratio"]))
    out("teams whose cross-team ratio moved most from the week before (teams under k withheld):")
    for _, delta, team, ratio in sorted(moved, reverse=True)[:3]:
        out(f"  {team}: {ratio:.0%} ({delta:+.0%} on the week before)")
