"""Layer and last-N selection (server/media/selection.py) as traces of a 16-person group on a
4x4 grid: who gets which layer, what is paused at the publishers, and switches that wait for
keyframes, through a speaker change, a link going poor, tiles hidden and shown."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from rooms.quality import Level
from server.media.allocation import AllocationConfig
from server.media.selection import (
    Layer,
    RoomPlan,
    SelectionConfig,
    Switch,
    Tile,
    View,
    choose_layers,
    fitting_layer,
    forwards,
    keyframe_due,
    layer_cost_bps,
    on_packet,
    ordered,
    plan_room,
    want,
)

pytestmark = pytest.mark.unit

CONFIG = SelectionConfig(keyframe_retry_s=1.0)
SIMULCAST = (
    Layer("f", 640, 480, 1_200_000),
    Layer("q", 160, 120, 150_000),
    Layer("h", 320, 240, 400_000),
)
PEOPLE = [f"p{i:02d}" for i in range(1, 17)]
GRID_TILE = (320, 180)  # a 1280x720 page in a 4x4 grid


def grid_view(me: str, *, hidden: tuple[str, ...] = (), downstream: Level | None = None) -> View:
    tiles = tuple(Tile(p, *GRID_TILE) for p in PEOPLE if p != me and p not in hidden)
    return View(me, tiles, downstream)


@dataclass
class Room:
    """The selection state of a room, driven the way the forwarding path would drive it."""

    speaker: str | None = "p01"
    views: dict[str, View] = field(default_factory=lambda: {p: grid_view(p) for p in PEOPLE})
    switches: dict[tuple[str, str], Switch] = field(default_factory=dict)
    plan: RoomPlan | None = None

    def replan(self, now: float) -> RoomPlan:
        layers = {p: SIMULCAST for p in PEOPLE}
        speakers = {p: self.speaker for p in self.views} if self.speaker else {}
        self.plan = plan_room(self.views.values(), speakers, layers, self.switches, now, CONFIG)
        self.switches = self.plan.switches
        return self.plan

    def packet(self, publisher: str, rid: str, keyframe: bool) -> set[str]:
        """A packet of `publisher`'s layer `rid` arrives: the subscribers it is forwarded to."""
        to = set()
        for (subscriber, pub), switch in list(self.switches.items()):
            if pub == publisher:
                switch = self.switches[(subscriber, pub)] = on_packet(switch, rid, keyframe)
                if forwards(switch, rid):
                    to.add(subscriber)
        return to

    def current(self, subscriber: str) -> dict[str, str]:
        return {
            pub: s.current
            for (sub, pub), s in self.switches.items()
            if sub == subscriber and s.current is not None
        }

    def settle(self, now: float) -> RoomPlan:
        """Plan, then let a keyframe of every wanted layer arrive, then plan again."""
        self.replan(now)
        waiting = {(pub, s.wanted) for (_, pub), s in self.switches.items() if s.pending}
        for publisher, rid in sorted((p, r) for p, r in waiting if r is not None):
            self.packet(publisher, rid, keyframe=True)
        return self.replan(now)


def test_layers_are_ordered_and_fitted_to_the_tile() -> None:
    layers = ordered(SIMULCAST)
    assert [layer.rid for layer in layers] == ["q", "h", "f"]
    assert layers[fitting_layer(layers, Tile("a", 160, 90))].rid == "q"
    assert layers[fitting_layer(layers, Tile("a", 320, 180))].rid == "h"
    assert layers[fitting_layer(layers, Tile("a", 321, 180))].rid == "f"
    assert layers[fitting_layer(layers, Tile("a", 1920, 1080))].rid == "f"  # nothing bigger
    # the top layer sent at the lower one's size (a browser adapting at start-up): still the top
    same = ordered((Layer("h", 320, 240, 400_000), Layer("f", 320, 240, 100_000)))
    assert [layer.rid for layer in same] == ["h", "f"]
    assert same[fitting_layer(same, Tile("a", 640, 480))].rid == "f"


