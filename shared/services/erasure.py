"""Erasing one person everywhere (the right to erasure), as steps a durable workflow runs in order.

Each step is idempotent, so a retried or resumed workflow repeats it safely:

1. ``ledger``: their interactions and totals go; every counterpart's pair and person totals are
   recomputed from what remains; the graph loses their node and ties and gets the counterparts'
   new absolute values. Event receipts stay: they hold no identifier, and they keep a re-sent
   copy of an erased event from being applied again (the door would accept it for 90 days).
2. ``history``: their metric history rows go; team series they were part of are recomputed
   without them (``ErasureStore.erase_history``); closed periods they appear in are recomputed
   from the ledger without them (issue 13's period metrics).
3. ``records``: outcomes, attributes and period rows keyed by them are deleted; JSON columns
   quoting them (intervention summaries, analyses, bridges) get ``p_erased`` instead; export
   parameters naming them are cleared; the audit log's personal payloads naming them (salts
   included) are deleted, so the chain still verifies (docs/security.md).
4. ``exports``: every export object is deleted (status ``erased``): a file made before the
   erasure may contain them, even as part of a team aggregate. They can be requested again.
5. ``metrics``: a forced refresh recomputes everyone's metrics on the graph without them, then
   older refresh summaries are dropped (their team means included the person).
6. ``redis``: stream entries carrying their pseudonym are deleted; cached responses dropped.
7. ``verify``: no table, graph node or Redis key still holds the pseudonym; the erasure record
   forgets the subject and an audit entry records the erasure by id and counts only.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any, cast

from shared.adapters.graph.cypher import DELETE_PERSON
from shared.adapters.objects import delete_object
from shared.adapters.postgres.erasure_store import ErasureRow, ErasureStore
from shared.adapters.postgres.exports_store import ExportsStore
from shared.adapters.postgres.window_ledger import ledger_span
from shared.domain.periods import period_at
from shared.platform.caching import invalidate
from shared.platform.resources import Resources
from shared.services import audit
from shared.services.graph_updater import GRAPH_CACHE_NAMESPACES
from shared.services.live_graph import tie_rules_from
from shared.services.metrics_refresh import definitions_from, refresh_metrics
from shared.services.period_metrics import write_period
from shared.services.retention import project
from workflows.erasure import client as erasure_client
from workflows.erasure.contract import ErasureOutcome, erasure_workflow_id

log = logging.getLogger(__name__)


class ErasureBusy(Exception):
    """A step must wait (another metrics refresh holds the lock); the activity is retried."""


async def _subject(resources: Resources, erasure_id: str) -> str:
    row = await ErasureStore(resources.pg).get(erasure_id)
    if row is None or row.subject is None:
        raise ValueError(f"erasure {erasure_id} has no subject (finished or unknown)")
    return row.subject


async def run_step(resources: Resources, erasure_id: str, step: str) -> dict[str, Any]:
    """Run one step for erasure ``erasure_id`` and record its counts in the erasure's report."""
    store = ErasureStore(resources.pg)
    person = await _subject(resources, erasure_id)
    result = await _STEP_FUNCTIONS[step](resources, person)
    await store.step_done(erasure_id, step, result)
    return result


async def _ledger(resources: Resources, person: str) -> dict[str, Any]:
    deleted, changed = await ErasureStore(resources.pg).erase_ledger(person)
    await resources.graph.execute(DELETE_PERSON, {"id": person})
    await project(resources, changed)
    return {"interactions": deleted, "counterparts_recomputed": len(changed.people), "ties": len(changed.removed_pairs)}


async def _history(resources: Resources, person: str) -> dict[str, Any]:
    store = ErasureStore(resources.pg)
    periods = await store.person_periods(person)
    result: dict[str, Any] = await store.erase_history(person)
    span = await ledger_span(resources.pg)
    settings = resources.settings
    defs, rules = definitions_from(settings), tie_rules_from(settings)
    rewritten = 0
    for kind, start in sorted(periods):
        period = period_at(kind, start)  # type: ignore[arg-type]
        if span is not None and period.start >= span[0]:  # the ledger still covers it: recompute
            await write_period(resources.pg, period, defs, rules, settings.privacy.min_group_size)
            rewritten += 1
    result["periods_recomputed"] = rewritten
    return result


