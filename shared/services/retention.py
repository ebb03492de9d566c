"""The retention job: one run removes everything past its retention period and reports it.

- raw ``interactions`` older than ``raw_retention_days`` (90): deleted in batches; each batch's
  pairs and people get their totals recomputed from what remains in the same transaction, and
  the graph is then given the new absolute values (ties left empty are deleted). Totals are
  therefore *windowed*: they describe the retained ledger, exactly what a rebuild gives.
- ``event_receipts`` older than ``raw_retention_days + receipts_grace_days``: the door refuses
  events older than ``raw_retention_days``, so a receipt is kept for as long as the door could
  accept its event again, plus a grace for events already queued in the stream.
- outcomes (by ``recorded_at``), attributes (not updated for ``attributes_retention_days``),
  analyses (by ``created_at``, finished ones), metric summaries (the latest always kept),
  metric history (its own raw/rollup retention) and exports (the export sweeper).

``dry_run`` counts what would go and changes nothing. Every run is recorded in
``retention_runs`` with its report, and audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.adapters.graph.cypher import DELETE_TIES
from shared.adapters.postgres.ledger_maintenance import Recomputed
from shared.adapters.postgres.metrics_store import MetricsStore
from shared.adapters.postgres.retention_store import RetentionStore
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from shared.services import audit
from shared.services.exports import sweep_exports
from workflows.data_retention.contract import RetentionReport, TotalsRecomputed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cutoffs:
    interactions: datetime
    receipts: datetime
    records: dict[str, datetime]  # per table the retention store expires by one date column
    metrics_raw: timedelta
    metrics_rollup: timedelta

    @classmethod
    def at(cls, now: datetime, s: Settings) -> Cutoffs:
        days = s.privacy
        return cls(
            interactions=now - timedelta(days=days.raw_retention_days),
            receipts=now - timedelta(days=days.raw_retention_days + days.receipts_grace_days),
            records={
                "outcomes": now - timedelta(days=days.outcomes_retention_days),
                "employee_attributes": now - timedelta(days=days.attributes_retention_days),
                "analyses": now - timedelta(days=days.analyses_retention_days),
                "metrics_summaries": now - timedelta(days=days.summaries_retention_days),
            },
            metrics_raw=timedelta(days=s.metrics.raw_retention_days),
            metrics_rollup=timedelta(days=s.metrics.rollup_retention_days),
        )


async def run_retention(
    resources: Resources, now: datetime | None = None, dry_run: bool = False, actor: str = "retention-job"
) -> RetentionReport:
    """Apply (or, with ``dry_run``, measure) every retention rule at ``now``; returns the report."""
    settings = resources.settings
    now = now or datetime.now(UTC)
    cut = Cutoffs.at(now, settings)
    store = RetentionStore(resources.pg)
    run_id = await store.start_run(dry_run, now)
    report = RetentionReport(run_id=run_id, dry_run=dry_run, now=now.isoformat())
    deleted = report.deleted
    report.cutoffs = {
        "interactions": cut.interactions.isoformat(),
        "event_receipts": cut.receipts.isoformat(),
        **{table: cutoff.isoformat() for table, cutoff in cut.records.items()},
    }
    metrics = MetricsStore(resources.pg)
    if dry_run:
        deleted["interactions"] = await store.count_interactions_before(cut.interactions)
        deleted["event_receipts"] = await store.count_receipts_before(cut.receipts)
        deleted.update(await store.count_records_before(cut.records))
        deleted["employee_metrics"] = await metrics.count_raw_history_before(now - cut.metrics_raw)
    else:
        pairs, people, graph_ties = await _expire_interactions(resources, store, cut.interactions)
        deleted["interactions"] = pairs
        report.totals_recomputed = TotalsRecomputed(people=people, ties_removed_from_graph=graph_ties)
        deleted["event_receipts"] = await store.delete_receipts_before(cut.receipts)
        deleted.update(await store.delete_records_before(cut.records))
        deleted["employee_metrics"] = await metrics.retention(now, cut.metrics_raw, cut.metrics_rollup)
    report.exports = await sweep_exports(resources, now, dry_run=dry_run)
    await store.finish_run(run_id, report.to_json())
    if not dry_run:
        await audit.record(
            resources.pg,
            settings.audit.key,
            event="retention.applied",
            actor=actor,
            subject=f"retention:{run_id}",
            details=report.to_json(),
        )
    return report


async def _expire_interactions(resources: Resources, store: RetentionStore, cutoff: datetime) -> tuple[int, int, int]:
    """Delete old interactions batch by batch (each batch's totals recomputed in its own
    transaction), then project the new values to the graph. Returns (rows, people, ties removed)."""
    batch = resources.settings.privacy.retention_batch_rows
    rows_total, people_total, ties_removed = 0, 0, 0
    while (expired := await store.expire_interactions_batch(cutoff, batch)) is not None:
        rows_total += expired.rows
        people_total += len(expired.changed.people)
        ties_removed += await project(resources, expired.changed)
    return rows_total, people_total, ties_removed


async def project(resources: Resources, changed: Recomputed) -> int:
    """Write recomputed totals to the graph (versioned absolute values); delete emptied ties."""
    graph = resources.graph
    if changed.ties:
        await graph.upsert_ties(changed.ties)
    if changed.people:
        await graph.upsert_people(changed.people)
    removed = 0
    step = resources.settings.graph.write_batch
    for i in range(0, len(changed.removed_pairs), step):
        chunk = [{"src": s, "dst": d} for s, d in changed.removed_pairs[i : i + step]]
        result = await graph.execute(DELETE_TIES, {"pairs": chunk})
        removed += int(result[0]["deleted"]) if result else 0
    return removed