def test_sixteen_people_on_a_grid_get_half_layers_and_the_speaker_full() -> None:
    room = Room()
    plan = room.replan(now=0.0)
    # Nothing flows before the first keyframes; each wanted layer is asked for once.
    assert room.current("p05") == {}
    assert plan.keyframes == {(p, "h") for p in PEOPLE[1:]} | {("p01", "f")}
    assert all(s.keyframe_asked_at == 0.0 for s in room.switches.values())
    plan = room.settle(now=0.1)
    assert plan.keyframes == set()
    assert room.current("p05") == {p: ("f" if p == "p01" else "h") for p in PEOPLE if p != "p05"}
    assert room.current("p01") == {p: "h" for p in PEOPLE[1:]}  # no video of oneself
    # Only what is watched is sent: the speaker's full layer, everyone else's half layer.
    assert plan.paused["p01"] == {"q", "h"}
    assert all(plan.paused[p] == {"q", "f"} for p in PEOPLE[1:])
    assert len(room.switches) == 16 * 15


def test_a_speaker_change_switches_layers_at_keyframes() -> None:
    room = Room()
    room.settle(now=0.0)
    room.speaker = "p02"
    plan = room.replan(now=5.0)
    assert plan.keyframes == {("p02", "f"), ("p01", "h")}
    # Until the keyframes come, the old layers keep flowing and stay unpaused.
    assert room.current("p05")["p01"] == "f" and room.current("p05")["p02"] == "h"
    assert plan.paused["p01"] == {"q"} and plan.paused["p02"] == {"q"}
    assert room.packet("p02", "f", keyframe=False) == set()  # not a keyframe: no switch yet
    assert "p05" in room.packet("p02", "h", keyframe=False)
    assert room.packet("p02", "f", keyframe=True) == set(PEOPLE) - {"p02"}
    assert room.packet("p02", "h", keyframe=False) == set()  # nobody gets it now
    room.packet("p01", "h", keyframe=True)
    plan = room.replan(now=5.1)
    assert room.current("p05")["p01"] == "h" and room.current("p05")["p02"] == "f"
    assert room.current("p02")["p01"] == "h"  # the new speaker sees the old one as anyone
    assert plan.paused["p01"] == {"q", "f"} and plan.paused["p02"] == {"q", "h"}


def test_a_subscriber_on_a_poor_link_gets_lower_layers_and_recovers() -> None:
    room = Room()
    room.settle(now=0.0)
    room.views["p07"] = grid_view("p07", downstream=Level.POOR)
    plan = room.replan(now=10.0)
    # Only p07's pairs move: one layer down each, the speaker from full to half.
    assert plan.keyframes == {(p, "q") for p in PEOPLE if p not in ("p01", "p07")} | {("p01", "h")}
    assert plan.paused["p03"] == {"f"}  # q is wanted (by p07) again
    plan = room.settle(now=10.1)
    assert room.current("p07") == {p: ("h" if p == "p01" else "q") for p in PEOPLE if p != "p07"}
    assert room.current("p05") == {p: ("f" if p == "p01" else "h") for p in PEOPLE if p != "p05"}
    assert plan.paused["p01"] == {"q"}  # h for p07, f for everyone else
    # Lost: no video at all (audio keeps going), at once.
    room.views["p07"] = grid_view("p07", downstream=Level.LOST)
    room.replan(now=20.0)
    assert room.current("p07") == {}
    # Back to good: the layers come back, once their keyframes arrive.
    room.views["p07"] = grid_view("p07", downstream=Level.GOOD)
    room.settle(now=30.0)
    assert room.current("p07") == {p: ("f" if p == "p01" else "h") for p in PEOPLE if p != "p07"}
    assert room.plan is not None and room.plan.paused["p03"] == {"q", "f"}


def test_hidden_tiles_stop_at_once_and_unwatched_publishers_are_paused() -> None:
    room = Room()
    room.settle(now=0.0)
    room.views["p03"] = grid_view("p03", hidden=("p16",))
    plan = room.replan(now=1.0)
    assert "p16" not in room.current("p03")  # off without waiting for a keyframe
    assert room.packet("p16", "h", keyframe=False) == set(PEOPLE) - {"p03", "p16"}
    assert plan.paused["p16"] == {"q", "f"}  # others still watch its half layer
    # Everyone's page drops p16's tile (a 15-tile page, p16 off screen): p16 sends no video.
    room.views = {p: grid_view(p, hidden=("p16",)) for p in PEOPLE}
    plan = room.replan(now=2.0)
    assert plan.paused["p16"] == {"q", "h", "f"}
    assert all("p16" not in room.current(p) for p in PEOPLE)
    assert not any(pub == "p16" for _, pub in room.switches)
    # Shown again on one page: the half layer resumes and its keyframe is asked for.
    room.views["p09"] = grid_view("p09")
    plan = room.replan(now=3.0)
    assert plan.paused["p16"] == {"q", "f"}
    assert plan.keyframes == {("p16", "h")}
    assert room.packet("p16", "h", keyframe=False) == set()
    assert room.packet("p16", "h", keyframe=True) == {"p09"}


