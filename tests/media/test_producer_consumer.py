"""Producer fan-out and Consumer slots with a fake clock: keyframe gating, PLI throttling and
the stall watchdog, queue overflow, source switches."""

from __future__ import annotations

import pytest
from aiortc.rtp import RtpPacket

from server.media.consumer import QUEUE_FRAMES, Consumer
from server.media.forwarding import ForwardedFrame
from server.media.graph import ForwardingGraph
from server.media.producer import AudioLevel, Producer
from server.media.stats import ForwardingStats

pytestmark = pytest.mark.unit

KEY = bytes([0x10, 0x00])  # S=1, PID=0, P=0: keyframe start
DELTA = bytes([0x10, 0x01])  # S=1, P=1: delta frame start


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def video_packet(seq: int, ts: int, payload: bytes, ssrc: int = 1234) -> RtpPacket:
    packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=ts, ssrc=ssrc, marker=1)
    packet.payload = payload
    return packet


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def graph() -> ForwardingGraph:
    return ForwardingGraph()


def make(
    clock: Clock, graph: ForwardingGraph | None = None, kind: str = "video"
) -> tuple[Producer, Consumer, list[int], ForwardingStats]:
    graph = graph or ForwardingGraph()
    stats = ForwardingStats()
    plis: list[int] = []
    producer = Producer(kind, "p_a", plis.append, stats, graph, clock=clock)
    consumer = Consumer(kind, 0, stats, graph, clock=clock)
    consumer.activate()
    graph.connect(consumer, producer)
    return producer, consumer, plis, stats


def queued(consumer: Consumer) -> list[ForwardedFrame]:
    frames = []
    while not consumer._queue.empty():
        frames.append(consumer._queue.get_nowait())
    return frames


def test_video_starts_at_a_keyframe_and_asks_for_one(clock: Clock) -> None:
    producer, consumer, plis, _ = make(clock)
    producer.on_packet(video_packet(1, 3000, DELTA))  # learns the ssrc; owed keyframe is asked
    assert plis == [1234]
    producer.on_packet(video_packet(2, 6000, DELTA))
    assert queued(consumer) == []
    producer.on_packet(video_packet(3, 9000, KEY))
    producer.on_packet(video_packet(4, 12000, DELTA))
    assert [f.timestamp for f in queued(consumer)] == [9000, 12000]


def test_keyframe_requests_are_throttled_and_retried_while_owed(clock: Clock) -> None:
    producer, consumer, plis, stats = make(clock)
    producer.on_packet(video_packet(1, 3000, DELTA))
    for _ in range(5):
        consumer.request_keyframe()  # a subscriber's PLI storm
    assert len(plis) == 1
    clock.now += 0.6
    consumer.request_keyframe()
    assert len(plis) == 2
    clock.now += 1.1  # publisher ignored us: the watchdog asks again on the next packet
    producer.on_packet(video_packet(2, 6000, DELTA))
    assert len(plis) == 3
    producer.on_packet(video_packet(3, 9000, KEY))
    clock.now += 5
    producer.on_packet(video_packet(4, 12000, DELTA))
    assert len(plis) == 3  # keyframe arrived: nothing owed
    assert stats.keyframe_requests == 3


def test_full_queue_is_flushed_and_restarts_at_keyframe(clock: Clock) -> None:
    producer, consumer, plis, stats = make(clock)
    producer.on_packet(video_packet(0, 0, KEY))
    for seq in range(1, QUEUE_FRAMES["video"] + 5):
        clock.now += 1.0  # never throttled
        producer.on_packet(video_packet(seq, seq * 3000, DELTA))
    assert stats.frames_dropped == QUEUE_FRAMES["video"] + 1
    assert queued(consumer) == []  # the rest waits for a keyframe
    assert plis  # and one was asked for


def test_switching_source_rebases_and_regates(clock: Clock, graph: ForwardingGraph) -> None:
    producer, consumer, _, _ = make(clock, graph)
    producer.on_packet(video_packet(0, 90_000, KEY))
    frame = queued(consumer)[0]
    assert consumer.pack(frame) == ([KEY], 0)
    other = Producer("video", "p_b", lambda ssrc: None, ForwardingStats(), graph, clock=clock)
    graph.connect(consumer, other)
    assert consumer not in graph.consumers_of(producer) and consumer in graph.consumers_of(other)
    producer.on_packet(video_packet(1, 93_000, KEY))
    other.on_packet(video_packet(50, 7_000, DELTA, ssrc=9))
    assert queued(consumer) == []
    other.on_packet(video_packet(51, 10_000, KEY, ssrc=9))
    assert consumer.pack(queued(consumer)[0])[1] == 3000  # one frame after the last sent


def test_inactive_or_paused_media_is_not_delivered(clock: Clock, graph: ForwardingGraph) -> None:
    stats = ForwardingStats()
    producer = Producer("audio", "p_a", lambda ssrc: None, stats, graph, clock=clock)
    consumer = Consumer("audio", 0, stats, graph, clock=clock)
    graph.connect(consumer, producer)
    packet = video_packet(1, 960, b"\xf8\xff")
    producer.on_packet(packet)
    assert queued(consumer) == []  # subscriber not connected yet
    consumer.activate()
    producer.paused = True
    producer.on_packet(packet)
    assert queued(consumer) == []
    producer.paused = False
    producer.on_packet(packet)
    assert len(queued(consumer)) == 1


def test_audio_levels_are_emitted_per_packet(clock: Clock, graph: ForwardingGraph) -> None:
    levels: list[AudioLevel] = []
    producer = Producer(
        "audio",
        "p_a",
        lambda ssrc: None,
        ForwardingStats(),
        graph,
        on_audio_level=levels.append,
        clock=clock,
    )
    packet = video_packet(1, 960, b"\xf8\xff")
    packet.extensions.audio_level = (True, 30)
    producer.on_packet(packet)
    assert levels == [AudioLevel("p_a", 30, True, clock.now, clock.now)]
    clock.now += 0.5  # the next packet, 20 ms of audio later, arrives late: timed by its stamp
    packet = video_packet(2, 960 + 960, b"\xf8\xff")
    packet.extensions.audio_level = (False, 60)
    producer.on_packet(packet)
    assert levels[1].at == clock.now and levels[1].media_at == pytest.approx(100.02)


def test_resumed_video_restarts_at_a_keyframe(clock: Clock) -> None:
    producer, consumer, plis, _ = make(clock)
    producer.on_packet(video_packet(0, 0, KEY))
    producer.on_packet(video_packet(1, 3000, DELTA))
    assert len(queued(consumer)) == 2
    producer.set_paused(True)
    producer.on_packet(video_packet(2, 6000, DELTA))
    assert queued(consumer) == []
    clock.now += 1
    asked_before = len(plis)
    producer.set_paused(False)
    assert len(plis) == asked_before + 1  # a keyframe is asked for on resume
    producer.on_packet(video_packet(3, 9000, DELTA))
    assert queued(consumer) == []
    producer.on_packet(video_packet(4, 12000, KEY))
    assert [f.timestamp for f in queued(consumer)] == [12000]
