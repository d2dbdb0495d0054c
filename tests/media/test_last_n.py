"""Last-N for one router (server/media/last_n.py): each subscriber's video publishers from its
reported view (the same room's only, in the page's order, at most its slots; everyone without a
view), the publishers nobody watches, and each watched change told once."""

from __future__ import annotations

import pytest

from server.media.last_n import CAMERA_LAYER, Member, VideoPlan, VideoSelection
from server.media.selection import Layer, Tile

pytestmark = pytest.mark.unit

SLOTS = 15
OFF = frozenset({CAMERA_LAYER.rid})  # told: its one layer paused (unwatched)
ON = frozenset[str]()  # told: nothing paused (watched)


def shown(plan: VideoPlan) -> dict[str, tuple[str, ...]]:
    """Each subscriber's video publishers, in its slots' order."""
    return {sub: tuple(pub for pub, _ in picks) for sub, picks in plan.selected.items()}


def room(*pids: str, room_id: str = "main", slots: int = SLOTS) -> list[Member]:
    return [Member(pid, room_id, True, slots) for pid in pids]


def tiles(*pids: str) -> list[Tile]:
    return [Tile(pid, 320, 240) for pid in pids]


def test_without_a_view_everyone_gets_everyone_and_nobody_is_told() -> None:
    selection = VideoSelection()
    plan = selection.plan(room("a", "b", "c"), 0.0)
    assert shown(plan) == {"a": ("b", "c"), "b": ("a", "c"), "c": ("a", "b")}
    assert plan.unwatched == frozenset() and plan.told == {}


def test_a_view_selects_its_tiles_in_order_and_the_unwatched_are_told_once() -> None:
    selection = VideoSelection()
    members = room("a", "b", "c", "d")
    selection.plan(members, 0.0)
    selection.set_view("a", tiles("c", "b"))
    selection.set_view("b", tiles("a"))
    selection.set_view("c", tiles("a", "b"))
    plan = selection.plan(members, 1.0)
    assert shown(plan)["a"] == ("c", "b") and shown(plan)["b"] == ("a",)
    assert shown(plan)["d"] == ("a", "b", "c")  # no view: everyone
    assert plan.unwatched == {"d"} and plan.told == {"d": OFF}  # in nobody's view

    selection.set_view("d", tiles("a"))
    plan = selection.plan(members, 2.0)
    assert shown(plan)["d"] == ("a",) and plan.unwatched == {"d"}
    assert plan.told == {} and selection.plan(members, 3.0).told == {}  # on changes only

    selection.set_view("a", tiles("d"))
    plan = selection.plan(members, 4.0)
    assert shown(plan)["a"] == ("d",)
    assert plan.told == {"d": ON, "c": OFF}  # c's only watcher now looks at d


def test_a_view_is_limited_to_the_room_to_publishers_and_to_the_slots() -> None:
    selection = VideoSelection()
    members = [
        *room("a", "b", "c", slots=2),
        Member("e", "breakout", True, SLOTS),
        Member("listener", "main", False, SLOTS),  # publishes no camera
    ]
    selection.set_view("a", tiles("e", "listener", "a", "b", "b", "unknown", "c"))
    plan = selection.plan(members, 0.0)
    assert shown(plan)["a"] == ("b", "c")  # not the breakout's, not itself, once each
    assert shown(plan)["listener"] == ("a", "b", "c")
    selection.set_view("b", tiles("a", "c", "listener"))
    assert shown(selection.plan(members, 1.0))["b"] == ("a", "c")
    many = room(*(f"p{i}" for i in range(6)), slots=3)
    plan = VideoSelection().plan(many, 0.0)
    assert shown(plan)["p0"] == ("p1", "p2", "p3")  # the slots run out: the rest unseen
    assert plan.unwatched == {"p4", "p5"}  # in nobody's first three


def test_one_publisher_alone_is_unwatched_and_who_is_not_subscribed_watches_nothing() -> None:
    selection = VideoSelection()
    plan = selection.plan(room("a"), 0.0)
    assert plan.unwatched == {"a"} and plan.told == {"a": OFF}
    plan = selection.plan([*room("a"), Member("b", "main", True, 0)], 1.0)
    assert plan.unwatched == {"a"} and plan.told == {}  # b publishes, not yet subscribed
    plan = selection.plan(room("a", "b"), 2.0)
    assert plan.unwatched == frozenset() and plan.told == {"a": ON}


def test_switches_wait_for_the_keyframe_and_forgetting_clears_a_participant() -> None:
    selection = VideoSelection()
    members = room("a", "b", "c")
    selection.set_view("a", tiles("b"))
    selection.plan(members, 0.0)
    switch = selection.switch("a", "b")
    assert switch is not None and switch.pending and switch.wanted == CAMERA_LAYER.rid
    selection.started("a", "b", CAMERA_LAYER.rid)
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
    assert shown(plan) == {"b": (), "c": ("b",)}  # b's view showed only a
    assert plan.told == {"c": OFF}


H = Layer("h", 320, 240, 150_000)
F = Layer("f", 640, 480, 550_000)