def test_keyframe_requests_are_repeated_until_one_comes() -> None:
    room = Room()
    room.replan(now=0.0)
    assert room.replan(now=0.5).keyframes == set()
    assert room.replan(now=1.0).keyframes == {(p, "h") for p in PEOPLE[1:]} | {("p01", "f")}
    switch = room.switches[("p05", "p02")]
    assert switch.keyframe_asked_at == 1.0
    assert not keyframe_due(switch, 1.9, CONFIG) and keyframe_due(switch, 2.0, CONFIG)
    settled = on_packet(switch, "h", keyframe=True)
    assert not settled.pending and not keyframe_due(settled, 9.0, CONFIG)


def test_switch_rules() -> None:
    flowing = Switch(current="h", wanted="h")
    up = want(flowing, "f")
    assert up.pending and forwards(up, "h") and not forwards(up, "f")
    assert want(up, "h") == flowing  # back to what flows: settled, nothing to wait for
    assert want(up, None) == Switch()  # off at once
    asked = Switch(current="h", wanted="f", keyframe_asked_at=3.0)
    assert want(asked, "f") is asked  # still waiting: the request time is kept
    assert on_packet(up, "q", keyframe=True) == up  # another layer's keyframe does not switch


def test_a_bandwidth_budget_lowers_big_tiles_first_then_drops_tiles() -> None:
    layers = {p: SIMULCAST for p in PEOPLE}
    tiles = (Tile("p01", 640, 480), Tile("p02", 640, 480), Tile("p03", 160, 120))
    view = View("p09", tiles, Level.GOOD, budget_bps=2_000_000)
    # 1.2 M (speaker) + 1.2 M + 0.15 M is over 2 M: p02 steps down to h (1.75 M fits).
    assert choose_layers(view, "p01", layers) == {"p01": "f", "p02": "h", "p03": "q"}
    view = View("p09", tiles, Level.GOOD, budget_bps=800_000)
    assert choose_layers(view, "p01", layers) == {"p01": "h", "p02": "q", "p03": "q"}
    view = View("p09", tiles, Level.GOOD, budget_bps=200_000)
    assert choose_layers(view, "p01", layers) == {"p01": "q"}  # the speaker is the last one
    view = View("p09", tiles, Level.GOOD, budget_bps=1)
    assert choose_layers(view, "p01", layers) == {}  # not even the speaker's lowest layer fits


def test_a_budget_carries_audio_first_and_the_spotlight_before_the_speaker() -> None:
    layers = {p: SIMULCAST for p in PEOPLE}
    tiles = (Tile("p02", 320, 240), Tile("p01", 160, 120), Tile("p03", 640, 480))
    # 3 audio streams (120 k) leave 180 k: one lowest layer, the spotlight's
    view = View("p09", tiles, Level.GOOD, budget_bps=300_000, audio_streams=3)
    assert choose_layers(view, "p01", layers, spotlight="p03") == {"p03": "q"}
    # without a spotlight the speaker comes first, then the largest tile; the smallest waits
    view = View("p09", tiles, Level.GOOD, budget_bps=400_000, audio_streams=0)
    assert choose_layers(view, "p01", layers) == {"p01": "q", "p03": "q"}


def test_tiles_of_people_without_video_or_of_oneself_get_nothing() -> None:
    layers = {"p01": SIMULCAST, "p02": ()}  # p02 publishes audio only; p03 nothing yet
    tiles = (Tile("p01", 320, 240), Tile("p02", 320, 240), Tile("p03", 320, 240))
    assert choose_layers(View("p01", tiles), None, layers) == {}
    assert choose_layers(View("p04", tiles), None, layers) == {"p01": "h"}


def test_a_layers_cost_is_what_it_sends_with_headers_or_a_guess_from_its_size_while_idle() -> None:
    config = AllocationConfig(packet_overhead=0.08, idle_layer_bps_per_pixel=2.0)
    assert layer_cost_bps(Layer("f", 640, 480, 450_000), config) == 486_000
    # nothing measured yet: not free, or every tile paused from the start would resume
    assert layer_cost_bps(Layer("f", 640, 480, 0), config) == 614_400
    assert layer_cost_bps(Layer("q", 160, 120, 0), config) == config.idle_layer_min_bps
