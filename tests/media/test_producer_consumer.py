"""Producer fan-out and Consumer slots with a fake clock and a link that keeps what was sent:
keyframe gating, PLI throttling and the stall watchdog, a backed-up subscriber, source switches,
NACKs."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

import pytest
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from server.media.consumer import Consumer
from server.media.graph import ForwardingGraph
from server.media.producer import AudioLevel, Producer
from server.media.rtp_reader import ReceivedPacket
from server.media.rtp_writer import (
    URI_ABS_SEND_TIME,
    URI_AUDIO_LEVEL,
    URI_MID,
    FrameWriting,
    SendSetup,
    abs_send_time,
)
from server.media.stats import ForwardingStats

pytestmark = pytest.mark.unit

KEY = bytes([0x10, 0x00])  # S=1, PID=0, P=0: keyframe start
DELTA = bytes([0x10, 0x01])  # S=1, P=1: delta frame start
SETUPS = {
    "video": SendSetup(5555, 96, "1", {URI_MID: 1, URI_ABS_SEND_TIME: 3}, rtx=(97, 6666)),
    "audio": SendSetup(7777, 111, "0", {URI_MID: 1, URI_AUDIO_LEVEL: 2}),
}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def extensions_map(setup: SendSetup) -> HeaderExtensionsMap:
    """aiortc's own reading of what `setup` negotiated."""
    made = HeaderExtensionsMap()
    made.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=ext_id, uri=uri)
                for uri, ext_id in setup.extensions.items()
            ]
        )
    )
    return made


class PacketLink(ABC):
    """A SenderLink that writes each frame with the pure writer and sends its packets through
    `send` (never the compiled fan-out)."""

    direct = False

    @abstractmethod
    def writable(self) -> bool: ...

    @abstractmethod
    def send(self, packets: list[bytes]) -> None: ...

    def send_frame(
        self,
        writer: FrameWriting,
        payloads: list[bytes],
        timestamp: int,
        send_time: int,
        audio_level: tuple[bool, int] | None,
    ) -> bool:
        if not self.writable():
            return False
        self.send(writer.write(payloads, timestamp, send_time, audio_level))
        return True


class Link(PacketLink):
    """A SenderLink that keeps the packets sent."""

    def __init__(self, setup: SendSetup) -> None:
        self.extensions_map = extensions_map(setup)
        self.packets: list[bytes] = []
        self.open = True

    def writable(self) -> bool:
        return self.open

    def send(self, packets: list[bytes]) -> None:
        self.packets.extend(packets)

    def take(self) -> list[RtpPacket]:
        """What was sent since the last take, parsed by aiortc."""
        taken = [RtpPacket.parse(p, self.extensions_map) for p in self.packets]
        self.packets.clear()
        return taken


def attached(consumer: Consumer) -> Link:
    link = Link(SETUPS[consumer.kind])
    consumer.attach(SETUPS[consumer.kind], link)
    return link


def video_packet(seq: int, ts: int, payload: bytes, ssrc: int = 1234) -> ReceivedPacket:
    """A received packet as rtp_reader gives it (marker set: one packet per frame)."""
    return ReceivedPacket(ssrc, seq, ts, True, 96, payload)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def graph() -> ForwardingGraph:
    return ForwardingGraph()


def make(
    clock: Clock, graph: ForwardingGraph | None = None, kind: str = "video"
) -> tuple[Producer, Consumer, list[int], ForwardingStats, Link]:
    graph = graph or ForwardingGraph()
    stats = ForwardingStats()
    plis: list[int] = []
    producer = Producer(kind, "p_a", plis.append, stats, graph, clock=clock)
    consumer = Consumer(kind, 0, stats, graph, clock=clock)
    link = attached(consumer)
    consumer.activate()
    graph.connect(consumer, producer)
    return producer, consumer, plis, stats, link


