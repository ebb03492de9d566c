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

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.adapters.graph.cypher import DELETE_TIES
from shared.adapters.postgres.ledger_maintenance import Recomputed, recompute_totals
from shared.adapters.postgres.metrics_store import MetricsStore
from shared.platform.resources import Resources
from shared.platform.settings import Settings
from shared.services import data_audit
from shared.services.exports import sweep_exports

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cutoffs:
    interactions: datetime
    receipts: datetime
    outcomes: datetime
    attributes: datetime
    analyses: datetime
    summaries: datetime
    metrics_raw: timedelta
    metrics_rollup: timedelta

    @classmethod
    def at(cls, now: datetime, s: Settings) -> Cutoffs:
        return cls(
            interactions=now - timedelta(days=s.privacy.raw_retention_days),
            receipts=now - timedelta(days=s.privacy.raw_retention_days + s.privacy.receipts_grace_days),
            outcomes=now - timedelta(days=s.privacy.outcomes_retention_days),
            attributes=now - timedelta(days=s.privacy.attributes_retention_days),
            analyses=now - timedelta(days=s.privacy.analyses_retention_days),
            summaries=now - timedelta(days=s.privacy.summaries_retention_days),
            metrics_raw=timedelta(days=s.metrics.raw_retention_days),
            metrics_rollup=timedelta(days=s.metrics.rollup_retention_days),
        )


# table -> (count query, delete query); $1 is the cutoff
_SIMPLE: dict[str, tuple[str, str]] = {
    "outcomes": (
        "SELECT count(*) FROM outcomes WHERE recorded_at < $1",
        "DELETE FROM outcomes WHERE recorded_at < $1",
    ),
    "employee_attributes": (
        "SELECT count(*) FROM employee_attributes WHERE updated_at < $1",
        "DELETE FROM employee_attributes WHERE updated_at < $1",
    ),
    "analyses": (
        "SELECT count(*) FROM analyses WHERE created_at < $1 AND status IN ('succeeded', 'failed', 'cancelled')",
        "DELETE FROM analyses WHERE created_at < $1 AND status IN ('succeeded', 'failed', 'cancelled')",
    ),
    "metrics_summaries": (
        """SELECT count(*) FROM metrics_summaries WHERE computed_at < $1
             AND run_id <> (SELECT run_id FROM metrics_summaries ORDER BY computed_at DESC LIMIT 1)""",
        """DELETE FROM metrics_summaries WHERE computed_at < $1
             AND run_id <> (SELECT run_id FROM metrics_summaries ORDER BY computed_at DESC LIMIT 1)""",
    ),
}


async def run_retention(
    resources: Resources, now: datetime | None = None, dry_run: bool = False, actor: str = "retention-job"
) -> dict[str, Any]:
    """Apply (or, with ``dry_run``, measure) every retention rule at ``now``; returns the report."""
    settings = resources.settings
    now = now or datetime.now(UTC)
    cut = Cutoffs.at(now, settings)
    async with resources.pg.acquire() as conn:
        run_id = int(
            await conn.fetchval(
                "INSERT INTO retention_runs (dry_run, now_at) VALUES ($1, $2) RETURNING id", dry_run, now
            )
        )
    report: dict[str, Any] = {"run_id": run_id, "dry_run": dry_run, "now": now.isoformat(), "deleted": {}}
    deleted: dict[str, int] = report["deleted"]
    report["cutoffs"] = {
        "interactions": cut.interactions.isoformat(),
        "event_receipts": cut.receipts.isoformat(),
        "outcomes": cut.outcomes.isoformat(),
        "employee_attributes": cut.attributes.isoformat(),
        "analyses": cut.analyses.isoformat(),
        "metrics_summaries": cut.summaries.isoformat(),
    }
    if dry_run:
        async with resources.pg.acquire() as conn:
            deleted["interactions"] = int(
                await conn.fetchval("SELECT count(*) FROM interactions WHERE occurred_at < $1", cut.interactions)
            )
            deleted["event_receipts"] = int(
                await conn.fetchval("SELECT count(*) FROM event_receipts WHERE occurred_at < $1", cut.receipts)
            )
            for table, (count_sql, _) in _SIMPLE.items():
                deleted[table] = int(await conn.fetchval(count_sql, _cutoff(cut, table)))
            deleted["employee_metrics"] = int(
                await conn.fetchval("SELECT count(*) FROM employee_metrics WHERE time < $1", now - cut.metrics_raw)
            )
    else:
        pairs, people, graph_ties = await _expire_interactions(resources, cut.interactions)
        deleted["interactions"] = pairs
        report["totals_recomputed"] = {"people": people, "ties_removed_from_graph": graph_ties}
        async with resources.pg.acquire() as conn:
            deleted["event_receipts"] = _count(
                await conn.execute("DELETE FROM event_receipts WHERE occurred_at < $1", cut.receipts)
            )
            for table, (_, delete_sql) in _SIMPLE.items():
                deleted[table] = _count(await conn.execute(delete_sql, _cutoff(cut, table)))
        deleted["employee_metrics"] = await MetricsStore(resources.pg).retention(
            now, cut.metrics_raw, cut.metrics_rollup
        )
    report["exports"] = await sweep_exports(resources, now, dry_run=dry_run)
    async with resources.pg.acquire() as conn:
        await conn.execute(
            "UPDATE retention_runs SET finished_at = clock_timestamp(), report = $2::jsonb WHERE id = $1",
            run_id,
            json.dumps(report),
        )
    if not dry_run:
        await data_audit.record(
            resources.pg,
            settings.audit.key,
            event="retention.applied",
            actor=actor,
            subject=f"retention:{run_id}",
            details=report,
        )
    return report


def _cutoff(cut: Cutoffs, table: str) -> datetime:
    return {
        "outcomes": cut.outcomes,
        "employee_attributes": cut.attributes,
        "analyses": cut.analyses,
        "metrics_summaries": cut.summaries,
    }[table]


def _count(status: str) -> int:
    """Rows affected, from asyncpg's command tag ("DELETE 12")."""
    return int(status.rsplit(" ", 1)[-1])


async def _expire_interactions(resources: Resources, cutoff: datetime) -> tuple[int, int, int]:
    """Delete old interactions batch by batch, recomputing the touched totals in each batch's
    transaction, then project the new values to the graph. Returns (rows, people, ties removed)."""
    batch = resources.settings.privacy.retention_batch_rows
    rows_total, people_total, ties_removed = 0, 0, 0
    while True:
        async with resources.pg.acquire() as conn, conn.transaction():
            gone = await conn.fetch(
                """DELETE FROM interactions WHERE ctid = ANY(ARRAY(
                       SELECT ctid FROM interactions WHERE occurred_at < $1 LIMIT $2))
                   RETURNING src, dst""",
                cutoff,
                batch,
            )
            if not gone:
                break
            pairs = {(r["src"], r["dst"]) for r in gone}
            changed = await recompute_totals(conn, sorted(pairs), [])
        rows_total += len(gone)
        people_total += len(changed.people)
        ties_removed += await project(resources, changed)
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
