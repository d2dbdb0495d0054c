"""Last-N video for one router: which publishers' video each subscriber's slots carry (the tiles
its page reports showing), at which simulcast layer, and which layers nobody watches (their
publishers are told to stop encoding them).

The choice is `selection.plan_room`'s over each publisher's available layers (a browser's
simulcast layers, or the one layer `CAMERA_LAYER` of a camera without simulcast); this class
keeps what it needs between calls: each subscriber's reported view, the per-pair `Switch`es,
and what each publisher was last told. No sockets, no aiortc: the router passes its members in
as values, and the live layer each room's active speaker (`set_speaker`), whose tile gets the
top layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from server.media.allocation import Allocation
from server.media.selection import (
    Layer,
    SelectionConfig,
    Switch,
    Tile,
    View,
    on_packet,
    plan_room,
)

# The one layer of a camera without simulcast (bots); its size is also what an unreported
# view's tiles are taken to be.
CAMERA_LAYER = Layer("c", 640, 480, 600_000)


@dataclass(frozen=True)
class Member:
    """A participant as the router sees it: where it is and what it sends and can receive."""

    pid: str
    room_id: str
    publishes_video: bool
    video_slots: int  # 0: not subscribed (watches nothing)
    layers: tuple[Layer, ...] = (CAMERA_LAYER,)  # its camera's layers available now
    publishes_audio: bool = False


@dataclass(frozen=True)
class VideoPlan:
    # subscriber -> (publisher, its switch) for each video its slots carry, in its view's order
    selected: dict[str, tuple[tuple[str, Switch], ...]]
    unwatched: frozenset[str]  # video publishers none of whose layers anyone gets or waits for
    paused: dict[str, frozenset[str]]  # publisher -> its layers nobody gets or waits for
    told: dict[str, frozenset[str]]  # publisher -> paused layers, where changed since last told
    # subscriber -> the publishers its budget leaves without video, where changed since last
    held_back: dict[str, frozenset[str]] = field(default_factory=dict)


class VideoSelection:
    def __init__(self, config: SelectionConfig | None = None) -> None:
        self._config = config or SelectionConfig()
        self._views: dict[str, tuple[Tile, ...]] = {}  # subscriber -> its page's tiles
        self._switches: dict[tuple[str, str], Switch] = {}
        self._told: dict[str, frozenset[str]] = {}  # publisher -> paused, as last told
        self._speakers: dict[str, str] = {}  # room -> its active speaker
        self._layered: frozenset[str] = frozenset()  # cameras of more than one layer, last plan
        self._spotlight: str | None = None
        self._budgets: dict[str, int] = {}  # subscriber -> its downlink estimate, bit/s
        self._allocations: dict[str, Allocation] = {}  # subscriber -> its last allocation
        self.unwatched: frozenset[str] = frozenset()

    def set_view(self, subscriber: str, tiles: Iterable[Tile]) -> None:
        """The tiles `subscriber`'s page shows, most important first."""
        self._views[subscriber] = tuple(tiles)

    def clear_view(self, subscriber: str) -> None:
        """Back to everyone until the page reports again (it moved to another room)."""
        self._views.pop(subscriber, None)

    def view_of(self, subscriber: str) -> tuple[Tile, ...] | None:
        """As reported; None when the page never reported one (it gets everyone)."""
        return self._views.get(subscriber)

    def set_speaker(self, room_id: str, speaker: str | None) -> bool:
        """`room_id`'s active speaker (None: nobody speaks); whether a re-plan can change a
        layer. The speaker's tile gets its camera's top layer, so only a speaker, new or old,
        with a camera of several layers changes a plan (the views built here carry no
        bandwidth budget); a camera gaining layers is re-planned for that anyway (LayerWatch),
        with the speaker remembered here."""
        before = self._speakers.get(room_id)
        if before == speaker:
            return False
        if speaker is None:
            del self._speakers[room_id]
        else:
            self._speakers[room_id] = speaker
        return before in self._layered or speaker in self._layered

    def set_spotlight(self, pid: str | None) -> bool:
        """The session's spotlight (its tile first and at the top layer); whether it changed."""
        changed = pid != self._spotlight
        self._spotlight = pid
        return changed

    def set_budget(self, subscriber: str, bps: int) -> None:
        """`subscriber`'s downlink estimate: its video is allocated within it from now on."""
        self._budgets[subscriber] = bps

    def allocation(self, subscriber: str) -> Allocation | None:
        """How its budget was last spent (with the trace of why), if it has one."""
        return self._allocations.get(subscriber)

    def speaker(self, room_id: str) -> str | None:
        return self._speakers.get(room_id)

    def forget(self, pid: str) -> None:
        """`pid`'s media is gone: its view, its switches either way, and what it was told (a
        new publish starts encoding, as watched)."""
        self._views.pop(pid, None)
        self._told.pop(pid, None)
        self._budgets.pop(pid, None)
        self._allocations.pop(pid, None)
        self._switches = {pair: s for pair, s in self._switches.items() if pid not in pair}

    def started(self, subscriber: str, publisher: str, rid: str) -> None:
        """The slot carrying `publisher` to `subscriber` forwarded a keyframe of layer `rid`:
        a pending switch to it took effect."""
        pair = (subscriber, publisher)
        switch = self._switches.get(pair)
        if switch is not None:
            self._switches[pair] = on_packet(switch, rid, keyframe=True)

    def switch(self, subscriber: str, publisher: str) -> Switch | None:
        return self._switches.get((subscriber, publisher))

    def plan(self, members: Sequence[Member], now: float) -> VideoPlan:
        """Each subscriber's publishers and layers (the same room's, its reported tiles in their
        order, or everyone when it reported none; at most its slots), the layers and publishers
        nobody watches, and the changes of paused layers to tell."""
        views = [self._view(m, members) for m in members if m.video_slots > 0]
        layers = {m.pid: m.layers for m in members if m.publishes_video}
        self._layered = frozenset(pid for pid, available in layers.items() if len(available) > 1)
        speakers = {m.pid: s for m in members if (s := self._speakers.get(m.room_id))}
        plan = plan_room(
            views,
            speakers,
            layers,
            self._switches,
            now,
            self._config,
            self._spotlight,
            self._allocations,
        )
        self._switches = plan.switches
        held_back = {
            sub: allocation.paused
            for sub, allocation in plan.allocations.items()
            if allocation.paused != self._held_back(sub)
        }
        self._allocations = plan.allocations
        selected = {
            view.subscriber: tuple(
                (tile.publisher, switch)
                for tile in view.tiles
                if (switch := plan.switches.get((view.subscriber, tile.publisher))) is not None
                and switch.wanted is not None
            )
            for view in views
        }
        self.unwatched = frozenset(
            pub
            for pub, rids in plan.paused.items()
            if rids and rids == {layer.rid for layer in layers[pub]}
        )
        told: dict[str, frozenset[str]] = {}
        for publisher, paused in plan.paused.items():
            if self._told.get(publisher, frozenset()) != paused:
                told[publisher] = paused
            self._told[publisher] = paused
        return VideoPlan(selected, self.unwatched, plan.paused, told, held_back)

    def _held_back(self, subscriber: str) -> frozenset[str]:
        allocation = self._allocations.get(subscriber)
        return allocation.paused if allocation else frozenset()

    def _view(self, member: Member, members: Sequence[Member]) -> View:
        """`member`'s tiles limited to video publishers of its room, once each, at most its
        slots."""
        others = [
            m.pid
            for m in members
            if m.pid != member.pid and m.room_id == member.room_id and m.publishes_video
        ]
        reported = self._views.get(member.pid)
        if reported is None:
            reported = tuple(Tile(pid, CAMERA_LAYER.width, CAMERA_LAYER.height) for pid in others)
        tiles: dict[str, Tile] = {}
        for tile in reported:
            if tile.publisher in others and tile.publisher not in tiles:
                tiles[tile.publisher] = tile
        audio = sum(
            1
            for m in members
            if m.pid != member.pid and m.room_id == member.room_id and m.publishes_audio
        )
        shown = tuple(tiles.values())[: member.video_slots]
        return View(
            member.pid, shown, budget_bps=self._budgets.get(member.pid), audio_streams=audio
        )
