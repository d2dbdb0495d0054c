"""Last-N video for one router: which publishers' video each subscriber's slots carry (the tiles
its page reports showing), and which publishers nobody watches (they are told to stop encoding).

The choice is `selection.plan_room`'s, with one camera layer (no simulcast yet); this class keeps
what it needs between calls: each subscriber's reported view, the per-pair `Switch`es, and what
each publisher was last told. No sockets, no aiortc: the router passes its members in as values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from server.media.selection import (
    Layer,
    SelectionConfig,
    Switch,
    Tile,
    View,
    on_packet,
    plan_room,
)

# The one layer of a camera until browsers send simulcast: its size is what an unreported
# view's tiles are taken to be.
CAMERA_LAYER = Layer("c", 640, 480, 600_000)


@dataclass(frozen=True)
class Member:
    """A participant as the router sees it: where it is and what it sends and can receive."""

    pid: str
    room_id: str
    publishes_video: bool
    video_slots: int  # 0: not subscribed (watches nothing)


@dataclass(frozen=True)
class VideoPlan:
    selected: dict[str, tuple[str, ...]]  # subscriber -> the publishers its video slots carry
    unwatched: frozenset[str]  # video publishers no subscriber gets or waits for
    told: dict[str, bool]  # publisher -> watched, for those whose state changed since last told


class VideoSelection:
    def __init__(self, config: SelectionConfig | None = None) -> None:
        self._config = config or SelectionConfig()
        self._views: dict[str, tuple[Tile, ...]] = {}  # subscriber -> its page's tiles
        self._switches: dict[tuple[str, str], Switch] = {}
        self._told: dict[str, bool] = {}  # publisher -> watched, as last told (default True)
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

    def forget(self, pid: str) -> None:
        """`pid`'s media is gone: its view, its switches either way, and what it was told (a
        new publish starts encoding, as watched)."""
        self._views.pop(pid, None)
        self._told.pop(pid, None)
        self._switches = {pair: s for pair, s in self._switches.items() if pid not in pair}

    def started(self, subscriber: str, publisher: str) -> None:
        """The slot carrying `publisher` to `subscriber` forwarded its first keyframe: the
        pending switch took effect."""
        pair = (subscriber, publisher)
        switch = self._switches.get(pair)
        if switch is not None:
            self._switches[pair] = on_packet(switch, CAMERA_LAYER.rid, keyframe=True)

    def switch(self, subscriber: str, publisher: str) -> Switch | None:
        return self._switches.get((subscriber, publisher))

    def plan(self, members: Sequence[Member], now: float) -> VideoPlan:
        """Each subscriber's publishers (the same room's, its reported tiles in their order, or
        everyone when it reported none; at most its slots), the publishers nobody watches, and
        the changes of watched state to tell."""
        views = [self._view(m, members) for m in members if m.video_slots > 0]
        layers = {m.pid: (CAMERA_LAYER,) for m in members if m.publishes_video}
        plan = plan_room(views, None, layers, self._switches, now, self._config)
        self._switches = plan.switches
        selected = {view.subscriber: tuple(tile.publisher for tile in view.tiles) for view in views}
        self.unwatched = frozenset(pub for pub, rids in plan.paused.items() if rids)
        told: dict[str, bool] = {}
        for publisher in layers:
            watched = publisher not in self.unwatched
            if self._told.get(publisher, True) != watched:
                told[publisher] = watched
            self._told[publisher] = watched
        return VideoPlan(selected, self.unwatched, told)

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
        return View(member.pid, tuple(tiles.values())[: member.video_slots])
