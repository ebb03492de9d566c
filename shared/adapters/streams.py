"""Redis Streams: the durable queue between the ingest functions and the graph updater.

Trimming policy: every XADD trims to ``maxlen`` with the ``ACKED`` reference policy (Redis 8.2+),
which only removes entries acknowledged by *every* consumer group, so an unconsumed entry is
never trimmed. Exact, not approximate: on Redis 8.2.3 ``MAXLEN ~ N ACKED`` was measured to trim
nothing at all, even with whole acknowledged nodes (tests/ingest/test_stream_trimming.py).
The group is created before anything is published, because with no group at all every entry
would count as acknowledged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

ENTRY_FIELD = b"e"
TRACE_FIELDS = (b"traceparent", b"tracestate")  # W3C trace context of the request that appended it


@dataclass(frozen=True)
class StreamEntry:
    entry_id: bytes
    payload: bytes
    trace_context: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamNames:
    stream: str
    group: str
    dead_letter: str


async def ensure_group(client: aioredis.Redis, names: StreamNames) -> None:
    """Create the stream and its consumer group from the beginning (idempotent)."""
    try:
        await client.xgroup_create(names.stream, names.group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def publish(
    client: aioredis.Redis,
    stream: str,
    payloads: Sequence[bytes],
    maxlen: int,
    trace_context: Mapping[str, str] | None = None,
) -> list[bytes]:
    """Append payloads in one round trip (MULTI/EXEC: all or none are appended), each carrying
    ``trace_context`` (W3C headers) so the consumer continues the producer's trace."""
    carried = {k.encode(): v.encode() for k, v in (trace_context or {}).items() if k.encode() in TRACE_FIELDS}
    async with client.pipeline(transaction=True) as pipe:
        for payload in payloads:
            fields = {ENTRY_FIELD: payload, **carried}
            pipe.xadd(stream, fields, maxlen=maxlen, approximate=False, ref_policy="ACKED")  # type: ignore[arg-type]
        ids: list[bytes] = await pipe.execute()
    return ids


def _entries(raw: Any) -> list[StreamEntry]:
    out: list[StreamEntry] = []
    for entry_id, fields in raw:
        if fields is None:  # deleted while pending
            out.append(StreamEntry(entry_id, b""))
        else:
            context = {k.decode(): fields[k].decode() for k in TRACE_FIELDS if k in fields}
            out.append(StreamEntry(entry_id, fields.get(ENTRY_FIELD, b""), context))
    return out


async def read_new(
    client: aioredis.Redis, names: StreamNames, consumer: str, count: int, block_ms: int
) -> list[StreamEntry]:
    reply: Any = await client.xreadgroup(names.group, consumer, {names.stream: ">"}, count=count, block=block_ms)
    if not reply:
        return []
    return _entries(reply[0][1])


async def read_own_pending(client: aioredis.Redis, names: StreamNames, consumer: str, count: int) -> list[StreamEntry]:
    """Entries already delivered to ``consumer`` and not acknowledged (its state before a restart)."""
    reply: Any = await client.xreadgroup(names.group, consumer, {names.stream: "0"}, count=count)
    if not reply:
        return []
    return _entries(reply[0][1])


async def claim_stale(
    client: aioredis.Redis, names: StreamNames, consumer: str, min_idle_ms: int, count: int
) -> list[StreamEntry]:
    """Take over entries another (dead) consumer left pending for longer than ``min_idle_ms``."""
    reply: Any = await client.xautoclaim(names.stream, names.group, consumer, min_idle_ms, "0-0", count=count)
    return _entries(reply[1])


async def delivery_counts(client: aioredis.Redis, names: StreamNames, ids: Sequence[bytes]) -> dict[bytes, int]:
    """How many times each pending entry was delivered (XPENDING's extended form)."""
    if not ids:
        return {}
    rows = await client.xpending_range(names.stream, names.group, min=min(ids), max=max(ids), count=len(ids) * 4 + 16)
    wanted = set(ids)
    return {r["message_id"]: int(r["times_delivered"]) for r in rows if r["message_id"] in wanted}


async def ack(client: aioredis.Redis, names: StreamNames, ids: Sequence[bytes]) -> int:
    if not ids:
        return 0
    return int(await client.xack(names.stream, names.group, *ids))


async def dead_letter(client: aioredis.Redis, names: StreamNames, entries: Sequence[tuple[StreamEntry, str]]) -> None:
    """Move poison entries to the dead-letter stream with the reason, then ack them (atomically)."""
    if not entries:
        return
    async with client.pipeline(transaction=True) as pipe:
        for entry, reason in entries:
            pipe.xadd(
                names.dead_letter,
                {b"source_id": entry.entry_id, ENTRY_FIELD: entry.payload, b"reason": reason.encode()[:1000]},
            )
        pipe.xack(names.stream, names.group, *[e.entry_id for e, _ in entries])
        await pipe.execute()


async def lag(client: aioredis.Redis, names: StreamNames) -> dict[str, int]:
    """Pending + undelivered entries of the group: what KEDA scales on."""
    try:
        groups = await client.xinfo_groups(names.stream)
    except ResponseError:
        return {"lag": 0, "pending": 0}
    for group in groups:
        name = group["name"].decode() if isinstance(group["name"], bytes) else group["name"]
        if name == names.group:
            return {"lag": int(group.get("lag") or 0), "pending": int(group.get("pending") or 0)}
    return {"lag": 0, "pending": 0}
