"""Ingest use case: validated events are pseudonymised and appended to the stream.

Nothing here touches the ledger or the graph: the HTTP and CloudEvents functions return as soon
as the stream (durable, AOF) holds the events, and the graph updater does the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from shared.adapters.streams import StreamNames, ensure_group, publish
from shared.domain.events import InteractionEvent
from shared.platform.settings import Settings
from shared.platform.tracing import current_trace_context


def stream_names(settings: Settings) -> StreamNames:
    return StreamNames(settings.ingest.stream_name, settings.ingest.stream_group, settings.ingest.dead_letter_stream)


async def accept_events(settings: Settings, redis: aioredis.Redis, events: Sequence[InteractionEvent]) -> list[str]:
    """Pseudonymise and append ``events`` (all or none). Returns the accepted event ids."""
    key = settings.privacy.pseudonymisation_key
    memo: dict[str, str] = {}
    payloads = [e.pseudonymised(key, memo).model_dump_json().encode() for e in events]
    names = stream_names(settings)
    await ensure_group(redis, names)  # must exist before XADD ... ACKED trims anything
    await publish(redis, names.stream, payloads, settings.ingest.stream_maxlen, current_trace_context())
    return [e.event_id for e in events]
