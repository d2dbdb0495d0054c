"""Last-N for one router (server/media/last_n.py): each subscriber's video publishers from its
reported view (the same room's only, in the page's order, at most its slots; everyone without a
view), the publishers nobody watches, and each watched change told once."""

from __future__ import annotations

import pytest

from server.media.last_n import CAMERA_LAYER, Member, VideoSelection
from server.media.selection import Tile

pytestmark = pytest.mark.unit

SLOTS = 15


def room(*pids: str, room_id: str = "main", slots: int = SLOTS) -> list[Member]:
    return [Member(pid, room_id, True, slots) for pid in pids]


def tiles(*pids: str) -> list[Tile]:
    return [Tile(pid, 320, 240) for pid in pids]


def test_without_a_view_everyone_gets_everyone_and_nobody_is_told() -> None:
    selection = VideoSelection()
    plan = selection.plan(room("a", "b", "c"), 0.0)
    assert plan.selected == {"a": ("b", "c"), "b": ("a", "c"), "c": ("a", "b")}
    assert plan.unwatched == frozenset() and plan.told == {}


def test_a_view_selects_its_tiles_in_order_and_the_unwatched_are_told_once() -> None:
    selection = VideoSelection()
    members = room("a", "b", "c", "d")
    selection.plan(members, 0.0)
    selection.set_view("a", tiles("c", "b"))
    selection.set_view("b", tiles("a"))
    selection.set_view("c", tiles("a", "b"))
    plan = selection.plan(members, 1.0)
    assert plan.selected["a"] == ("c", "b") and plan.selected["b"] == ("a",)
    assert plan.selected["d"] == ("a", "b", "c")  # no view: everyone
    assert plan.unwatched == {"d"} and plan.told == {"d": False}  # in nobody's view

    selection.set_view("d", tiles("a"))
    plan = selection.plan(members, 2.0)
    assert plan.selected["d"] == ("a",) and plan.unwatched == {"d"}
    assert plan.told == {} and selection.plan(members, 3.0).told == {}  # on changes only

    selection.set_view("a", tiles("d"))
    plan = selection.plan(members, 4.0)
    assert plan.selected["a"] == ("d",)
    assert plan.told == {"d": True, "c": False}  # c's only watcher now looks at d


def test_a_view_is_limited_to_the_room_to_publishers_and_to_the_slots() -> None:
    selection = VideoSelection()
    members = [
        *room("a", "b", "c", slots=2),
        Member("e", "breakout", True, SLOTS),
        Member("listener", "main", False, SLOTS),  # publishes no camera
    ]
    selection.set_view("a", tiles("e", "listener", "a", "b", "b", "unknown", "c"))
    plan = selection.plan(members, 0.0)
    assert plan.selected["a"] == ("b", "c")  # not the breakout's, not itself, once each
    assert plan.selected["listener"] == ("a", "b", "c")
    selection.set_view("b", tiles("a", "c", "listener"))
    assert selection.plan(members, 1.0).selected["b"] == ("a", "c")
    many = room(*(f"p{i}" for i in range(6)), slots=3)
    plan = VideoSelection().plan(many, 0.0)
    assert plan.selected["p0"] == ("p1", "p2", "p3")  # the slots run out: the rest unseen
    assert plan.unwatched == {"p4", "p5"}  # in nobody's first three


def test_one_publisher_alone_is_unwatched_and_who_is_not_subscribed_watches_nothing() -> None:
    selection = VideoSelection()
    plan = selection.plan(room("a"), 0.0)
    assert plan.unwatched == {"a"} and plan.told == {"a": False}
    plan = selection.plan([*room("a"), Member("b", "main", True, 0)], 1.0)
    assert plan.unwatched == {"a"} and plan.told == {}  # b publishes, not yet subscribed
    plan = selection.plan(room("a", "b"), 2.0)
    assert plan.unwatched == frozenset() and plan.told == {"a": True}


def test_switches_wait_for_the_keyframe_and_forgetting_clears_a_participant() -> None:
    selection = VideoSelection()
    members = room("a", "b", "c")
    selection.set_view("a", tiles("b"))
    selection.plan(members, 0.0)
    switch = selection.switch("a", "b")
    assert switch is not None and switch.pending and switch.wanted == CAMERA_LAYER.rid
    selection.started("a", "b")
    switch = selection.switch("a", "b")
    assert switch is not None and not switch.pending and switch.current == CAMERA_LAYER.rid
    assert selection.switch("a", "c") is None  # not wanted: no switch kept

    selection.set_view("a", tiles("c"))
    selection.plan(members, 1.0)
    assert selection.switch("a", "b") is None  # turning video off is at once
    selection.set_view("b", tiles("a"))
    selection.set_view("c", tiles("b"))
    assert selection.plan(members, 2.0).told == {}  # a ring: each watched by one
    selection.forget("a")
    assert selection.view_of("a") is None and selection.switch("b", "a") is None
    plan = selection.plan(room("b", "c"), 3.0)
    assert plan.selected == {"b": (), "c": ("b",)}  # b's view showed only a
    assert plan.told == {"c": False}
