"""Shared helpers for ingestion tests: real email-Eu-core events and independently computed totals."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.adapters.datasets import eu_core_temporal
from shared.domain.events import InteractionEvent, validation_context
from shared.domain.privacy import pseudonymise

SPAN_S = 150 * 86_400


@dataclass
class Expected:
    pair_counts: Counter[tuple[str, str]]
    out_degree: Counter[str]
    in_degree: Counter[str]
    out_weight: Counter[str]
    in_weight: Counter[str]


def eu_core_events(data_dir: Path, limit: int, now: datetime | None = None) -> list[InteractionEvent]:
    """The first ``limit`` real emails (self-loops skipped), timestamps mapped into the last 80 days."""
    now = now or datetime.now(UTC)
    start = now - timedelta(days=80)
    context = validation_context(now, 90)
    events: list[InteractionEvent] = []
    for line_no, (src, dst, seconds) in enumerate(eu_core_temporal(data_dir)):
        if len(events) >= limit:
            break
        if src == dst:
            continue
        at = start + timedelta(seconds=seconds * (80 * 86_400) / SPAN_S)
        events.append(
            InteractionEvent.model_validate(
                {
                    "event_id": f"eu-{line_no}",
                    "kind": "email",
                    "actor": f"emp{src}@eu.example",
                    "participants": [f"emp{dst}@eu.example"],
                    "occurred_at": at.isoformat(),
                },
                context=context,
            )
        )
    return events


def expected_totals(events: list[InteractionEvent], key: bytes) -> Expected:
    """Totals computed straight from the input, independently of the ledger code."""
    pairs: Counter[tuple[str, str]] = Counter()
    for ev in events:
        a = pseudonymise(ev.actor, key)
        for p in ev.participants:
            pairs[(a, pseudonymise(p, key))] += 1
    out_degree: Counter[str] = Counter()
    in_degree: Counter[str] = Counter()
    out_weight: Counter[str] = Counter()
    in_weight: Counter[str] = Counter()
    for (s, d), n in pairs.items():
        out_degree[s] += 1
        in_degree[d] += 1
        out_weight[s] += n
        in_weight[d] += n
    return Expected(pairs, out_degree, in_degree, out_weight, in_weight)