def test_simulcast_layers_follow_the_tile_size_and_a_stopped_layer_falls_back() -> None:
    selection = VideoSelection()
    watchers = [Member(pid, "main", False, SLOTS) for pid in ("big", "small")]
    both = [Member("pub", "main", True, 0, (H, F)), *watchers]
    selection.set_view("big", [Tile("pub", 600, 450)])
    selection.set_view("small", [Tile("pub", 200, 150)])
    plan = selection.plan(both, 0.0)
    assert dict(plan.selected["big"])["pub"].wanted == "f"
    assert dict(plan.selected["small"])["pub"].wanted == "h"
    assert plan.paused["pub"] == frozenset() and plan.told == {}
    selection.started("big", "pub", "f")
    selection.started("small", "pub", "h")

    # the small tile's watcher leaves: "h" is paused at the publisher, told once
    selection.set_view("small", [])
    plan = selection.plan(both, 1.0)
    assert plan.paused["pub"] == {"h"} and plan.told == {"pub": frozenset({"h"})}
    assert "pub" not in plan.unwatched  # "f" is still watched

    # the publisher stopped sending "f" (its bandwidth): the big tile falls back to "h", and
    # "f" keeps flowing (nothing does) until "h"'s keyframe; then the switch settles
    plan = selection.plan([Member("pub", "main", True, 0, (H,)), *watchers], 2.0)
    switch = dict(plan.selected["big"])["pub"]
    assert (switch.current, switch.wanted) == ("f", "h") and plan.paused["pub"] == frozenset()
    assert plan.told == {"pub": frozenset()}  # "h" wanted again: resumed
    selection.started("big", "pub", "h")
    settled = selection.switch("big", "pub")
    assert settled is not None and (settled.current, settled.wanted) == ("h", "h")

    # nobody watches either layer: the publisher is unwatched, both layers paused
    selection.set_view("big", [])
    plan = selection.plan(both, 3.0)
    assert plan.paused["pub"] == {"h", "f"} and plan.unwatched == {"pub"}


def test_the_active_speaker_of_each_room_gets_the_top_layer_in_a_small_tile() -> None:
    selection = VideoSelection()
    members = [
        Member("pub", "main", True, 0, (H, F)),
        Member("watcher", "main", False, SLOTS),
        Member("other", "breakout", True, 0, (H, F)),
        Member("away", "breakout", False, SLOTS),
    ]
    selection.set_view("watcher", [Tile("pub", 200, 150)])
    selection.set_view("away", [Tile("other", 200, 150)])
    assert dict(selection.plan(members, 0.0).selected["watcher"])["pub"].wanted == "h"

    assert selection.set_speaker("main", "pub")  # changed: the router re-plans
    assert not selection.set_speaker("main", "pub")  # unchanged: nothing to re-plan
    selection.set_speaker("breakout", "away")  # another room's speaker
    plan = selection.plan(members, 1.0)
    assert dict(plan.selected["watcher"])["pub"].wanted == "f"  # its small tile at the top
    assert dict(plan.selected["away"])["other"].wanted == "h"  # its room's speaker is another

    assert selection.set_speaker("main", None)  # nobody speaks: the tile's size again
    assert dict(selection.plan(members, 2.0).selected["watcher"])["pub"].wanted == "h"


def test_a_speaker_change_re_plans_only_where_a_layer_can_change() -> None:
    """The speaker's tile gets its top layer: a camera of one layer has no other to get, so
    speakers without a layered camera need no re-plan (every packet's level in a busy room
    moves the speaker; a re-plan is O(room^2)). Remembered all the same for later plans."""
    selection = VideoSelection()
    members = [
        Member("layered", "main", True, SLOTS, (H, F)),
        Member("single", "main", True, SLOTS),
        Member("watcher", "main", False, SLOTS),
    ]
    selection.set_view("watcher", [Tile("layered", 200, 150), Tile("single", 200, 150)])
    selection.plan(members, 0.0)

    assert not selection.set_speaker("main", "single")  # nothing of it can change
    assert selection.set_speaker("main", "layered")  # its tile goes to "f"
    assert dict(selection.plan(members, 1.0).selected["watcher"])["layered"].wanted == "f"
    assert selection.set_speaker("main", "single")  # "layered" goes back to its tile's "h"
    assert dict(selection.plan(members, 2.0).selected["watcher"])["layered"].wanted == "h"
    assert not selection.set_speaker("main", None)

    # "single" starts sending two layers (a re-plan for that comes from the layer watch): its
    # turn as the speaker, though it needed no re-plan, counts from then on
    assert not selection.set_speaker("main", "single")
    members[1] = Member("single", "main", True, SLOTS, (H, F))
    assert dict(selection.plan(members, 3.0).selected["watcher"])["single"].wanted == "f"


def test_a_subscribers_budget_holds_back_tiles_and_says_so_once() -> None:
    selection = VideoSelection()
    members = [
        Member(pid, "main", True, SLOTS, (CAMERA_LAYER,), publishes_audio=True)
        for pid in ("a", "b", "c", "d")
    ]
    selection.set_view("a", tiles("b", "c", "d"))
    selection.set_speaker("main", "d")
    assert selection.set_spotlight("c") and not selection.set_spotlight("c")
    # 3 audio streams (120 k) and room for one 600 k camera: the spotlight's
    selection.set_budget("a", 3 * 40_000 + 650_000)
    plan = selection.plan(members, 0.0)
    assert shown(plan)["a"] == ("c",)
    assert plan.held_back == {"a": frozenset({"b", "d"})}
    allocation = selection.allocation("a")
    assert allocation is not None and any("b: paused" in line for line in allocation.trace)
    assert selection.plan(members, 1.0).held_back == {}  # told once
    selection.set_budget("a", 3 * 40_000 + 3 * 700_000)
    plan = selection.plan(members, 5.0)  # after the pause's hold: all back
    assert shown(plan)["a"] == ("b", "c", "d")
    assert plan.held_back == {"a": frozenset()}
    selection.forget("a")
    assert selection.allocation("a") is None
