"""Graph updater use case: stream -> ledger (exactly once) -> graph projection -> ack.

The order is what makes it crash-safe: effects are committed in PostgreSQL before the graph is
written, and the stream entries are acknowledged only after both. Any crash before the ack
means redelivery; a redelivered batch adds nothing to the ledger and rewrites the same absolute,
versioned values to the graph. See docs/ingestion.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from pydantic import ValidationError

from shared.adapters.graph.base import GraphStore, GraphStoreUnavailable
from shared.adapters.postgres.ledger import AppliedBatch, apply_events
from shared.adapters.postgres.pool import PgPool
from shared.adapters.streams import (
    StreamEntry,
    StreamNames,
    ack,
    claim_stale,
    dead_letter,
    delivery_counts,
    ensure_group,
    read_new,
    read_own_pending,
)
from shared.domain.events import StoredEvent
from shared.platform.caching import invalidate
from shared.platform.observability import ConsumerMetrics
from shared.platform.settings import Settings
from shared.platform.tracing import batch_span, tracer
from shared.services.ingest import stream_names

log = logging.getLogger(__name__)

# cached reads that show graph values (degree, ties, stats): dropped after every applied batch
GRAPH_CACHE_NAMESPACES = ("graph:*", "metrics:*")


@dataclass
class UpdaterStats:
    batches: int = 0
    events_applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    claimed: int = 0
    failures: int = 0
    last_batch_s: float = 0.0
    batch_seconds: list[float] = field(default_factory=list)


class GraphUpdater:
    """One consumer in the group. Several share the work; KEDA scales them on the group's lag."""

    def __init__(
        self,
        settings: Settings,
        redis: aioredis.Redis,
        pg: PgPool,
        graph: GraphStore,
        consumer: str,
        metrics: ConsumerMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.redis = redis
        self.pg = pg
        self.graph = graph
        self.consumer = consumer
        self.names: StreamNames = stream_names(settings)
        self.stats = UpdaterStats()
        self._last_claim = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; the batch in hand is finished and acked first."""
        await ensure_group(self.redis, self.names)
        await self._drain_own_pending()
        while not stop.is_set():
            await self.step()

    async def step(self) -> int:
        """One iteration: claim stale entries when due, else read new ones. Returns entries handled."""
        now = time.monotonic()
        if now - self._last_claim >= self.settings.ingest.consumer_claim_idle_ms / 2000:
            self._last_claim = now
            handled = await self._claim_and_process()
            if handled:
                return handled
        entries = await read_new(
            self.redis,
            self.names,
            self.consumer,
            self.settings.ingest.consumer_batch,
            self.settings.ingest.consumer_block_ms,
        )
        if entries:
            await self.process(entries)
        return len(entries)

    async def _drain_own_pending(self) -> None:
        """Entries this consumer name was given before a restart, reprocessed first."""
        while True:
            entries = await read_own_pending(self.redis, self.names, self.consumer, self.settings.ingest.consumer_batch)
            if not entries:
                return
            before = self.stats.events_applied + self.stats.duplicates + self.stats.dead_lettered
            await self._process_with_limits(entries)
            after = self.stats.events_applied + self.stats.duplicates + self.stats.dead_lettered
            if after == before:
                return  # nothing could be settled now; the claim loop retries later

    async def _claim_and_process(self) -> int:
        entries = await claim_stale(
            self.redis,
            self.names,
            self.consumer,
            self.settings.ingest.consumer_claim_idle_ms,
            self.settings.ingest.consumer_batch,
        )
        if not entries:
            return 0
        self.stats.claimed += len(entries)
        await self._process_with_limits(entries)
        return len(entries)

    async def _process_with_limits(self, entries: list[StreamEntry]) -> None:
        counts = await delivery_counts(self.redis, self.names, [e.entry_id for e in entries])
        limit = self.settings.ingest.consumer_max_deliveries
        poison = [(e, f"failed {counts[e.entry_id]} deliveries") for e in entries if counts.get(e.entry_id, 0) > limit]
        if poison:
            await dead_letter(self.redis, self.names, poison)
            self._count_dead_letters(len(poison))
        dead = {e.entry_id for e, _ in poison}
        rest = [e for e in entries if e.entry_id not in dead]
        if rest:
            await self.process(rest)

    async def process(self, entries: Sequence[StreamEntry]) -> None:
        """Apply a batch; on failure retry entry by entry so one bad entry cannot block the rest.
        Traced as one consumer span continuing the first entry's trace (see shared/platform/tracing.py)."""
        with batch_span(
            "graph-updater batch",
            [e.trace_context for e in entries],
            **{"messaging.system": "redis", "messaging.batch.message_count": len(entries)},
        ):
            await self._process(entries)

    async def _process(self, entries: Sequence[StreamEntry]) -> None:
        started = time.perf_counter()
        parsed, poison = _parse(entries)
        if poison:
            await dead_letter(self.redis, self.names, poison)
            self._count_dead_letters(len(poison))
        if not parsed:
            return
        try:
            await self._apply([e for e, _ in parsed], [ev for _, ev in parsed])
        except GraphStoreUnavailable:
            # The store is down or restarting: nothing is wrong with any entry, so isolating them
            # one by one would only fail (or crawl) entry after entry - measured 295 s for two
            # 4,000-entry batches after a kill -9 of FalkorDB. Wait for it, then retry whole.
            log.warning("graph store unavailable; retrying the batch of %d once it answers", len(parsed))
            self.stats.failures += 1
            if self.metrics is not None:
                self.metrics.failures.inc()
            if await self._wait_for_graph():
                try:
                    await self._apply([e for e, _ in parsed], [ev for _, ev in parsed])
                except Exception:  # noqa: BLE001 - left pending; the claim loop redelivers it
                    log.exception("batch of %d failed again; left pending for redelivery", len(parsed))
        except Exception:  # noqa: BLE001 - isolate the failing entry, leave it pending
            log.exception("batch of %d failed; retrying entries one by one", len(parsed))
            self.stats.failures += 1
            if self.metrics is not None:
                self.metrics.failures.inc()
            if len(parsed) > 1:
                for entry, event in parsed:
                    try:
                        await self._apply([entry], [event])
                    except Exception:  # noqa: BLE001
                        log.exception("entry %s failed; left pending for redelivery", entry.entry_id)
        elapsed = time.perf_counter() - started
        if self.metrics is not None:
            self.metrics.batch_duration.observe(elapsed)
        self.stats.last_batch_s = elapsed
        self.stats.batch_seconds.append(elapsed)
        if len(self.stats.batch_seconds) > 1000:
            del self.stats.batch_seconds[:500]

    async def _wait_for_graph(self) -> bool:
        """Ping the graph store until it answers, for at most the claim idle time (after that
        another consumer may take the entries over anyway)."""
        deadline = time.monotonic() + self.settings.ingest.consumer_claim_idle_ms / 1000
        while time.monotonic() < deadline:
            try:
                await self.graph.ping()
                return True
            except Exception:  # noqa: BLE001 - still down
                await asyncio.sleep(0.25)
        return False

    async def _apply(self, entries: Sequence[StreamEntry], events: Sequence[StoredEvent]) -> AppliedBatch:
        async with self.pg.acquire() as conn:
            applied = await apply_events(conn, events)
        with tracer().start_as_current_span("graph write", attributes={"graph.ties": len(applied.ties)}):
            await self.graph.upsert_ties(applied.ties)
            await self.graph.upsert_people(applied.people)
        await ack(self.redis, self.names, [e.entry_id for e in entries])
        self.stats.batches += 1
        self.stats.events_applied += applied.new_events
        self.stats.duplicates += applied.duplicate_events
        if self.metrics is not None:
            self.metrics.entries.labels("applied").inc(applied.new_events)
            self.metrics.entries.labels("duplicate").inc(applied.duplicate_events)
        if applied.new_events:
            await self._notify(applied)
        return applied

    def _count_dead_letters(self, count: int) -> None:
        self.stats.dead_lettered += count
        if self.metrics is not None:
            self.metrics.entries.labels("dead_lettered").inc(count)

    async def _notify(self, applied: AppliedBatch) -> None:
        """Tell readers who changed: Redis pub/sub (cache invalidation, live views) and a CloudEvent."""
        changed = sorted({p.id for p in applied.people})
        message = json.dumps({"people": changed, "changed": len(changed), "at": time.time()})
        await self.redis.publish(self.settings.graph.changed_channel, message)
        await invalidate(self, GRAPH_CACHE_NAMESPACES)
        if self.settings.ingest.events_sink_url:
            await _emit_cloudevent(self.settings.ingest.events_sink_url, changed)


def _parse(
    entries: Sequence[StreamEntry],
) -> tuple[list[tuple[StreamEntry, StoredEvent]], list[tuple[StreamEntry, str]]]:
    parsed: list[tuple[StreamEntry, StoredEvent]] = []
    poison: list[tuple[StreamEntry, str]] = []
    for entry in entries:
        if not entry.payload:
            poison.append((entry, "empty entry"))
            continue
        try:
            parsed.append((entry, StoredEvent.model_validate_json(entry.payload)))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
            poison.append((entry, f"invalid event: {problems}"))
    return parsed, poison


async def _emit_cloudevent(sink: str, changed: list[str]) -> None:
    """POST a structured ``com.causalorganism.graph.updated`` CloudEvent; failures are logged only."""
    import httpx
    from cloudevents.conversion import to_structured
    from cloudevents.http import CloudEvent

    event = CloudEvent(
        {"type": "com.causalorganism.graph.updated", "source": "/causal-organism/graph-updater"},
        {"people": changed[:1000], "changed": len(changed)},
    )
    headers, body = to_structured(event)
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            await client.post(sink, headers=headers, content=body)
    except httpx.HTTPError:
        log.warning("graph.updated CloudEvent not delivered to %s", sink)
