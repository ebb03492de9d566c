"""The demo's metrics stage: refresh the loaded graph, then show its top bridges and most overloaded teams."""

from __future__ import annotations

from collections.abc import Callable

from shared.adapters.postgres.metrics_store import MetricsStore
from shared.domain.privacy import band_count
from shared.domain.team_metrics import TeamSummary, most_overloaded
from shared.platform.resources import Resources
from shared.services.metrics_refresh import refresh_metrics


async def demo_stage(resources: Resources, out: Callable[[str], None]) -> None:
    """Demo: refresh the loaded graph, then show its top bridges and most overloaded teams."""
    result = await refresh_metrics(resources, trigger="demo", force=True)
    out(
        f"metrics refreshed (run {result.run_id}): {result.people} people, {result.ties} ties, "
        f"betweenness {result.mode}{f' ({result.pivots} pivots)' if result.pivots else ''}, "
        f"{result.duration_ms:.0f} ms (compute {result.compute_ms:.0f} ms, write-back "
        f"{result.writeback_ms:.0f} ms, history {result.history_ms:.0f} ms)"
    )
    summary = await MetricsStore(resources.pg).latest_summary()
    if summary is None:
        out("no metrics summary yet")
        return
    graph = summary["graph"]
    out(
        f"graph: density {graph['density']:.4f}, reciprocity {graph['reciprocity']:.3f}, "
        f"average clustering {graph['average_clustering']:.4f}"
    )
    out("top bridges (normalised betweenness; share of cross-team contacts):")
    for i, b in enumerate(summary["bridges"][:5], 1):
        ratio = "n/a" if b["cross_team_ratio"] is None else f"{b['cross_team_ratio']:.0%}"
        out(
            f"  {i}. {b['employee']} ({b['team'] or 'no team'}): betweenness {b['betweenness']:.4f}, "
            f"{b['network_size']} contacts, {ratio} cross-team, reaches {b['diverse_ties']} other teams"
        )
    teams = [TeamSummary(t["team"], t["members"], t["withheld"], t["figures"] or {}) for t in summary["teams"]]
    withheld = sum(1 for t in teams if t.withheld)
    out(
        f"most overloaded teams (load index = mean interaction volume per member / org mean; "
        f"{withheld} teams withheld by k-anonymity, k = {resources.settings.privacy.min_group_size}):"
    )
    for i, t in enumerate(most_overloaded(teams, 5), 1):
        f = t.figures
        out(
            f"  {i}. {t.team} ({band_count(t.members)}+ people): load index {f['load_index']:.2f}, "
            f"mean in-weight {f.get('mean_weighted_in', 0):.1f}, "
            f"cross-team ratio {f.get('mean_cross_team_ratio', 0):.0%}"
        )
