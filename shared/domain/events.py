"""Interaction events (schema v1): what arrives at the door, and what the ledger records.

An event says who interacted with whom, when, and how (never content). Validation is strict and
field-level; a batch is all-or-nothing (one bad item rejects the batch, nothing is written), so
a client can always retry the whole batch safely: event ids make retries idempotent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.domain.privacy import pseudonymise

EVENT_TYPE_V1 = "com.causalorganism.interaction.v1"
CLOUDEVENT_ID_PREFIX = "ce."  # ledger ids of CloudEvents: ce.<sha256(source)[:24]>:<id>; reserved
MAX_PARTICIPANTS = 100
MAX_MEETING_ATTENDEES = 50
MAX_BATCH_EVENTS = 1000
MAX_FUTURE_SKEW = timedelta(minutes=5)
INTERACTION_WEIGHT = 1.0  # every interaction counts once; meeting time is tracked separately

IdStr = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")]
EventId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-:.]+$")]
TeamName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]


class InteractionKind(StrEnum):
    EMAIL = "email"
    CHAT = "chat"
    MEETING = "meeting"
    CODE_REVIEW = "code_review"


class InteractionEvent(BaseModel):
    """One interaction as a client sends it (raw identifiers; pseudonymised before storage).

    ``actor`` sent the email or chat, organised the meeting, or reviewed the code;
    ``participants`` are the recipients, attendees or authors. ``teams`` optionally maps any of
    those people to a team name.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    schema_version: Literal[1] = 1
    event_id: EventId
    kind: InteractionKind
    actor: IdStr
    participants: list[IdStr] = Field(min_length=1, max_length=MAX_PARTICIPANTS)
    occurred_at: AwareDatetime
    duration_s: int | None = Field(default=None, ge=1, le=86_400)
    teams: dict[IdStr, TeamName] | None = Field(default=None, max_length=MAX_PARTICIPANTS + 1)

    @field_validator("event_id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value.startswith(CLOUDEVENT_ID_PREFIX):
            raise ValueError(f"event ids starting with {CLOUDEVENT_ID_PREFIX!r} are reserved for CloudEvents")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _within_window(cls, value: datetime, info: ValidationInfo) -> datetime:
        context = info.context or {}
        now: datetime = context.get("now") or datetime.now(UTC)
        retention_days: int = context.get("retention_days", 90)
        if value > now + MAX_FUTURE_SKEW:
            raise ValueError("timestamp is more than 5 minutes in the future")
        if value < now - timedelta(days=retention_days):
            raise ValueError(f"timestamp is older than the {retention_days}-day raw retention")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _coherent(self) -> InteractionEvent:
        people = [p.lower() for p in self.participants]
        if self.actor.lower() in people:
            raise ValueError("self-interaction: the actor is also a participant")
        if len(set(people)) != len(people):
            raise ValueError("participants contain duplicates")
        if self.kind is InteractionKind.MEETING:
            if self.duration_s is None:
                raise ValueError("meetings need duration_s")
            if len(people) + 1 > MAX_MEETING_ATTENDEES:
                raise ValueError(f"meetings have at most {MAX_MEETING_ATTENDEES} attendees")
        elif self.duration_s is not None:
            raise ValueError("duration_s applies to meetings only")
        if self.teams:
            known = {self.actor.lower(), *people}
            if any(k.lower() not in known for k in self.teams):
                raise ValueError("teams names someone who is not in the event")
        return self

    def pseudonymised(self, key: bytes, memo: dict[str, str] | None = None) -> StoredEvent:
        """The event as it may be stored: pseudonyms only. ``memo`` reuses pseudonyms within a batch."""
        memo = {} if memo is None else memo

        def pseudo(raw: str) -> str:
            found = memo.get(raw)
            if found is None:
                found = memo[raw] = pseudonymise(raw, key)
            return found

        teams = {pseudo(k): v for k, v in (self.teams or {}).items()}
        # every field was validated on the way in: construct without validating again (hot path)
        return StoredEvent.model_construct(
            schema_version=1,
            event_id=self.event_id,
            kind=self.kind.value,
            actor=pseudo(self.actor),
            participants=[pseudo(p) for p in self.participants],
            occurred_at=self.occurred_at.timestamp(),
            duration_s=self.duration_s,
            teams=teams or None,
        )


def cloudevent_ledger_id(source: str, event_id: str) -> str:
    """The ledger id of a CloudEvent: the spec makes (source, id) unique, not id alone, so one
    producer can neither collide with nor pre-claim another producer's ids (nor the HTTP
    ingest's, which may not use the prefix)."""
    return f"{CLOUDEVENT_ID_PREFIX}{hashlib.sha256(source.encode()).hexdigest()[:24]}:{event_id}"


class EventBatch(BaseModel):
    """A batch of events, accepted or rejected as a whole."""

    model_config = ConfigDict(extra="forbid")

    events: list[InteractionEvent] = Field(min_length=1, max_length=MAX_BATCH_EVENTS)


class StoredEvent(BaseModel):
    """The pseudonymised event that travels on the stream (compact, versioned)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    event_id: EventId
    kind: Literal["email", "chat", "meeting", "code_review"]
    actor: str = Field(min_length=1, max_length=64)
    participants: list[str] = Field(min_length=1, max_length=MAX_PARTICIPANTS)
    occurred_at: float  # epoch seconds, UTC
    duration_s: int | None = None
    teams: dict[str, str] | None = None

    def attendees(self) -> list[str]:
        return [self.actor, *self.participants]

    def ties(self) -> Iterator[tuple[str, str]]:
        """Directed pairs this event creates. Meetings tie every attendee to every other."""
        if self.kind == "meeting":
            everyone = self.attendees()
            for a in everyone:
                for b in everyone:
                    if a != b:
                        yield a, b
        else:
            for p in self.participants:
                yield self.actor, p


@dataclass(frozen=True)
class PairDelta:
    """What a set of new events adds to one directed pair."""

    src: str
    dst: str
    weight: float
    count: int
    last_at: float


def pair_deltas(events: Iterable[StoredEvent]) -> list[PairDelta]:
    """Aggregate per directed pair (one row per key: never the same pair twice in a graph batch)."""
    acc: dict[tuple[str, str], list[float]] = {}
    for event in events:
        for pair in event.ties():
            slot = acc.setdefault(pair, [0.0, 0, 0.0])
            slot[0] += INTERACTION_WEIGHT
            slot[1] += 1
            slot[2] = max(slot[2], event.occurred_at)
    return [PairDelta(s, d, w, int(c), t) for (s, d), (w, c, t) in sorted(acc.items())]


def validation_context(now: datetime | None = None, retention_days: int = 90) -> dict[str, Any]:
    return {"now": now or datetime.now(UTC), "retention_days": retention_days}
