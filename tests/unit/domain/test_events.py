"""Every bad input is rejected with field-level detail (pure domain tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from shared.domain.events import EventBatch, InteractionEvent, StoredEvent, pair_deltas, validation_context
from shared.domain.privacy import is_pseudonym, pseudonymise

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def event(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": "e-1",
        "kind": "email",
        "actor": "alice@example.org",
        "participants": ["bob@example.org"],
        "occurred_at": (NOW - timedelta(hours=1)).isoformat(),
    }
    base.update(over)
    return base


def problems(payload: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        InteractionEvent.model_validate(payload, context=validation_context(NOW, 90))
    return [(".".join(map(str, e["loc"])), e["msg"]) for e in info.value.errors()]


def test_valid_event_passes() -> None:
    ev = InteractionEvent.model_validate(event(), context=validation_context(NOW, 90))
    assert ev.occurred_at.tzinfo is not None


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        (event(kind="fax"), "kind", "Input should be"),
        (event(occurred_at="2026-11-30T10:00:00"), "occurred_at", "timezone"),
        (event(occurred_at=(NOW + timedelta(minutes=6)).isoformat()), "occurred_at", "future"),
        (event(occurred_at=(NOW - timedelta(days=91)).isoformat()), "occurred_at", "retention"),
        (event(participants=[]), "participants", "at least 1"),
        (event(participants=[f"p{i}" for i in range(101)]), "participants", "at most 100"),
        (event(participants=["ALICE@example.org"]), "", "self-interaction"),
        (event(participants=["b", "b"]), "", "duplicates"),
        (event(kind="meeting"), "", "duration_s"),
        (event(kind="meeting", duration_s=60, participants=[f"p{i}" for i in range(50)]), "", "at most 50"),
        (event(duration_s=60), "", "meetings only"),
        (event(event_id="has space"), "event_id", "pattern"),
        (event(unexpected="x"), "unexpected", "Extra inputs"),
        (event(actor="a\x00b"), "actor", "pattern"),
    ],
)
def test_bad_event_is_rejected_with_field_detail(payload: dict[str, Any], field: str, fragment: str) -> None:
    found = problems(payload)
    assert any(loc == field and fragment in msg for loc, msg in found), found


def test_oversized_batch_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        EventBatch.model_validate(
            {"events": [event(event_id=f"e{i}") for i in range(1001)]}, context=validation_context(NOW, 90)
        )
    assert info.value.errors()[0]["loc"] == ("events",)


def test_pseudonymisation_is_keyed_stable_and_case_insensitive() -> None:
    a = pseudonymise("Alice@Example.org", b"k1")
    assert a == pseudonymise("alice@example.org", b"k1")
    assert a != pseudonymise("alice@example.org", b"k2")
    assert is_pseudonym(a)
    stored = InteractionEvent.model_validate(event(), context=validation_context(NOW, 90)).pseudonymised(b"k1")
    assert "alice" not in stored.model_dump_json()


def test_meeting_expands_to_every_ordered_pair() -> None:
    stored = StoredEvent(
        event_id="m", kind="meeting", actor="a", participants=["b", "c"], occurred_at=1.0, duration_s=60
    )
    pairs = sorted(stored.ties())
    assert pairs == [("a", "b"), ("a", "c"), ("b", "a"), ("b", "c"), ("c", "a"), ("c", "b")]
    deltas = pair_deltas([stored, stored])
    assert {(d.src, d.dst): d.count for d in deltas} == {p: 2 for p in pairs}
