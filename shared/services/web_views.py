"""What each web page shows, built for one signed-in person from the project's stores.

Everything a role may not see is left out here, before any template runs: a viewer's team
network has no person in it (ids, bridges, overloaded people are never read into the view),
and teams under ``min_group_size`` people are withheld. Layouts come from igraph (seeded, so the
same graph draws the same way) and are kept per graph version on the ``WebViews`` object.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from shared.adapters.postgres.metrics_store import MetricsStore
from shared.domain.privacy import band_count, k_anonymous_release, team_views
from shared.platform.auth import Permission
from shared.platform.errors import ApiError
from shared.services import audit, intervention_records, metrics_reads

if TYPE_CHECKING:
    from shared.adapters.graph.base import GraphSnapshot
    from shared.platform.resources import Resources
    from shared.platform.web_session import WebUser

log = logging.getLogger(__name__)

OVERLOAD_INDEX = 1.5  # a team's mean interaction volume this many times the organisation's
SILO_SHARE = 0.2  # a team with less than this share of its ties' weight crossing to other teams
LAYOUT_CACHE = 8
TIMELINE_EVENTS = 200


@dataclass
class TeamNode:
    team: str
    members: int
    internal: float = 0.0
    external: float = 0.0
    volume: float = 0.0

    @property
    def cross_share(self) -> float:
        total = self.internal + self.external
        return self.external / total if total else 0.0


@dataclass
class WebViews:
    """Per-process view builder (on ``app.state``); caches layouts by graph version."""

    resources: Resources
    _layouts: dict[tuple[str, int, int], dict[str, Any]] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _warming: asyncio.Task[None] | None = None

    def warm(self) -> None:
        """Import igraph and lay out the team network (seconds on a cold, loaded machine) before
        the first page needs them."""
        if self._warming is None:
            self._warming = asyncio.create_task(self._warm())

    async def _warm(self) -> None:
        try:
            await asyncio.to_thread(_import_igraph)
            await self._network("teams")
        except Exception as exc:  # noqa: BLE001 - a page will try again (and say what failed)
            log.warning("web: warming the team layout failed (%s)", type(exc).__name__)

    @property
    def k(self) -> int:
        return self.resources.settings.privacy.min_group_size

    # ---- organisation ------------------------------------------------------------------

    async def graph_counts(self) -> dict[str, Any]:
        counts = await self.resources.graph.counts()
        return {"people": counts.people, "ties": counts.ties, "total_weight": round(counts.total_weight, 1)}

    async def network(self, user: WebUser, level: str) -> dict[str, Any]:
        """Nodes with positions in [0, 1] and weighted edges; ``people`` needs individual views."""
        if level == "people" and not user.can(Permission.READ_INDIVIDUAL_METRICS):
            raise ApiError(403, "forbidden", "the people network needs the permission read:individual_metrics")
        return await self._network(level)

    async def _network(self, level: str) -> dict[str, Any]:
        counts = await self.resources.graph.counts()
        key = (level, counts.people, counts.ties)
        async with self._lock:
            cached = self._layouts.get(key)
            if cached is None:
                snapshot = await self.resources.graph.snapshot()
                builder = _people_network if level == "people" else _team_network
                cached = await asyncio.to_thread(builder, snapshot, self.k)
                if len(self._layouts) >= LAYOUT_CACHE:
                    self._layouts.pop(next(iter(self._layouts)))
                self._layouts[key] = cached
        return cached

    async def teams(self) -> dict[str, Any] | None:
        """The last metrics refresh's team figures through the one k-anonymity rule (the API's
        ``team_views``: withheld teams keep their name, member counts banded), or None before the
        first refresh."""
        summary = await MetricsStore(self.resources.pg).latest_summary()
        if summary is None:
            return None
        return {"computed_at": summary["computed_at"], "teams": team_views(summary["teams"], self.k)}

    async def individuals(self, user: WebUser) -> dict[str, Any]:
        """Top bridges (last refresh) and most overloaded people (interaction volume): individual views only."""
        if not user.can(Permission.READ_INDIVIDUAL_METRICS):
            return {}
        summary = await MetricsStore(self.resources.pg).latest_summary()
        network = await self.network(user, "people")
        overloaded = sorted(network["nodes"], key=lambda n: -n["volume"])[:10]
        return {
            "bridges": (summary or {}).get("bridges", [])[:10],
            "overloaded": [{"id": n["id"], "team": n["team"], "volume": n["volume"]} for n in overloaded],
        }

    # ---- team ----------------------------------------------------------------------------

    async def team_history(
        self, team: str, start: datetime, end: datetime, granularity: Literal["raw", "hour", "day"]
    ) -> list[dict[str, Any]]:
        return await metrics_reads.team_history(self.resources, team, start, end, granularity)

    # ---- interventions ----------------------------------------------------------------------

    async def pending(self) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        rows = await intervention_records.awaiting_approval(self.resources)
        out = []
        for r in rows:
            deadline = r.get("approval_deadline")
            left = (deadline - now).total_seconds() if deadline is not None else None
            if left is not None and left > 0:
                out.append({**r, "time_left_s": left})
        return sorted(out, key=lambda r: r["time_left_s"])

    async def interventions(self, limit: int = 50) -> list[dict[str, Any]]:
        return await intervention_records.listed(self.resources, None, limit)

    async def intervention(self, intervention_id: str) -> dict[str, Any] | None:
        return await intervention_records.get(self.resources, intervention_id)

    async def timeline(self, intervention_id: str) -> list[dict[str, Any]]:
        rows = await audit.audit_log(
            self.resources, intervention_id=intervention_id, actor=None, since=None, until=None, limit=TIMELINE_EVENTS
        )
        return [r.to_json() for r in rows]

    async def verify_audit(self) -> dict[str, Any]:
        return (await audit.verify(self.resources, None)).to_json()

    # ---- operations -------------------------------------------------------------------------

    async def operations(self) -> dict[str, Any]:
        """Ingest lag, graph build progress, the last metric refreshes and the schedules."""
        settings = self.resources.settings
        redis = self.resources.redis
        out: dict[str, Any] = {"ingest": None, "graph_build": None, "runs": [], "schedules": None}
        try:
            length = await redis.xlen(settings.ingest.stream_name)
            groups = await redis.xinfo_groups(settings.ingest.stream_name)
            group = next((g for g in groups if _text(g.get("name")) == settings.ingest.stream_group), None)
            out["ingest"] = {
                "stream_length": length,
                "pending": int(group.get("pending", 0)) if group else None,
                "lag": group.get("lag") if group else None,
                "consumers": int(group.get("consumers", 0)) if group else 0,
            }
        except Exception as exc:  # noqa: BLE001 - no stream yet, or Redis down: shown in words
            out["ingest"] = {"error": type(exc).__name__}
        try:
            raw = await redis.hgetall(settings.graph.build_key)
            out["graph_build"] = {_text(k): _text(v) for k, v in raw.items()} or None
        except Exception as exc:  # noqa: BLE001
            out["graph_build"] = {"error": type(exc).__name__}
        out["runs"] = [r.__dict__ for r in await MetricsStore(self.resources.pg).recent_runs(5)]
        out["schedules"] = await self._schedules()
        return out

    async def _schedules(self) -> list[dict[str, Any]] | str:
        try:
            client = await asyncio.wait_for(self.resources.temporal(), 3.0)
            found = []
            async for s in await client.list_schedules():
                info = s.info
                found.append(
                    {
                        "id": s.id,
                        "next": info.next_action_times[0] if info and info.next_action_times else None,
                        "last": info.recent_actions[-1].started_at if info and info.recent_actions else None,
                        "paused": bool(s.schedule and s.schedule.state.paused),
                    }
                )
            return found
        except Exception as exc:  # noqa: BLE001 - Temporal down: said in words on the page
            return f"the workflow service did not answer ({type(exc).__name__})"


def _import_igraph() -> None:
    import igraph  # noqa: F401 - warms the import for the first layout


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _layout(n: int, edges: list[tuple[int, int]], weights: list[float]) -> list[tuple[float, float]]:
    """Seeded force-directed layout scaled to [0, 1] (igraph's Fruchterman-Reingold, grid for speed)."""
    if n == 0:
        return []
    import random

    import igraph

    random.seed(42)
    g = igraph.Graph(n=n, edges=edges)
    g.es["weight"] = weights
    start = [[random.random(), random.random()] for _ in range(n)]
    layout = g.layout_fruchterman_reingold(weights="weight" if edges else None, niter=300, seed=start, grid="auto")
    xs = [p[0] for p in layout.coords]
    ys = [p[1] for p in layout.coords]
    span_x = (max(xs) - min(xs)) or 1.0
    span_y = (max(ys) - min(ys)) or 1.0
    return [((x - min(xs)) / span_x, (y - min(ys)) / span_y) for x, y in zip(xs, ys, strict=True)]


def _undirected(pairs: dict[tuple[int, int], float]) -> tuple[list[tuple[int, int]], list[float]]:
    edges = sorted(pairs)
    return edges, [pairs[e] for e in edges]


def _team_network(snapshot: GraphSnapshot, k: int) -> dict[str, Any]:
    """The teams the k-anonymity release shows (the API's rule, with complementary suppression;
    people in no team form a group of their own here), ties between them summed, member counts
    banded; nothing about any single person."""
    team_of = {pid: team or "(no team)" for pid, team in snapshot.people}
    sizes: dict[str, int] = defaultdict(int)
    for team in team_of.values():
        sizes[team] += 1
    release = k_anonymous_release(sizes, k)
    shown = sorted(release.shown)
    index = {t: i for i, t in enumerate(shown)}
    nodes = {t: TeamNode(t, sizes[t]) for t in shown}
    pairs: dict[tuple[int, int], float] = defaultdict(float)
    for e in snapshot.edges:
        a, b = team_of.get(e.src), team_of.get(e.dst)
        if a in nodes:
            nodes[a].volume += e.weight
        if b in nodes:
            nodes[b].volume += e.weight
        if a in nodes and b in nodes:
            if a == b:
                nodes[a].internal += e.weight
            else:
                nodes[a].external += e.weight
                nodes[b].external += e.weight
                i, j = sorted((index[a], index[b]))
                pairs[(i, j)] += e.weight
    edges, weights = _undirected(pairs)
    positions = _layout(len(shown), edges, weights)
    org_load = sum(n.volume for n in nodes.values()) / max(1, sum(n.members for n in nodes.values()))
    out_nodes = []
    for t, (x, y) in zip(shown, positions, strict=True):
        node = nodes[t]
        load = (node.volume / node.members) / org_load if org_load else 0.0
        state = "overloaded" if load >= OVERLOAD_INDEX else "silo" if node.cross_share < SILO_SHARE else "ok"
        out_nodes.append(
            {
                "id": t,
                "label": t,
                "x": round(x, 4),
                "y": round(y, 4),
                "size": band_count(node.members),
                "load_index": round(load, 2),
                "cross_share": round(node.cross_share, 3),
                "state": state,
            }
        )
    return {
        "level": "teams",
        "nodes": out_nodes,
        "edges": [[i, j, round(w, 2)] for (i, j), w in zip(edges, weights, strict=True)],
        "withheld_teams": len(release.withheld),
        "min_group_size": k,
    }


def _people_network(snapshot: GraphSnapshot, k: int) -> dict[str, Any]:
    """Every person (pseudonymous id) and tie: for roles allowed individual views only."""
    ids = [pid for pid, _ in snapshot.people]
    index = {pid: i for i, pid in enumerate(ids)}
    team_of = dict(snapshot.people)
    volume: dict[str, float] = defaultdict(float)
    pairs: dict[tuple[int, int], float] = defaultdict(float)
    for e in snapshot.edges:
        if e.src not in index or e.dst not in index or e.src == e.dst:
            continue
        volume[e.src] += e.weight
        volume[e.dst] += e.weight
        i, j = sorted((index[e.src], index[e.dst]))
        pairs[(i, j)] += e.weight
    edges, weights = _undirected(pairs)
    positions = _layout(len(ids), edges, weights)
    teams = sorted({t or "(no team)" for t in team_of.values()})
    team_index = {t: i for i, t in enumerate(teams)}
    nodes = [
        {
            "id": pid,
            "team": team_of[pid] or "(no team)",
            "group": team_index[team_of[pid] or "(no team)"],
            "x": round(x, 4),
            "y": round(y, 4),
            "volume": round(volume[pid], 1),
        }
        for pid, (x, y) in zip(ids, positions, strict=True)
    ]
    return {
        "level": "people",
        "nodes": nodes,
        "edges": [[i, j, round(w, 2)] for (i, j), w in zip(edges, weights, strict=True)],
        "teams": len(teams),
        "min_group_size": k,
    }
