"""The workplace simulator: a stand-in for the external systems interventions act on.

It holds calendars (focus blocks, meeting cap), meeting series, review assignments, team
channels and managers' inboxes, plus per-person outcome signals (wellbeing, focus hours, ...).
Applies and reverts are idempotent by key; every call is counted; failures and latency are
injected through ``/admin/faults``. Unknown people and teams are created on first touch from
a deterministic seed, so tests and the demo need no set-up. State lives in memory (by design:
it is "the other company's system"; its counters must be exact, not durable).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

SIGNAL_DEFAULTS = {"wellbeing": 7.0, "focus_hours": 6.0, "review_latency_hours": 20.0, "cross_team_ties": 2.0}


def _seed(name: str, mod: int) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % mod


@dataclass
class Faults:
    fail_next: int = 0
    fail_rate: float = 0.0
    status: int = 503
    latency_ms: int = 0
    endpoints: tuple[str, ...] = ()  # empty = every non-admin endpoint

    def applies_to(self, endpoint: str) -> bool:
        return not self.endpoints or endpoint in self.endpoints


@dataclass
class World:
    calendars: dict[str, dict[str, Any]] = field(default_factory=dict)
    series: dict[str, dict[str, Any]] = field(default_factory=dict)
    reviews: dict[str, str] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    inboxes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    teams: dict[str, list[str]] = field(default_factory=dict)
    signals: dict[str, dict[str, float]] = field(default_factory=dict)

    def person(self, who: str) -> dict[str, Any]:
        """Create a person on first touch: calendar, three weekly meeting series, some reviews."""
        if who not in self.calendars:
            self.calendars[who] = {
                "focus_blocks": [],
                "meeting_cap_hours": None,
                "manager": f"mgr-{_seed(who, 5)}",
            }
            for i in range(3):
                self.series[f"{who}-s{i}"] = {"owner": who, "hours_per_week": 8.0, "optional_for": []}
            for i in range(_seed(who, 12)):
                self.reviews[f"{who}-r{i}"] = who
            self.signals[who] = dict(SIGNAL_DEFAULTS)
        return self.calendars[who]

    def team(self, name: str) -> list[str]:
        if name not in self.teams:
            self.teams[name] = [f"{name}-m{i}" for i in range(10)]
            for member in self.teams[name]:
                self.person(member)
        return self.teams[name]

    def dump(self) -> dict[str, Any]:
        return copy.deepcopy(
            {
                "calendars": self.calendars,
                "series": self.series,
                "reviews": self.reviews,
                "channels": self.channels,
                "inboxes": self.inboxes,
            }
        )


@dataclass
class Simulator:
    world: World = field(default_factory=World)
    faults: Faults = field(default_factory=Faults)
    calls: Counter[str] = field(default_factory=Counter)
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key -> result
    reverted: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: Counter[str] = field(default_factory=Counter)
    in_flight: Counter[str] = field(default_factory=Counter)
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    # -- slices: what an action touches, captured before and restored on revert ---------------
    def capture(self, action: dict[str, Any]) -> dict[str, Any]:
        kind, subject, params = action["kind"], action["subject"], action.get("params", {})
        w = self.world
        if kind in ("calendar_block", "meeting_cap"):
            w.person(subject)
            mine = {sid: s["optional_for"] for sid, s in w.series.items() if s["owner"] == subject}
            return copy.deepcopy({"calendar": w.calendars[subject], "series_optional_for": mine})
        if kind == "review_rebalance":
            people = list(params.get("people", []))
            for p in people:
                w.person(p)
            return {"reviews": {rid: who for rid, who in w.reviews.items() if who in people}}
        if kind in ("channel_create", "channel_post"):
            return {"channel": copy.deepcopy(w.channels.get(subject))}
        if kind == "manager_nudge":
            manager = w.person(subject)["manager"]
            return {"manager": manager, "inbox": copy.deepcopy(w.inboxes.get(manager))}  # None: no inbox yet
        raise ValueError(f"unknown action kind {kind}")

    def restore(self, action: dict[str, Any], pre: dict[str, Any]) -> None:
        kind, subject = action["kind"], action["subject"]
        w = self.world
        if kind in ("calendar_block", "meeting_cap"):
            w.calendars[subject] = copy.deepcopy(pre["calendar"])
            for sid, optional_for in pre["series_optional_for"].items():
                w.series[sid]["optional_for"] = list(optional_for)
        elif kind == "review_rebalance":
            for rid, who in pre["reviews"].items():
                w.reviews[rid] = who
        elif kind in ("channel_create", "channel_post"):
            if pre["channel"] is None:
                w.channels.pop(subject, None)
            else:
                w.channels[subject] = copy.deepcopy(pre["channel"])
        elif kind == "manager_nudge":
            if pre["inbox"] is None:
                w.inboxes.pop(pre["manager"], None)
            else:
                w.inboxes[pre["manager"]] = copy.deepcopy(pre["inbox"])

    def apply(self, action: dict[str, Any], key: str) -> dict[str, Any]:
        kind, subject, params = action["kind"], action["subject"], action.get("params", {})
        w = self.world
        if kind == "calendar_block":
            cal = w.person(subject)
            cal["focus_blocks"].append({"hours_per_week": params["hours_per_week"], "key": key})
            return {"focus_blocks": len(cal["focus_blocks"])}
        if kind == "meeting_cap":
            cal = w.person(subject)
            cap = float(params["max_meeting_hours"])
            cal["meeting_cap_hours"] = cap
            total, made_optional = 0.0, []
            for sid, s in sorted(w.series.items()):
                if s["owner"] != subject:
                    continue
                total += s["hours_per_week"]
                if total > cap and subject not in s["optional_for"]:
                    s["optional_for"].append(subject)
                    made_optional.append(sid)
            return {"made_optional": made_optional}
        if kind == "review_rebalance":
            people = sorted(params["people"])
            cap = int(params["max_per_person"])
            load = Counter({p: 0 for p in people})
            load.update(who for who in w.reviews.values() if who in load)
            moved = []
            for rid in sorted(w.reviews):
                who = w.reviews[rid]
                if who in load and load[who] > cap:
                    target = min(people, key=lambda p: (load[p], p))
                    if load[target] + 1 <= cap:
                        w.reviews[rid] = target
                        load[who] -= 1
                        load[target] += 1
                        moved.append(rid)
            return {"moved": moved}
        if kind == "channel_create":
            members = [m for t in params["teams"] for m in w.team(t)[: int(params["size"])]]
            w.channels.setdefault(subject, {"members": sorted(members), "messages": []})
            return {"members": len(w.channels[subject]["members"])}
        if kind == "channel_post":
            channel = w.channels.setdefault(subject, {"members": [], "messages": []})
            channel["messages"].append({"text": params["text"], "key": key})
            return {"messages": len(channel["messages"])}
        if kind == "manager_nudge":
            manager = w.person(subject)["manager"]
            w.inboxes.setdefault(manager, []).append({"about": subject, "urgency": params["urgency"], "key": key})
            return {"manager": manager}
        raise ValueError(f"unknown action kind {kind}")


class ActionIn(BaseModel):
    kind: str
    subject: str
    params: dict[str, Any] = Field(default_factory=dict)


class ApplyIn(BaseModel):
    key: str = Field(min_length=1, max_length=300)
    action: ActionIn


class RevertIn(BaseModel):
    key: str = Field(min_length=1, max_length=300)
    action: ActionIn
    pre_state: dict[str, Any]


class CaptureIn(BaseModel):
    actions: list[ActionIn]


class SignalsIn(BaseModel):
    metric: str
    people: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)
    everyone: bool = False  # every known person (outcome monitoring's comparison pool)


class PlantIn(SignalsIn):
    value: float


class FaultsIn(BaseModel):
    fail_next: int = 0
    fail_rate: float = Field(default=0.0, ge=0, le=1)
    status: int = 503
    latency_ms: int = Field(default=0, ge=0, le=60_000)
    endpoints: list[str] = Field(default_factory=list)


def _sim(request: Request) -> Simulator:
    return request.app.state.simulator


async def _gate(sim: Simulator, endpoint: str) -> JSONResponse | None:
    """Count the call and inject the configured latency or failure."""
    sim.calls[endpoint] += 1
    f = sim.faults
    if not f.applies_to(endpoint):
        return None
    if f.latency_ms:
        await asyncio.sleep(f.latency_ms / 1000)
    fail = False
    if f.fail_next > 0:
        f.fail_next -= 1
        fail = True
    elif f.fail_rate and sim.rng.random() < f.fail_rate:
        fail = True
    if fail:
        sim.calls[f"{endpoint}:failed"] += 1
        return JSONResponse({"error": "injected failure"}, status_code=f.status)
    return None


def _people(sim: Simulator, people: list[str], teams: list[str]) -> list[str]:
    out = set(people)
    for t in teams:
        out.update(sim.world.team(t))
    for p in out:
        sim.world.person(p)
    return sorted(out)


router = APIRouter()


@router.get("/health")
async def health(request: Request) -> Any:
    sim = _sim(request)
    if (failed := await _gate(sim, "health")) is not None:
        return failed
    return {"status": "ok"}


@router.post("/state/capture")
async def capture(body: CaptureIn, request: Request) -> Any:
    sim = _sim(request)
    if (failed := await _gate(sim, "capture")) is not None:
        return failed
    async with sim.lock:
        return {"pre_states": [sim.capture(a.model_dump()) for a in body.actions]}


@router.post("/actions/apply")
async def apply(body: ApplyIn, request: Request) -> Any:
    sim = _sim(request)
    sim.in_flight["apply"] += 1
    try:
        if (failed := await _gate(sim, "apply")) is not None:
            return failed
        async with sim.lock:
            if body.key in sim.applied:
                sim.duplicates["apply"] += 1
                return {"key": body.key, "duplicate": True, "result": sim.applied[body.key]}
            result = sim.apply(body.action.model_dump(), body.key)
            sim.applied[body.key] = result
            return {"key": body.key, "duplicate": False, "result": result}
    finally:
        sim.in_flight["apply"] -= 1


@router.post("/actions/revert")
async def revert(body: RevertIn, request: Request) -> Any:
    sim = _sim(request)
    sim.in_flight["revert"] += 1
    try:
        if (failed := await _gate(sim, "revert")) is not None:
            return failed
        async with sim.lock:
            if body.key in sim.reverted:
                sim.duplicates["revert"] += 1
                return {"key": body.key, "duplicate": True}
            sim.restore(body.action.model_dump(), body.pre_state)
            sim.reverted[body.key] = {"ok": True}
            return {"key": body.key, "duplicate": False}
    finally:
        sim.in_flight["revert"] -= 1


@router.post("/signals")
async def signals(body: SignalsIn, request: Request) -> Any:
    sim = _sim(request)
    if (failed := await _gate(sim, "signals")) is not None:
        return failed
    people = sorted(sim.world.signals) if body.everyone else _people(sim, body.people, body.teams)
    return {"metric": body.metric, "values": {p: sim.world.signals[p].get(body.metric, 0.0) for p in people}}


admin = APIRouter(prefix="/admin")


@admin.post("/faults")
async def set_faults(body: FaultsIn, request: Request) -> dict[str, Any]:
    _sim(request).faults = Faults(body.fail_next, body.fail_rate, body.status, body.latency_ms, tuple(body.endpoints))
    return body.model_dump()


@admin.post("/signals")
async def plant_signals(body: PlantIn, request: Request) -> dict[str, Any]:
    sim = _sim(request)
    people = _people(sim, body.people, body.teams)
    for p in people:
        sim.world.signals[p][body.metric] = body.value
    return {"planted": len(people)}


@admin.get("/counts")
async def counts(request: Request, prefix: str = "") -> dict[str, Any]:
    sim = _sim(request)
    applied = sorted(k for k in sim.applied if k.startswith(prefix))
    reverted = sorted(k for k in sim.reverted if k.startswith(prefix))
    return {
        "calls": dict(sim.calls),
        "in_flight": dict(sim.in_flight),
        "duplicates": dict(sim.duplicates),
        "applied": len(applied),
        "reverted": len(reverted),
        "applied_keys": applied,
        "reverted_keys": reverted,
    }


@admin.get("/state")
async def state(request: Request) -> dict[str, Any]:
    return _sim(request).world.dump()


@admin.post("/capture")
async def admin_capture(body: CaptureIn, request: Request) -> dict[str, Any]:
    """Capture without counting or faults: what tests compare against."""
    sim = _sim(request)
    async with sim.lock:
        return {"pre_states": [sim.capture(a.model_dump()) for a in body.actions]}


@admin.post("/reset")
async def reset(request: Request) -> dict[str, str]:
    request.app.state.simulator = Simulator()
    return {"status": "reset"}


def build_app() -> FastAPI:
    app = FastAPI(title="Workplace simulator (external system stand-in)", version="1")
    app.state.simulator = Simulator()
    app.include_router(router)
    app.include_router(admin)
    return app
