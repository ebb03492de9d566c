"""The observability tests' fixtures (the API tests' settings with this session's keys, tokens for
every role) and helpers they share: a batch of events, the spans the processes exported, a Sentry
transport that keeps what it would send."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from tests.api.conftest import api_settings, mint

__all__ = ["RELEASE", "CapturingTransport", "api_settings", "events", "mint", "read_spans", "wait_span"]

RELEASE = "causal-organism@1.2.3-test"


class CapturingTransport(Transport):
    """Keeps every envelope instead of sending it."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def events(self) -> list[dict[str, Any]]:
        return [
            item.payload.json
            for envelope in self.envelopes
            for item in envelope.items
            if item.type == "event" and item.payload.json is not None
        ]

    def raw(self) -> bytes:
        return b"".join(envelope.serialize() for envelope in self.envelopes)


def events(n: int) -> dict[str, object]:
    """A valid batch of ``n`` interaction events, happening now."""
    at = datetime.now(UTC).isoformat()
    return {
        "events": [
            {
                "event_id": f"obs-{uuid.uuid4().hex}",
                "kind": "email",
                "actor": f"a{i}@obs.example",
                "participants": [f"b{i}@obs.example"],
                "occurred_at": at,
            }
            for i in range(n)
        ]
    }


def read_spans(directory: Path) -> list[dict[str, str]]:
    """Every span of every file as {service, name, trace_id, span_id, parent, links}."""
    spans: list[dict[str, str]] = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            for resource_spans in json.loads(line)["resourceSpans"]:
                attrs = {a["key"]: a["value"].get("stringValue") for a in resource_spans["resource"]["attributes"]}
                for scope in resource_spans["scopeSpans"]:
                    for span in scope["spans"]:
                        spans.append(
                            {
                                "service": str(attrs["service.name"]),
                                "file": path.name,
                                "name": span["name"],
                                "trace_id": span["traceId"],
                                "span_id": span["spanId"],
                                "parent": span.get("parentSpanId", ""),
                            }
                        )
    return spans


def wait_span(directory: Path, trace_id: str, service: str, name: str, timeout_s: float = 30) -> None:
    """Spans are exported in batches (about every second): wait for one before stopping its process."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any((s["trace_id"], s["service"], s["name"]) == (trace_id, service, name) for s in read_spans(directory)):
            return
        time.sleep(0.25)
    raise AssertionError(f"no span {name!r} of {service} in trace {trace_id}")