def test_video_starts_at_a_keyframe_and_asks_for_one(clock: Clock) -> None:
    producer, _, plis, _, link = make(clock)
    producer.on_packet(video_packet(1, 3000, DELTA))  # learns the ssrc; owed keyframe is asked
    assert plis == [1234]
    producer.on_packet(video_packet(2, 6000, DELTA))
    assert link.take() == []
    producer.on_packet(video_packet(3, 9000, KEY))
    producer.on_packet(video_packet(4, 12000, DELTA))
    sent = link.take()
    assert [p.payload for p in sent] == [KEY, DELTA]
    assert {(p.ssrc, p.payload_type, p.marker) for p in sent} == {(5555, 96, 1)}
    assert sent[1].sequence_number == (sent[0].sequence_number + 1) % 65536
    assert (sent[1].timestamp - sent[0].timestamp) % 2**32 == 3000


def test_a_video_slot_reports_the_keyframe_it_started_at(clock: Clock) -> None:
    started: list[tuple[Consumer, Producer]] = []
    producer, consumer, _, _, link = make(
        clock, ForwardingGraph(on_started=lambda c, p: started.append((c, p)))
    )
    producer.on_packet(video_packet(1, 3000, DELTA))
    assert started == []  # still waiting
    producer.on_packet(video_packet(2, 6000, KEY))
    producer.on_packet(video_packet(3, 9000, DELTA))
    assert started == [(consumer, producer)] and len(link.take()) == 2  # once, at the keyframe


def test_keyframe_requests_are_throttled_and_retried_while_owed(clock: Clock) -> None:
    producer, consumer, plis, stats, _ = make(clock)
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


def test_a_backed_up_subscriber_drops_frames_and_restarts_at_a_keyframe(clock: Clock) -> None:
    producer, _, plis, stats, link = make(clock)
    producer.on_packet(video_packet(0, 0, KEY))
    assert len(link.take()) == 1
    link.open = False  # the subscriber's socket is backed up
    asked = len(plis)
    clock.now += 1.0
    producer.on_packet(video_packet(1, 3000, DELTA))
    producer.on_packet(video_packet(2, 6000, DELTA))
    assert stats.frames_dropped == 1  # then it waits for a keyframe: nothing more to drop
    assert len(plis) == asked + 1
    link.open = True
    producer.on_packet(video_packet(3, 9000, DELTA))
    assert link.take() == []
    producer.on_packet(video_packet(4, 12000, KEY))
    assert [p.payload for p in link.take()] == [KEY]


def test_switching_source_keeps_sequence_and_timestamps_continuous(
    clock: Clock, graph: ForwardingGraph
) -> None:
    producer, consumer, _, _, link = make(clock, graph)
    producer.on_packet(video_packet(0, 90_000, KEY))
    first = link.take()[0]
    other = Producer("video", "p_b", lambda ssrc: None, ForwardingStats(), graph, clock=clock)
    graph.connect(consumer, other)
    assert consumer not in graph.consumers_of(producer) and consumer in graph.consumers_of(other)
    producer.on_packet(video_packet(1, 93_000, KEY))
    other.on_packet(video_packet(50, 7_000, DELTA, ssrc=9))
    assert link.take() == []
    other.on_packet(video_packet(51, 4_294_966_000, KEY, ssrc=9))  # near its clock's wrap
    other.on_packet(video_packet(52, 1_704, DELTA, ssrc=9))  # wrapped: 3000 ticks later
    switched, after = link.take()
    assert switched.sequence_number == (first.sequence_number + 1) % 65536
    assert (switched.timestamp - first.timestamp) % 2**32 == 3000  # one frame after the last
    assert (after.timestamp - switched.timestamp) % 2**32 == 3000
    assert switched.ssrc == after.ssrc == first.ssrc


