"""Issue 11, item 2: a viewer cannot recover a group under k by differencing.

Property-based (hypothesis), over generated organisations and team histories. The viewer's
whole view is what the endpoints it may call return (`/v1/metrics/teams`, `/v1/metrics/graph`,
`/v1/metrics/teams/{team}/history`; `/v1/metrics/graph/live` now needs the analyst role): the same
functions the routes and the refresh call build it here.

Organisations: the proof is by indistinguishability. For every generated organisation a twin
is made in which every member of every team under k has all their own figures (and the ties
among them) multiplied by 3. If the viewer's view of the two is identical, no computation on
the view (differencing included) can be within 10% of that team's figures in both, since they
differ by a factor 3. The test asserts the views are identical, and also runs the classic
attack (organisation total minus the shown teams, with exact team sizes known to the viewer).

Histories: a team grows and shrinks; each person's figure is fixed, newcomers' far from the
others'. The viewer knows the exact head count at every point (worst case); from every pair of
shown points whose sizes differ it estimates the mean of the people who joined. Whenever fewer
than k joined, the estimate must be more than 10% off.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.domain.metrics import EmployeeMetrics, index_graph
from shared.domain.privacy import band_count, k_anonymous_release, k_anonymous_series
from shared.domain.team_metrics import graph_summary, team_summaries

K = 5
ORGS = 220  # >= 200 generated organisations, in CI
_OWN = ("betweenness", "clustering", "after_hours_share", "meeting_hours")


@st.composite
def organisations(draw: st.DrawFn) -> tuple[list[EmployeeMetrics], list[tuple[str, str, float]]]:
    sizes = draw(st.lists(st.integers(1, 12), min_size=1, max_size=7))
    unassigned = draw(st.integers(0, 3))
    people: list[tuple[str, str | None]] = []
    for t, size in enumerate(sizes):
        people += [(f"t{t}-{i}", f"team{t}") for i in range(size)]
    people += [(f"u-{i}", None) for i in range(unassigned)]
    ids = [p for p, _ in people]
    pairs = draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids), st.floats(0.5, 10.0)), max_size=60))
    edges = [(a, b, w) for a, b, w in pairs if a != b]
    own = {
        pid: draw(st.tuples(*(st.floats(0.0, 1.0) for _ in _OWN)))  # one value per own figure
        for pid in ids
    }
    return _rows(people, edges, own), edges


def _rows(
    people: list[tuple[str, str | None]], edges: list[tuple[str, str, float]], own: dict[str, tuple[float, ...]]
) -> list[EmployeeMetrics]:
    g = index_graph(people, edges)
    w_in, w_out = dict.fromkeys(g.ids, 0.0), dict.fromkeys(g.ids, 0.0)
    d_in, d_out = dict.fromkeys(g.ids, 0), dict.fromkeys(g.ids, 0)
    for a, b, w in zip(g.src, g.dst, g.weight, strict=True):
        w_out[g.ids[a]] += w
        w_in[g.ids[b]] += w
        d_out[g.ids[a]] += 1
        d_in[g.ids[b]] += 1
    team = dict(people)
    rows = []
    for pid in g.ids:
        b, c, ah, mh = own[pid]
        rows.append(
            EmployeeMetrics(
                pid,
                team[pid],
                d_in[pid],
                d_out[pid],
                w_in[pid],
                w_out[pid],
                b,
                c,
                None,
                ah,
                mh,
                d_in[pid] + d_out[pid],
                0,
                0,
            )  # fmt: skip
        )
    return rows


def viewer_view(rows: list[EmployeeMetrics], edges: list[tuple[str, str, float]]) -> dict[str, Any]:
    """Everything a viewer can read about this organisation, as the routes show it."""
    g = index_graph([(r.employee, r.team) for r in rows], edges)
    teams = team_summaries(rows, K)
    shown = [t.team for t in teams if not t.withheld]
    return {
        "teams": [
            (t.team, t.withheld, None if t.withheld else band_count(t.members), tuple(sorted(t.figures.items())))
            for t in teams
        ],
        "graph": graph_summary(g, rows, shown),
    }


def _scaled_small_teams(
    rows: list[EmployeeMetrics], edges: list[tuple[str, str, float]]
) -> tuple[list[EmployeeMetrics], list[tuple[str, str, float]], set[str]]:
    sizes: dict[str, int] = {}
    for r in rows:
        if r.team is not None:
            sizes[r.team] = sizes.get(r.team, 0) + 1
    small = {t for t, n in sizes.items() if n < K}
    team = {r.employee: r.team for r in rows}
    inside = {r.employee for r in rows if r.team in small}
    twin_edges = [(a, b, w * 3 if team[a] == team[b] and a in inside else w) for a, b, w in edges]
    own = {
        r.employee: tuple(getattr(r, f) * (3 if r.employee in inside else 1) for f in _OWN)  # type: ignore[misc]
        for r in rows
    }
    return _rows([(r.employee, r.team) for r in rows], twin_edges, own), twin_edges, small


@settings(max_examples=ORGS, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations())
def test_a_viewer_cannot_tell_small_teams_apart(
    org: tuple[list[EmployeeMetrics], list[tuple[str, str, float]]],
) -> None:
    rows, edges = org
    twin_rows, twin_edges, small = _scaled_small_teams(rows, edges)
    assert viewer_view(rows, edges) == viewer_view(twin_rows, twin_edges)

    # the classic attack, with exact team sizes: organisation figure x people minus the shown
    # teams' mean x size leaves the withheld people's total
    view = viewer_view(rows, edges)
    sizes = {t: sum(1 for r in rows if r.team == t) for t, *_ in view["teams"]}
    shown = {t: dict(figs) for t, withheld, _, figs in view["teams"] if not withheld}
    org = view["graph"]
    rest = org["people"] - sum(sizes[t] for t in shown)
    assert rest == 0  # organisation figures cover the shown teams only: nothing left to difference
    hidden = sum(sizes[t] for t, withheld, *_ in view["teams"] if withheld)
    hidden += sum(1 for r in rows if r.team is None)
    assert hidden == 0 or hidden >= K or not shown  # complementary suppression
    for team in small:
        assert team not in shown


@settings(max_examples=60, deadline=None)
@given(st.integers(K, K + 4), st.lists(st.integers(-3, 6).filter(lambda d: d != 0), min_size=2, max_size=12))
def test_team_history_never_singles_out_who_joined(start: int, steps: list[int]) -> None:
    members = [1.0 + 0.01 * i for i in range(start)]  # the founders' figure ~1
    series: list[list[float]] = [list(members)]
    joined_at: list[int] = [0] * start
    for step, delta in enumerate(steps, 1):
        if delta > 0:
            members += [100.0 + step + 0.1 * i for i in range(delta)]  # newcomers: ~100, distinct
            joined_at += [step] * delta
        else:
            keep = max(1, len(members) + delta)
            members, joined_at = members[:keep], joined_at[:keep]
        series.append(list(members))
    sizes = [len(s) for s in series]
    shown = [i for i, ok in enumerate(k_anonymous_series(sizes, K)) if ok]
    means = {i: sum(series[i]) / len(series[i]) for i in shown}
    for a in shown:
        for b in shown:
            if sizes[b] <= sizes[a] or not set(series[a]) <= set(series[b]):
                continue  # the attack needs pure growth between the two points
            newcomers = [v for v in series[b] if v not in series[a]]
            estimate = (sizes[b] * means[b] - sizes[a] * means[a]) / (sizes[b] - sizes[a])
            truth = sum(newcomers) / len(newcomers)
            if len(newcomers) < K:
                assert abs(estimate - truth) > 0.1 * abs(truth), (sizes, a, b)


def test_release_rules() -> None:
    # a team of 3 alone hidden, and nobody unassigned: the smallest shown team goes with it
    r = k_anonymous_release({"a": 3, "b": 6, "c": 9}, K)
    assert set(r.shown) == {"c"} and r.withheld == {"a": "fewer than k people", "b": r.withheld["b"]}
    assert r.hidden == 9
    # enough hidden people already (or none): nothing more is suppressed
    assert set(k_anonymous_release({"a": 5, "b": 6}, K).shown) == {"a", "b"}
    assert set(k_anonymous_release({"a": 2, "b": 3, "c": 6}, K).shown) == {"c"}
    # a team that grew by one since shown is withheld, by five is shown again
    assert "a" in k_anonymous_release({"a": 6, "b": 20}, K, unassigned=5, last_shown={"a": [5]}).withheld
    assert "a" in k_anonymous_release({"a": 10, "b": 20}, K, unassigned=5, last_shown={"a": [5]}).shown
    assert k_anonymous_series([5, 6, 7, 10, 9, 15, 15], K) == [True, False, False, True, False, True, True]
    assert [band_count(n) for n in (5, 6, 9, 10, 14)] == [5, 5, 5, 10, 10]


def test_old_differencing_attack_is_what_this_stops() -> None:
    """The attack from the issue, by hand: with everyone in the organisation figure, a team of 4
    was its total minus the shown team's members x mean, exactly."""
    founders = [(f"a{i}", "big", 10.0) for i in range(5)]
    small = [(f"b{i}", "small", 1000.0) for i in range(4)] + [(f"c{i}", "other", 50.0) for i in range(5)]
    people = founders + small
    own = {p: (v, 0.5, 0.1, 1.0) for p, _, v in people}
    rows = _rows([(p, t) for p, t, _ in people], [], own)
    view = viewer_view(rows, [])
    org, shown = view["graph"], {t: dict(f) for t, w, _, f in view["teams"] if not w}
    recovered = org["mean_betweenness"] * org["people"] - sum(5 * shown[t]["mean_betweenness"] for t in shown)
    assert abs(recovered) < 1e-9  # nothing of the small team is left in the organisation figure
    # the team of 4 alone would be 0 < hidden < k: one more team is withheld with it
    assert set(shown) == {"other"} and org["people"] == 5
