"""MediaRouter's wiring through its graph, without peer connections: who sees whom as people
move between rooms (breakouts move consumers, not peer connections) and leave, and last-N (a
page's view picks the video its slots carry; audio stays everyone's)."""

from __future__ import annotations

from server.config import MediaConfig
from server.media.consumer import Consumer
from server.media.participant import Slot
from server.media.producer import Producer
from server.media.router import KINDS, MediaRouter
from server.media.selection import Tile
from server.media.simulcast import VideoLayers
from server.media.stats import ForwardingStats

SLOTS = 2


class Room:
    def __init__(self) -> None:
        self.announced: list[tuple[str, list[Slot]]] = []
        self.watched: list[tuple[str, bool]] = []
        self.router = MediaRouter(
            MediaConfig(slots_per_kind=SLOTS),
            ForwardingStats(),
            lambda pid, slots: self.announced.append((pid, slots)),
            lambda level: None,
            lambda pid: None,
            lambda pid, rids: self.watched.append((pid, bool(rids))),
        )

    def join(self, pid: str, room_id: str) -> None:
        """As publish and subscribe would leave it, minus the peer connections."""
        router = self.router
        router.add(pid, room_id)
        media = router.participants[pid]
        media.producers = {
            "audio": Producer("audio", pid, lambda ssrc: None, router.stats, router.graph)
        }
        media.camera = VideoLayers(
            lambda rid: Producer(
                "video", pid, lambda ssrc: None, router.stats, router.graph, rid=rid
            ),
            None,
        )
        media.slots = {
            kind: [Consumer(kind, i, router.stats, router.graph) for i in range(SLOTS)]
            for kind in KINDS
        }
        for kind in KINDS:
            for consumer in media.slots[kind]:
                consumer.mid = f"{pid}-{kind}-{consumer.slot}"
        router.move(pid, room_id)

    def sees(self, pid: str, kind: str | None = None) -> set[str]:
        return {
            s.participant_id
            for s in self.router.slots(pid)
            if s.participant_id and kind in (None, s.kind)
        }

    def feeds(self, pid: str) -> set[Consumer]:
        graph, media = self.router.graph, self.router.participants[pid]
        return {c for p in media.all_producers() for c in graph.consumers_of(p)}

    def slots_of(self, pid: str) -> set[Consumer]:
        return {c for cs in self.router.participants[pid].slots.values() for c in cs}


def test_moving_reconnects_the_same_consumers() -> None:
    room = Room()
    for pid in ("p_a", "p_b", "p_c"):
        room.join(pid, "main")
    assert room.sees("p_a") == {"p_b", "p_c"}
    a_slots = room.slots_of("p_a")
    room.announced.clear()

    room.router.move("p_c", "breakout")
    assert room.sees("p_a") == {"p_b"} and room.sees("p_c") == set()
    assert room.feeds("p_c") == set()  # c's producers feed nobody; c's consumers are idle
    assert all(room.router.graph.producer_of(c) is None for c in room.slots_of("p_c"))
    assert {pid for pid, _ in room.announced} == {"p_a", "p_b", "p_c"}

    room.router.move("p_b", "breakout")
    assert room.sees("p_a") == set() and room.sees("p_b") == {"p_c"}
    assert room.feeds("p_c") <= room.slots_of("p_b") and len(room.feeds("p_c")) == 2
    assert room.slots_of("p_a") == a_slots  # the same consumers, only their sources changed


async def test_leaving_disconnects_both_ways() -> None:
    room = Room()
    for pid in ("p_a", "p_b"):
        room.join(pid, "main")
    gone = room.router.participants["p_b"]
    b_slots = room.slots_of("p_b")
    assert len(room.feeds("p_b")) == 2
    await room.router.remove("p_b")
    graph = room.router.graph
    assert all(not graph.consumers_of(p) for p in gone.all_producers())
    assert all(graph.producer_of(c) is None for c in b_slots)
    assert room.sees("p_a") == set()


def test_held_video_follows_the_graph() -> None:
    room = Room()
    for pid in ("p_a", "p_b", "p_c"):
        room.join(pid, "main")
    room.router.hold_video("p_a", {"p_b"})
    held = set()
    for consumer in room.router.participants["p_a"].slots["video"]:
        source = room.router.graph.producer_of(consumer)
        assert source is not None
        if consumer.held:
            held.add(source.participant_id)
    assert held == {"p_c"}


def test_a_view_picks_the_video_slots_and_the_unwatched_publisher_is_told() -> None:
    room = Room()
    for pid in ("p_a", "p_b", "p_c"):
        room.join(pid, "main")
    room.router.hold_video("p_a", {"p_c"})  # a weak link keeps only c's video
    assert room.watched == [("p_a", False), ("p_a", True)]  # alone at first, then watched
    room.announced.clear()
    room.watched.clear()
    room.router.set_view("p_a", [Tile("p_c", 320, 240)])
    assert room.sees("p_a", "video") == {"p_c"} and room.sees("p_a", "audio") == {"p_b", "p_c"}
    assert [pid for pid, _ in room.announced] == ["p_a"]  # only a's slots changed
    assert room.watched == []  # b is still watched by c
    room.router.set_view("p_c", [Tile("p_a", 320, 240)])
    assert room.watched == [("p_b", False)]
    assert room.router.video.unwatched == {"p_b"}
    room.router.set_view("p_a", [Tile("p_b", 640, 480), Tile("p_c", 320, 240)])
    assert room.watched == [("p_b", False), ("p_b", True)]
    room.router.move("p_c", "main")  # a move forgets the mover's view: everyone until it reports
    assert room.router.video.view_of("p_c") is None
    video = {
        room.router.graph.producer_of(c): c.held
        for c in room.router.participants["p_a"].slots["video"]
    }
    assert {p.participant_id: held for p, held in video.items() if p} == {
        "p_b": True,  # the weak-link hold still applies on top of the view
        "p_c": False,
    }


async def test_a_switched_slot_starts_at_the_keyframe() -> None:
    room = Room()
    for pid in ("p_a", "p_b", "p_c"):
        room.join(pid, "main")
    room.router.set_view("p_a", [Tile("p_b", 320, 240)])
    switch = room.router.video.switch("p_a", "p_b")
    assert switch is not None and switch.pending
    (slot,) = [
        c
        for c in room.router.participants["p_a"].slots["video"]
        if room.router.graph.producer_of(c)
    ]
    room.router.graph.on_started(slot)  # what the consumer calls at the keyframe it waited for
    switch = room.router.video.switch("p_a", "p_b")
    assert switch is not None and not switch.pending
    await room.router.remove("p_b")
    assert room.router.video.switch("p_a", "p_b") is None
