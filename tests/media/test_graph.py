"""ForwardingGraph: it alone knows which producer feeds which consumer, and routes frames,
keyframe restarts and keyframe requests along those edges."""

from __future__ import annotations

from collections.abc import Collection

import pytest

from server.media.consumer import Consumer
from server.media.forwarding import ForwardedFrame
from server.media.graph import ForwardingGraph
from server.media.producer import Producer
from server.media.stats import ForwardingStats
from tests.media.test_producer_consumer import SETUPS, Link


class Pli:
    def __init__(self) -> None:
        self.sent: list[int] = []

    def __call__(self, ssrc: int) -> None:
        self.sent.append(ssrc)


def producer(graph: ForwardingGraph, pid: str) -> Producer:
    return Producer("audio", pid, Pli(), ForwardingStats(), graph)


def consumer(graph: ForwardingGraph, kind: str = "audio") -> Consumer:
    made = Consumer(kind, 0, ForwardingStats(), graph)
    made.attach(SETUPS[kind], Link(SETUPS[kind]))
    made.activate()
    return made


def sent(made: Consumer) -> int:
    link = made._link
    assert isinstance(link, Link)
    return len(link.take())


def connected(graph: ForwardingGraph, *sources: Producer | None) -> list[Consumer]:
    """One active audio consumer per source, fed by it (None: idle)."""
    made = [consumer(graph) for _ in sources]
    for c, source in zip(made, sources, strict=True):
        graph.connect(c, source)
    return made


def refers_to(holder: object, target: object) -> bool:
    for value in vars(holder).values():
        if value is target:
            return True
        if isinstance(value, Collection) and not isinstance(value, str | bytes):
            if any(item is target for item in value):
                return True
    return False


def frame() -> ForwardedFrame:
    return ForwardedFrame([b"\xf8\xff"], 960, True, 0.0)


@pytest.fixture
def graph() -> ForwardingGraph:
    return ForwardingGraph()


@pytest.fixture
def a(graph: ForwardingGraph) -> Producer:
    return producer(graph, "p_a")


@pytest.fixture
def b(graph: ForwardingGraph) -> Producer:
    return producer(graph, "p_b")


def test_producer_and_consumer_do_not_reference_each_other(
    graph: ForwardingGraph, a: Producer
) -> None:
    c = consumer(graph)
    graph.connect(c, a)
    assert not refers_to(a, c) and not refers_to(c, a)
    assert graph.producer_of(c) is a and graph.consumers_of(a) == {c}


def test_frames_go_only_to_connected_consumers(
    graph: ForwardingGraph, a: Producer, b: Producer
) -> None:
    on_a, on_b, idle = connected(graph, a, b, None)
    graph.on_frame(a, frame())
    assert (sent(on_a), sent(on_b), sent(idle)) == (1, 0, 0)


def test_reconnecting_moves_the_edge_and_idling_removes_it(
    graph: ForwardingGraph, a: Producer, b: Producer
) -> None:
    c = consumer(graph)
    graph.connect(c, a)
    graph.on_frame(a, frame())
    graph.connect(c, b)
    graph.on_frame(a, frame())
    assert sent(c) == 1  # only the frame from before the switch
    assert graph.consumers_of(a) == frozenset() and graph.consumers_of(b) == {c}
    graph.connect(c, None)
    assert graph.producer_of(c) is None and graph.consumers_of(b) == frozenset()
    assert graph._feeds == {} and graph._producers == {}


def test_removing_a_producer_idles_its_consumers(
    graph: ForwardingGraph, a: Producer, b: Producer
) -> None:
    c1, c2, other = connected(graph, a, a, b)
    graph.remove_producer(a)
    assert graph.producer_of(c1) is None and graph.producer_of(c2) is None
    assert graph.consumers_of(a) == frozenset() and graph.producer_of(other) is b


def test_keyframe_requests_reach_the_current_producer_only(graph: ForwardingGraph) -> None:
    pli_a, pli_b = Pli(), Pli()
    a = Producer("video", "p_a", pli_a, ForwardingStats(), graph)
    b = Producer("video", "p_b", pli_b, ForwardingStats(), graph)
    for p, ssrc in ((a, 1), (b, 2)):
        p._ssrc = ssrc  # as if a packet had arrived
    c = consumer(graph, "video")
    c.request_keyframe()  # idle: goes nowhere
    graph.connect(c, a)  # a switch waits for a keyframe and asks the new source
    assert (pli_a.sent, pli_b.sent) == ([1], [])
    graph.connect(c, b)
    assert (pli_a.sent, pli_b.sent) == ([1], [2])