async def _records(resources: Resources, person: str) -> dict[str, Any]:
    counts: dict[str, Any] = await ErasureStore(resources.pg).erase_rows_and_quotes(person)
    counts["audit_personal_payloads"] = await audit.forget_person(resources.pg, person)
    return counts


async def _exports(resources: Resources, person: str) -> dict[str, Any]:
    store = ExportsStore(resources.pg)
    exports = await store.with_objects()
    for export in exports:
        assert export.object_key is not None
        await asyncio.to_thread(delete_object, resources.s3, resources.settings.s3.bucket, export.object_key)
        await store.mark_deleted(export.id, "erased")
    return {"export_objects_deleted": len(exports)}


async def _metrics(resources: Resources, person: str) -> dict[str, Any]:
    result = await refresh_metrics(resources, trigger="erasure", force=True)
    if result.status != "succeeded":
        raise ErasureBusy(f"metrics refresh {result.status}: {result.skipped_reason}")
    dropped = await ErasureStore(resources.pg).drop_older_summaries(result.run_id)
    return {"refresh_run": result.run_id, "people": result.people, "older_summaries_dropped": dropped}


async def _redis(resources: Resources, person: str) -> dict[str, Any]:
    redis, settings = resources.redis, resources.settings
    needle = person.encode()
    removed = 0
    for stream in (settings.ingest.stream_name, settings.ingest.dead_letter_stream):
        after = "-"
        while True:
            page = cast(
                list[tuple[bytes, dict[bytes, bytes]]], await redis.xrange(stream, min=after, max="+", count=1000)
            )
            if not page:
                break
            hits = [eid for eid, fields in page if any(needle in v for v in fields.values())]
            if hits:
                removed += int(await redis.xdel(stream, *hits))
            after = "(" + page[-1][0].decode()  # exclusive: the next page starts after this entry
    keys = [k async for k in redis.scan_iter(match=f"*{person}*", count=1000)]
    if keys:
        await redis.unlink(*keys)
    cached = await invalidate(resources, list(GRAPH_CACHE_NAMESPACES))
    return {"stream_entries": removed, "keys": len(keys), "cached_responses": cached}


async def _verify(resources: Resources, person: str) -> dict[str, Any]:
    tables = await ErasureStore(resources.pg).traces(person)
    node = await resources.graph.get_person(person)
    keys = [k async for k in resources.redis.scan_iter(match=f"*{person}*", count=1000)]
    left = {"tables": tables, "graph_node": node is not None, "redis_keys": len(keys)}
    if tables or node is not None or keys:
        raise RuntimeError(f"traces remain after erasure: {left}")
    return left


_STEP_FUNCTIONS = {
    "ledger": _ledger,
    "history": _history,
    "records": _records,
    "exports": _exports,
    "metrics": _metrics,
    "redis": _redis,
    "verify": _verify,
}


async def complete(resources: Resources, erasure_id: str, status: str, error: str | None = None) -> ErasureOutcome:
    """Forget the subject in the erasure record and audit the erasure by id and counts only."""
    row = await ErasureStore(resources.pg).finish(erasure_id, status, error)
    await audit.record(
        resources.pg,
        resources.settings.audit.key,
        event=f"privacy.erasure_{status}",
        actor=row.requested_by,
        subject=f"erasure:{erasure_id}",
        details={
            "steps": sorted(row.report),
            "report": row.report,
            "error": error,
            "at": datetime.now(UTC).isoformat(),
        },
    )
    return ErasureOutcome(status, row.report)


async def start_erasure(resources: Resources, person: str, requested_by: str) -> tuple[str, bool]:
    """Record the erasure and start its workflow; a person already being erased gets that
    erasure back (second value False). The workflow's input is the erasure id only."""
    store = ErasureStore(resources.pg)
    running = await store.running_for(person)
    if running is not None:
        return running.id, False
    erasure_id = str(uuid.uuid4())
    await store.create(erasure_id, person, requested_by, erasure_workflow_id(erasure_id))
    client = await resources.temporal()
    await erasure_client.start(client, resources.settings.temporal.task_queue, erasure_id)
    return erasure_id, True


async def get_erasure(resources: Resources, erasure_id: str) -> ErasureRow | None:
    """One erasure's status and per-step report (counts only)."""
    return await ErasureStore(resources.pg).get(erasure_id)
