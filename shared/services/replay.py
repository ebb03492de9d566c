"""Replays a SNAP email file as interaction events through the real ingest endpoint.

Temporal files (``src dst seconds``) keep their order and relative timing, mapped linearly into
the last ``span_days`` so every event is inside the raw retention window; static edge lists
(``src dst``) become one email per line spread evenly over the same span.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx


@dataclass
class ReplayReport:
    sent: int = 0
    accepted: int = 0
    skipped_self_loops: int = 0
    rejected_batches: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "events_sent": self.sent,
            "events_accepted": self.accepted,
            "skipped_self_loops": self.skipped_self_loops,
            "rejected_batches": self.rejected_batches,
            "elapsed_s": round(self.seconds, 3),
            "events_per_s": round(self.accepted / self.seconds, 1) if self.seconds else 0.0,
        }


def file_events(path: Path, *, span_days: float = 80.0, prefix: str | None = None) -> Iterator[dict[str, Any]]:
    """Events from a whitespace-separated SNAP file; ``prefix`` namespaces ids and people."""
    lines = [ln.split() for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    temporal = bool(lines) and len(lines[0]) >= 3
    last = max((int(f[2]) for f in lines), default=1) if temporal else len(lines)
    now = datetime.now(UTC) - timedelta(minutes=1)
    start = now - timedelta(days=span_days)
    scale = (span_days * 86_400) / max(last, 1)
    tag = prefix or path.stem
    for n, fields in enumerate(lines):
        src, dst = fields[0], fields[1]
        offset = int(fields[2]) if temporal else n
        yield {
            "event_id": f"{tag}-{n}",
            "kind": "email",
            "actor": f"{tag}:{src}",
            "participants": [f"{tag}:{dst}"],
            "occurred_at": (start + timedelta(seconds=offset * scale)).isoformat(),
        }


async def replay(
    events: Iterator[dict[str, Any]],
    *,
    url: str,
    token: str,
    rate: float | None,
    batch_size: int = 500,
    concurrency: int = 4,
) -> ReplayReport:
    """POST ``events`` in batches at ``rate`` events/s (None: as fast as the endpoint takes them)."""
    report = ReplayReport()
    queue: asyncio.Queue[list[dict[str, Any]] | None] = asyncio.Queue(maxsize=concurrency * 2)
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()

    async def sender(client: httpx.AsyncClient) -> None:
        while (batch := await queue.get()) is not None:
            response = await client.post(url, json={"events": batch}, headers=headers)
            if response.status_code == 202:
                report.accepted += int(response.json()["accepted"])
            else:
                report.rejected_batches += 1

    async with httpx.AsyncClient(timeout=60.0, limits=httpx.Limits(max_connections=concurrency)) as client:
        workers = [asyncio.create_task(sender(client)) for _ in range(concurrency)]
        batch: list[dict[str, Any]] = []
        for event in events:
            if event["actor"] == event["participants"][0]:
                report.skipped_self_loops += 1
                continue
            batch.append(event)
            if len(batch) >= batch_size:
                report.sent += len(batch)
                await queue.put(batch)
                batch = []
                if rate:
                    ahead = report.sent / rate - (time.perf_counter() - started)
                    if ahead > 0:
                        await asyncio.sleep(ahead)
        if batch:
            report.sent += len(batch)
            await queue.put(batch)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    report.seconds = time.perf_counter() - started
    return report
