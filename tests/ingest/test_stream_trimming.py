"""The stream's trimming policy never trims entries a consumer group has not acknowledged."""

from __future__ import annotations

from shared.adapters.streams import StreamNames, ack, ensure_group, publish, read_new
from shared.platform.resources import Resources


async def test_unconsumed_entries_survive_trimming(resources: Resources, run_id: str) -> None:
    names = StreamNames(f"test:{run_id}:trim", "graph-updater", f"test:{run_id}:trim:dead")
    redis = resources.redis
    await ensure_group(redis, names)
    await publish(redis, names.stream, [b"x"] * 2000, maxlen=10)
    assert await redis.xlen(names.stream) == 2000, "nothing was consumed: nothing may be trimmed"

    delivered = await read_new(redis, names, "c1", count=1500, block_ms=100)
    await publish(redis, names.stream, [b"y"], maxlen=10)
    assert await redis.xlen(names.stream) == 2001, "delivered but unacknowledged entries stay too"

    await ack(redis, names, [e.entry_id for e in delivered])
    await publish(redis, names.stream, [b"z"], maxlen=10)
    remaining = await redis.xlen(names.stream)
    assert remaining == 502, remaining  # every acknowledged entry trimmed, every other one kept
    rest = await read_new(redis, names, "c1", count=5000, block_ms=100)
    assert len(rest) == 502, "every unacknowledged entry is still delivered"
    await redis.delete(names.stream)
