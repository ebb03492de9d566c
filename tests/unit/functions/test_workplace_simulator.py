"""The simulator's compensation contract, as a property: capture every action's slice first,
apply them in order, revert them in reverse order -> the world equals the world before."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from functions.workplace_simulator.app import Simulator

people = st.sampled_from(["p1", "p2", "p3", "p4"])
teams = st.sampled_from(["ta", "tb", "tc"])
CAL, CAP = "calendar_block", "meeting_cap"
actions = st.one_of(
    st.builds(lambda w, h: {"kind": CAL, "subject": w, "params": {"hours_per_week": h}}, people, st.integers(1, 20)),
    st.builds(lambda w, c: {"kind": CAP, "subject": w, "params": {"max_meeting_hours": c}}, people, st.integers(5, 40)),
    st.builds(
        lambda ps, m: {
            "kind": "review_rebalance",
            "subject": "reviews",
            "params": {"people": sorted(set(ps)), "max_per_person": m},
        },
        st.lists(people, min_size=1, max_size=4),
        st.integers(1, 10),
    ),
    st.builds(
        lambda c, t1, t2: {"kind": "channel_create", "subject": c, "params": {"teams": [t1, t2], "size": 3}},
        st.sampled_from(["c", "d"]),
        teams,
        teams,
    ),
    st.builds(lambda c: {"kind": "channel_post", "subject": c, "params": {"text": "hi"}}, st.sampled_from(["c", "d"])),
    st.builds(lambda who: {"kind": "manager_nudge", "subject": who, "params": {"urgency": 1}}, people),
)  # fmt: skip


@settings(max_examples=200)
@given(st.lists(actions, min_size=1, max_size=8), st.lists(actions, max_size=4))
def test_reverse_compensation_restores_the_world(
    plan: list[dict[str, object]], history: list[dict[str, object]]
) -> None:
    sim = Simulator()
    for who in ("p1", "p2", "p3", "p4"):  # people and teams exist already (first touch seeds them)
        sim.world.person(who)
    for team in ("ta", "tb", "tc"):
        sim.world.team(team)
    for i, a in enumerate(history):  # some earlier, unrelated activity
        sim.capture(a)
        sim.apply(a, f"old:{i}")
    before = sim.world.dump()
    pre = [sim.capture(a) for a in plan]
    assert sim.world.dump() == before  # capturing changes nothing
    for i, a in enumerate(plan):
        sim.apply(a, f"k:{i}")
    for i in reversed(range(len(plan))):
        sim.restore(plan[i], pre[i])
    assert sim.world.dump() == before
