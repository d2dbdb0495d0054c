"""Breakout rooms, trace-driven with a fake clock: assignment, the timer and its return
countdown, moves, and who may do what."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest

from rooms.breakouts import (
    BreakoutPlanChanged,
    BreakoutsChanged,
    BroadcastMessage,
    RoomHelpRequested,
    auto_assign,
    tick,
)
from rooms.controls import apply, parse_command
from rooms.errors import Refusal
from rooms.model import Leaders, Role, RoomChanged, Session
from tests.rooms.test_controls import all_actions

FAC, COF = "fac", "cof"
PEOPLE = ["p1", "p2", "p3", "p4", "p5", "p6"]


def run(session: Session, actor: str, action: str, now: float = 100.0, **fields: Any) -> Any:
    return apply(session, actor, parse_command({"action": action, **fields}), now)


def refused(session: Session, actor: str, body: dict[str, Any], now: float = 100.0) -> str:
    before = copy.deepcopy(session)
    with pytest.raises(Refusal) as error:
        apply(session, actor, parse_command(body), now)
    assert session == before, f"{body} by {actor} changed the session"
    return error.value.code


def make_session(people: list[str] = PEOPLE) -> Session:
    s = Session("s1", "Group", created_at=0.0)
    s.join(FAC, "Fran", Role.FACILITATOR, 1.0)
    s.join(COF, "Cas", Role.COFACILITATOR, 2.0)
    for i, pid in enumerate(people):
        s.join(pid, pid.upper(), Role.PARTICIPANT, 3.0 + i)
    return s


def rooms_of(session: Session) -> dict[str, str]:
    return {p.id: p.room_id for p in session.participants.values()}


def opened(rooms: int = 3, **fields: Any) -> Session:
    s = make_session()
    run(s, FAC, "breakout_create", count=rooms)
    run(s, FAC, "breakout_auto_assign", seed=7)
    run(s, FAC, "breakout_open", now=100.0, **fields)
    return s


# -- assignment -----------------------------------------------------------------------------


@pytest.mark.parametrize(("people", "rooms"), [(6, 3), (7, 3), (5, 2), (2, 3), (13, 4), (1, 1)])
def test_balanced_sizes_differ_by_at_most_one(people: int, rooms: int) -> None:
    ids = [f"p{i}" for i in range(people)]
    room_ids = [f"b{i}" for i in range(1, rooms + 1)]
    for seed in range(20):
        result = auto_assign(ids, room_ids, set(), seed)
        assert sorted(result) == sorted(ids)
        sizes = Counter(result.values())
        counts = [sizes.get(r, 0) for r in room_ids]
        assert max(counts) - min(counts) <= 1, (seed, counts)


def test_keep_apart_is_honoured_when_possible_and_balance_always() -> None:
    ids = [f"p{i}" for i in range(9)]
    rooms = ["b1", "b2", "b3"]
    # a triangle and a chain: possible to separate in 3 rooms
    pairs = {frozenset(p) for p in [("p0", "p1"), ("p1", "p2"), ("p0", "p2"), ("p3", "p4")]}
    pairs |= {frozenset(("p4", "p5")), frozenset(("p3", "p5")), frozenset(("p6", "p7"))}
    for seed in range(50):
        result = auto_assign(ids, rooms, pairs, seed)
        assert all(len({result[a] for a in pair}) == 2 for pair in pairs), seed
        assert sorted(Counter(result.values()).values()) == [3, 3, 3]
    # impossible (four people who must all be apart, three rooms): still balanced, and only
    # one pair shares a room
    clique = {frozenset((a, b)) for a in ids[:4] for b in ids[:4] if a < b}
    result = auto_assign(ids[:6], rooms, clique, 3)
    assert sorted(Counter(result.values()).values()) == [2, 2, 2]
    assert sum(1 for pair in clique if len({result[a] for a in pair}) == 1) == 1


def test_assignment_is_deterministic_with_a_seed() -> None:
    ids = [f"p{i}" for i in range(10)]
    a = auto_assign(ids, ["b1", "b2", "b3"], {frozenset(("p1", "p2"))}, 42)
    assert a == auto_assign(list(reversed(ids)), ["b1", "b2", "b3"], {frozenset(("p1", "p2"))}, 42)
    assert any(auto_assign(ids, ["b1", "b2", "b3"], set(), seed) != a for seed in range(43, 50))


# -- opening, moving, timer -----------------------------------------------------------------


def test_open_moves_the_assigned_and_leaders_stay_in_main() -> None:
    s = make_session()
    run(s, FAC, "breakout_create", names=["Coping skills", "  Relapse   plans "])
    assert [r.name for r in s.breakouts.rooms] == ["Coping skills", "Relapse plans"]
    run(s, FAC, "breakout_auto_assign", seed=1)
    run(s, FAC, "breakout_assign", target="p1", room=None)  # p1 stays in main
    events = run(s, COF, "breakout_open", duration_s=600)
    where = rooms_of(s)
    assert where[FAC] == where[COF] == where["p1"] == "main"
    assert Counter(where[p] for p in PEOPLE[1:]) == Counter({"b1": 3, "b2": 2}) or Counter(
        where[p] for p in PEOPLE[1:]
    ) == Counter({"b1": 2, "b2": 3})
    moved = {e.target for e in events if isinstance(e, RoomChanged)}
    assert moved == set(PEOPLE[1:])
    for e in events:
        if isinstance(e, RoomChanged):
            together = {p for p in PEOPLE if where[p] == e.room_id} - {e.target}
            assert set(e.with_ids) == together
    public = next(e for e in events if isinstance(e, BreakoutsChanged)).payload()
    assert public["open"] is True and public["remaining_s"] == 600.0
    assert "assignment" not in public  # the plan is for leaders only
    plan = next(e for e in events if isinstance(e, BreakoutPlanChanged))
    assert plan.audience == Leaders() and "assignment" in plan.payload()


def test_timer_extend_shorten_and_the_return_countdown() -> None:
    s = opened(duration_s=300, return_countdown_s=60)
    assert tick(s, 200.0) == []
    run(s, FAC, "breakout_extend", seconds=120, now=200.0)  # ends at 520
    assert s.breakouts.ends_at == 520.0
    run(s, FAC, "breakout_extend", seconds=-60, now=210.0)  # ends at 460
    assert tick(s, 459.9) == []
    events = tick(s, 460.0)  # time is up: the return countdown starts, everyone sees it
    public = next(e for e in events if isinstance(e, BreakoutsChanged)).payload()
    assert public["closing_in_s"] == 60.0 and public["remaining_s"] == 0.0
    assert tick(s, 461.0) == []
    assert {rooms_of(s)[p] for p in PEOPLE} != {"main"}
    events = tick(s, 520.0)
    assert {rooms_of(s)[p] for p in PEOPLE} == {"main"}
    assert not s.breakouts.is_open
    assert {e.target for e in events if isinstance(e, RoomChanged)} == set(PEOPLE)
    assert tick(s, 600.0) == []


def test_extending_during_the_return_countdown_calls_it_off() -> None:
    s = opened(duration_s=60, return_countdown_s=30)
    tick(s, 160.0)
    assert s.breakouts.closes_at == 190.0
    run(s, FAC, "breakout_extend", seconds=120, now=170.0)
    assert s.breakouts.closes_at is None and s.breakouts.ends_at == 290.0
    assert tick(s, 200.0) == []


def test_shortening_past_now_starts_the_countdown_at_once() -> None:
    s = opened(duration_s=600, return_countdown_s=0)
    events = run(s, FAC, "breakout_extend", seconds=-3600, now=150.0)
    assert not s.breakouts.is_open and {rooms_of(s)[p] for p in PEOPLE} == {"main"}
    assert any(isinstance(e, RoomChanged) for e in events)


def test_close_all_and_close_one_room() -> None:
    s = opened(return_countdown_s=45)
    room = rooms_of(s)["p1"]
    mates = {p for p in PEOPLE if rooms_of(s)[p] == room}
    run(s, FAC, "breakout_close_room", room=room, now=120.0)
    assert {rooms_of(s)[p] for p in mates} == {"main"}
    assert any(rooms_of(s)[p] != "main" for p in PEOPLE)
    run(s, FAC, "breakout_close_all", now=130.0)
    assert s.breakouts.closes_at == 175.0
    assert refused(s, FAC, {"action": "breakout_close_all"}, 131.0) == "invalid"
    tick(s, 175.0)
    assert {rooms_of(s)[p] for p in PEOPLE} == {"main"}


def test_bring_everyone_back_now_even_while_the_rooms_close() -> None:
    """ "Close all rooms" starts the countdown; "Bring everyone back now" ends it at once, also
    while the countdown runs (a second press was refused before)."""
    s = opened(return_countdown_s=60)
    run(s, FAC, "breakout_close_all", now=130.0)
    assert s.breakouts.closes_at == 190.0
    events = run(s, FAC, "breakout_close_all", at_once=True, now=131.0)
    assert {rooms_of(s)[p] for p in PEOPLE} == {"main"} and not s.breakouts.is_open
    assert any(isinstance(e, RoomChanged) for e in events)
    s = opened(return_countdown_s=60)
    run(s, FAC, "breakout_close_all", at_once=True, now=140.0)  # without a countdown first
    assert {rooms_of(s)[p] for p in PEOPLE} == {"main"}


def test_move_visit_broadcast_and_help() -> None:
    s = opened()
    before = rooms_of(s)["p1"]
    other = next(r.id for r in s.breakouts.rooms if r.id != before)
    events = run(s, COF, "breakout_move", target="p1", room=other)
    assert rooms_of(s)["p1"] == other
    [moved] = [e for e in events if isinstance(e, RoomChanged)]
    assert moved.target == "p1" and moved.room_id == other
    run(s, FAC, "breakout_visit", room=other)
    assert rooms_of(s)[FAC] == other
    run(s, FAC, "breakout_visit", room="main")
    assert rooms_of(s)[FAC] == "main"
    [message] = run(s, FAC, "breakout_broadcast", text="Five minutes left")
    assert (
        isinstance(message, BroadcastMessage) and message.payload()["text"] == "Five minutes left"
    )
    [help_event] = run(s, "p1", "breakout_help", now=140.0)
    assert isinstance(help_event, RoomHelpRequested) and help_event.audience == Leaders()
    assert help_event.payload()["room"] == other
    assert refused(s, FAC, {"action": "breakout_help"}) == "invalid"  # the leader is in main


def test_participants_choose_only_when_allowed() -> None:
    s = make_session()
    run(s, FAC, "breakout_create", count=2)
    assert refused(s, "p1", {"action": "breakout_choose", "room": "b2"}) == "forbidden"
    run(s, FAC, "breakout_set_choose", allowed=True)
    run(s, "p1", "breakout_choose", room="b2")
    assert s.breakouts.assignment == {"p1": "b2"}
    run(s, FAC, "breakout_open")
    assert rooms_of(s)["p1"] == "b2"
    run(s, "p1", "breakout_choose", room="b1")  # while open: moves at once
    assert rooms_of(s)["p1"] == "b1"


def test_reuse_the_previous_assignment() -> None:
    s = opened(return_countdown_s=0)
    first = {p: rooms_of(s)[p] for p in PEOPLE}
    run(s, FAC, "breakout_close_all", now=200.0)
    run(s, FAC, "breakout_auto_assign", seed=99, now=210.0)
    run(s, FAC, "breakout_reuse_previous", now=220.0)
    assert s.breakouts.assignment == first


# -- bad input and authorization ------------------------------------------------------------

OK, FORBIDDEN, INVALID, NOT_FOUND = "ok", "forbidden", "invalid", "not_found"

# Over open rooms; (body, facilitator, cofacilitator, participant p1)
MATRIX: list[tuple[dict[str, Any], str, str, str]] = [
    ({"action": "breakout_create", "count": 2}, INVALID, INVALID, FORBIDDEN),  # open: close first
    ({"action": "breakout_assign", "target": "p2", "room": "b1"}, OK, OK, FORBIDDEN),
    ({"action": "breakout_auto_assign"}, INVALID, INVALID, FORBIDDEN),
    ({"action": "breakout_keep_apart", "a": "p1", "b": "p2"}, OK, OK, FORBIDDEN),
    ({"action": "breakout_reuse_previous"}, INVALID, INVALID, FORBIDDEN),
    ({"action": "breakout_set_choose", "allowed": True}, OK, OK, FORBIDDEN),
    ({"action": "breakout_choose", "room": "b1"}, INVALID, INVALID, FORBIDDEN),  # not allowed
    ({"action": "breakout_open"}, INVALID, INVALID, FORBIDDEN),  # already open
    ({"action": "breakout_extend", "seconds": 60}, OK, OK, FORBIDDEN),
    ({"action": "breakout_broadcast", "text": "Two minutes"}, OK, OK, FORBIDDEN),
    ({"action": "breakout_visit", "room": "b2"}, OK, OK, FORBIDDEN),
    ({"action": "breakout_move", "target": "p2", "room": "main"}, OK, OK, FORBIDDEN),
    ({"action": "breakout_close_room", "room": "b1"}, OK, OK, FORBIDDEN),
    ({"action": "breakout_close_all"}, OK, OK, FORBIDDEN),
    ({"action": "breakout_help"}, INVALID, INVALID, OK),  # leaders are in main
]


@pytest.mark.parametrize(
    ("body", "actor", "outcome"),
    [
        pytest.param(body, actor, outcome, id=f"{body['action']}-{actor}")
        for body, *outcomes in MATRIX
        for actor, outcome in zip((FAC, COF, "p1", "stranger"), (*outcomes, FORBIDDEN), strict=True)
    ],
)
def test_breakout_authorization(body: dict[str, Any], actor: str, outcome: str) -> None:
    s = opened()
    if body["action"] == "breakout_choose" and actor != "p1":
        s.breakouts.participants_choose = True  # allowed, but leaders visit instead
    if outcome == OK:
        apply(s, actor, parse_command(body), 150.0)
    else:
        assert refused(s, actor, body, 150.0) == outcome


def test_the_breakout_matrix_covers_every_breakout_action() -> None:
    assert {b["action"] for b, *_ in MATRIX} == {
        a for a in all_actions() if a.startswith("breakout_")
    }


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"action": "breakout_assign", "target": "p1", "room": "b9"}, NOT_FOUND),  # no such room
        ({"action": "breakout_move", "target": "gone", "room": "b1"}, NOT_FOUND),  # left
        ({"action": "breakout_move", "target": "p1", "room": "nowhere"}, NOT_FOUND),
        ({"action": "breakout_keep_apart", "a": "p1", "b": "p1"}, INVALID),
        ({"action": "breakout_assign", "target": COF, "room": "b1"}, INVALID),  # leaders visit
    ],
)
def test_bad_targets_change_nothing(body: dict[str, Any], code: str) -> None:
    s = opened()
    assert refused(s, FAC, body, 150.0) == code


def test_opening_with_zero_rooms_and_bad_bodies() -> None:
    s = make_session()
    assert refused(s, FAC, {"action": "breakout_open"}) == INVALID
    assert refused(s, FAC, {"action": "breakout_auto_assign"}) == INVALID
    for body in (
        {"action": "breakout_create"},
        {"action": "breakout_create", "count": 0},
        {"action": "breakout_create", "count": 2, "names": ["a"]},
        {"action": "breakout_create", "count": 51},
        {"action": "breakout_open", "duration_s": 5},
        {"action": "breakout_extend", "seconds": 0},
        {"action": "breakout_broadcast", "text": "   "},
    ):
        with pytest.raises(Refusal) as bad:
            parse_command(body)
        assert bad.value.code == INVALID, body
