"""Live updates for the web app: what changed, told to each open page it may concern.

One hub per process listens to what the project already publishes and turns it into *topics*:

- ``graph``: the graph updater's ``graph_changed_channel`` (a batch was applied);
- ``metrics``: a cache invalidation naming ``metrics:*`` (a metrics refresh finished);
- ``interventions``: a new row in the intervention audit log (every status change writes one);
- ``analyses``: an analysis row changed (queued, progress, finished);
- ``operations``: any of the above, for the admin's operations page.

The last two are found by polling PostgreSQL (``web_live_poll_s``; one query per process, not
per page). Each subscriber holds a bounded queue; a slow page loses old notifications, never
blocks the hub (a notification only says "re-read", so dropping duplicates is harmless).

Messages are filtered per subscriber by permission and carry **no data**: a topic, a sequence
number and a time. The page re-reads what it shows through routes that apply the role's view;
so a WebSocket frame can never carry a person's pseudonym, whatever the source message held.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.adapters.postgres.change_markers import read_change_markers
from shared.platform.auth import Permission

if TYPE_CHECKING:
    from shared.platform.resources import Resources

log = logging.getLogger(__name__)

TOPIC_PERMISSIONS: dict[str, Permission] = {
    "graph": Permission.READ_TEAM_AGGREGATES,
    "metrics": Permission.READ_TEAM_AGGREGATES,
    "interventions": Permission.READ_INTERVENTIONS,
    "analyses": Permission.RUN_ANALYSES,
    "operations": Permission.ADMIN_OPERATIONS,
}
QUEUE_SIZE = 64


def allowed_topics(permissions: frozenset[Permission]) -> frozenset[str]:
    return frozenset(t for t, p in TOPIC_PERMISSIONS.items() if p in permissions)


def topics_of_invalidation(raw: str) -> set[str]:
    """``metrics`` when an invalidation message names the metrics namespace."""
    try:
        patterns = json.loads(raw)
    except ValueError:
        return set()
    if isinstance(patterns, list) and any(":metrics:" in str(p) or str(p).startswith("metrics:") for p in patterns):
        return {"metrics"}
    return set()


@dataclass(eq=False)  # hashed by identity: one per open socket
class Subscription:
    topics: frozenset[str]
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))

    def offer(self, message: dict[str, Any]) -> None:
        if message["topic"] not in self.topics:
            return
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(message)


class LiveHub:
    """Fans notifications out to subscribers. Lives on ``app.state``; started on first use."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self.settings = resources.settings
        self.subscribers: set[Subscription] = set()
        self.sequence = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._start_lock = asyncio.Lock()

    async def ensure_started(self) -> None:
        async with self._start_lock:
            if not self._tasks:
                self._tasks = [
                    asyncio.create_task(self._listen(), name="live-pubsub"),
                    asyncio.create_task(self._poll(), name="live-poll"),
                ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    @contextlib.asynccontextmanager
    async def subscribe(self, permissions: frozenset[Permission], wanted: set[str]) -> AsyncIterator[Subscription]:
        """A subscription to the wanted topics this permission set may see (others silently dropped)."""
        await self.ensure_started()
        sub = Subscription(topics=frozenset(wanted) & allowed_topics(permissions))
        self.subscribers.add(sub)
        try:
            yield sub
        finally:
            self.subscribers.discard(sub)

    def publish(self, *topics: str) -> None:
        for topic in {*topics, "operations"}:
            self.sequence += 1
            message = {"type": "changed", "topic": topic, "seq": self.sequence, "at": round(time.time(), 3)}
            for sub in list(self.subscribers):
                sub.offer(message)

    async def _listen(self) -> None:
        """Redis pub/sub: graph changes and cache invalidations; reconnects with backoff."""
        redis = self.resources.redis
        channels = {self.settings.graph.changed_channel: "graph", self.settings.cache.channel: "invalidation"}
        backoff = 0.5
        while True:
            pubsub = redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*channels)
                backoff = 0.5
                while True:
                    message = await pubsub.get_message(timeout=5.0)
                    if message is None:
                        continue
                    channel = message["channel"]
                    channel = channel.decode() if isinstance(channel, bytes) else str(channel)
                    data = message["data"]
                    text = data.decode(errors="replace") if isinstance(data, bytes) else str(data)
                    if channels.get(channel) == "graph":
                        self.publish("graph")
                    else:
                        found = topics_of_invalidation(text)
                        if found:
                            self.publish(*found)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis down: retry, the pages fall back to re-reading
                log.warning("live hub: pub/sub failed (%s); retrying in %.1fs", type(exc).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _poll(self) -> None:
        """PostgreSQL: the audit log's last id and the analyses' last change."""
        last: dict[str, Any] = {}
        while True:
            try:
                markers = await read_change_markers(self.resources.pg)
                seen = (("interventions", markers.audit_last_id), ("analyses", markers.analyses_last_change))
                for topic, value in seen:
                    if topic in last and last[topic] != value:
                        self.publish(topic)
                    last[topic] = value
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - PostgreSQL down: keep trying
                log.warning("live hub: poll failed (%s)", type(exc).__name__)
            await asyncio.sleep(self.settings.web.live_poll_s)