def test_a_nack_is_answered_from_the_history_as_rtx(clock: Clock) -> None:
    producer, consumer, _, _, link = make(clock)
    producer.on_packet(video_packet(0, 0, KEY + b"\x01\x02"))
    original = link.take()[0]
    consumer.retransmit(original.sequence_number)
    consumer.retransmit((original.sequence_number + 5) % 65536)  # never sent: nothing
    (rtx,) = link.take()
    assert (rtx.ssrc, rtx.payload_type, rtx.timestamp) == (6666, 97, original.timestamp)
    assert rtx.payload == original.sequence_number.to_bytes(2, "big") + original.payload


def test_inactive_or_paused_media_is_not_delivered(clock: Clock, graph: ForwardingGraph) -> None:
    stats = ForwardingStats()
    producer = Producer("audio", "p_a", lambda ssrc: None, stats, graph, clock=clock)
    consumer = Consumer("audio", 0, stats, graph, clock=clock)
    graph.connect(consumer, producer)
    packet = video_packet(1, 960, b"\xf8\xff")
    producer.on_packet(packet)
    link = attached(consumer)
    producer.on_packet(packet)
    assert link.take() == []  # subscriber not connected yet
    consumer.activate()
    producer.paused = True
    producer.on_packet(packet)
    assert link.take() == []
    producer.paused = False
    producer.on_packet(packet)
    assert len(link.take()) == 1


def test_audio_levels_are_emitted_per_packet_and_forwarded(
    clock: Clock, graph: ForwardingGraph
) -> None:
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
    consumer = Consumer("audio", 0, ForwardingStats(), graph, clock=clock)
    link = attached(consumer)
    consumer.activate()
    graph.connect(consumer, producer)
    packet = video_packet(1, 960, b"\xf8\xff")
    packet.audio_level = (True, 30)
    producer.on_packet(packet)
    assert levels == [AudioLevel("p_a", 30, True, clock.now, clock.now)]
    clock.now += 0.5  # the next packet, 20 ms of audio later, arrives late: timed by its stamp
    packet = video_packet(2, 960 + 960, b"\xf8\xff")
    packet.audio_level = (False, 60)
    producer.on_packet(packet)
    assert levels[1].at == clock.now and levels[1].media_at == pytest.approx(100.02)
    sent = [p.extensions for p in link.take()]
    assert [e.audio_level for e in sent] == [(True, 30), (False, 60)]
    assert {e.mid for e in sent} == {"0"}


def test_resumed_video_restarts_at_a_keyframe(clock: Clock) -> None:
    producer, _, plis, _, link = make(clock)
    producer.on_packet(video_packet(0, 0, KEY))
    producer.on_packet(video_packet(1, 3000, DELTA))
    assert len(link.take()) == 2
    producer.set_paused(True)
    producer.on_packet(video_packet(2, 6000, DELTA))
    assert link.take() == []
    clock.now += 1
    asked_before = len(plis)
    producer.set_paused(False)
    assert len(plis) == asked_before + 1  # a keyframe is asked for on resume
    producer.on_packet(video_packet(3, 9000, DELTA))
    assert link.take() == []
    producer.on_packet(video_packet(4, 12000, KEY))
    assert [p.payload for p in link.take()] == [KEY]


def test_sender_reports_get_the_counts_and_the_last_frames_timing(clock: Clock) -> None:
    producer, consumer, _, _, link = make(clock)
    producer.on_packet(video_packet(0, 0, KEY + bytes(98)))
    producer.on_packet(video_packet(1, 3000, DELTA + bytes(48)))
    last = link.take()[-1]
    packets, octets, ntp = consumer.packets_sent, consumer.octets_sent, consumer.last_ntp
    assert (packets, octets, consumer.last_rtp_timestamp) == (2, 150, last.timestamp)
    assert last.extensions.abs_send_time == abs_send_time(ntp) and last.extensions.mid == "1"
    assert abs((ntp >> 32) - 2_208_988_800 - time.time()) < 5  # an NTP timestamp of now
