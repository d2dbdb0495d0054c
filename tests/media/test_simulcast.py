"""A simulcast camera (server/media/simulcast.py and its parts): VP8 keyframe sizes read from a
real encoder's output, layers demultiplexed by their rid (RTX by the repaired rid) from packets
aiortc serialises, layer availability (a stopped layer is not; a layer paused by the server
is), and a layer switch in the graph at the new layer's keyframe with the subscriber's sequence
numbers and timestamps continuous, across their wraparound."""

from __future__ import annotations

import fractions
import itertools

import av
import pytest
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from server.media.consumer import SWITCH_GAP_TICKS, Consumer
from server.media.forwarding import ForwardedFrame, vp8_keyframe_size
from server.media.graph import ForwardingGraph
from server.media.producer import Producer
from server.media.rtp_reader import ExtensionIds, ReceivedPacket, read_rtp, unwrap_rtx
from server.media.rtp_writer import RtpWriter
from server.media.sdp import URI_REPAIRED_RID, URI_RID, SimulcastOffer
from server.media.simulcast import (
    LAYER_STOPPED_S,
    RESUME_GRACE_S,
    RidDemux,
    VideoLayers,
)
from server.media.stats import ForwardingStats
from tests.media.test_producer_consumer import DELTA, KEY, SETUPS, Clock, Link

pytestmark = pytest.mark.unit

OFFER = SimulcastOffer(("h", "f"), rid_id=10, repaired_rid_id=11)
IDS = ExtensionIds.of({URI_RID: 10, URI_REPAIRED_RID: 11})
RID_MAP = HeaderExtensionsMap()
RID_MAP.configure(
    RTCRtpParameters(
        headerExtensions=[
            RTCRtpHeaderExtensionParameters(id=10, uri=URI_RID),
            RTCRtpHeaderExtensionParameters(id=11, uri=URI_REPAIRED_RID),
        ]
    )
)
VP8, RTX = 96, 97


def keyframe_payloads(width: int, height: int) -> list[bytes]:
    """A keyframe as aiortc's VP8 encoder packetises it."""
    frame = av.VideoFrame(width, height, "yuv420p")
    frame.pts = 0
    frame.time_base = fractions.Fraction(1, 90_000)
    payloads, _ = Vp8Encoder().encode(frame, force_keyframe=True)
    return payloads


def test_the_size_of_a_vp8_keyframe_is_read_from_its_first_packet() -> None:
    for width, height in ((320, 240), (640, 480), (1280, 720)):
        payloads = keyframe_payloads(width, height)
        assert vp8_keyframe_size(payloads[0]) == (width, height)
        assert all(vp8_keyframe_size(p) is None for p in payloads[1:])  # not a frame start
    assert vp8_keyframe_size(DELTA + bytes(10)) is None
    assert vp8_keyframe_size(KEY + bytes(10)) is None  # no start code
    assert vp8_keyframe_size(b"") is None


def packet(
    ssrc: int, seq: int, pt: int = VP8, rid: str | None = None, repaired: str | None = None
) -> ReceivedPacket:
    """Serialised by aiortc with the rid extensions, then read as the lean path reads it."""
    made = RtpPacket(payload_type=pt, sequence_number=seq, timestamp=seq * 3000, ssrc=ssrc)
    made.extensions.rtp_stream_id = rid
    made.extensions.repaired_rtp_stream_id = repaired
    made.payload = KEY if pt == VP8 else (seq + 1000).to_bytes(2, "big") + KEY
    read = read_rtp(made.serialize(RID_MAP), IDS)
    assert read is not None
    return read


def test_layers_are_told_apart_by_rid_and_their_retransmissions_by_repaired_rid() -> None:
    demux = RidDemux(OFFER)
    assert demux.extension_ids == {URI_RID: 10, URI_REPAIRED_RID: 11}
    rtx_ssrcs: dict[int, int] = {}
    first = packet(111, 5, rid="h")
    assert first.rid == "h" and first.repaired_rid is None
    demux.learn(first, False, rtx_ssrcs)
    # an RTX stream named before its layer's media SSRC is known cannot be mapped yet
    demux.learn(packet(333, 9, RTX, repaired="f"), True, rtx_ssrcs)
    assert rtx_ssrcs == {}
    demux.learn(packet(222, 7, rid="f"), False, rtx_ssrcs)
    demux.learn(packet(333, 9, RTX, repaired="f"), True, rtx_ssrcs)
    demux.learn(packet(444, 3, RTX, repaired="h"), True, rtx_ssrcs)
    demux.learn(packet(555, 3, rid="x"), False, rtx_ssrcs)  # not an offered layer
    assert demux.rid_of == {111: "h", 222: "f"} and rtx_ssrcs == {333: 222, 444: 111}
    retransmitted = packet(333, 12, RTX, repaired="f")
    original = unwrap_rtx(retransmitted, VP8, rtx_ssrcs[retransmitted.ssrc])
    assert original is not None
    assert (original.ssrc, original.sequence_number, original.rid) == (222, 1012, "f")
    # the publisher restarted its "h" layer on a new SSRC: it replaces the old one
    demux.learn(packet(666, 1, rid="h"), False, rtx_ssrcs)
    assert demux.rid_of == {222: "f", 666: "h"}


def make_layers(clock: Clock, rids: tuple[str, ...] | None) -> tuple[VideoLayers, list[int]]:
    plis: list[int] = []
    graph = ForwardingGraph()
    stats = ForwardingStats()
    layers = VideoLayers(
        lambda rid: Producer("video", "pub", plis.append, stats, graph, clock=clock, rid=rid),
        rids,
    )
    return layers, plis


def send_keyframe(layers: VideoLayers, rid: str | None, ssrc: int, seq: int, size: int) -> None:
    payloads = keyframe_payloads(size, size * 3 // 4)
    for i, payload in enumerate(payloads):
        last = i == len(payloads) - 1
        layers.on_packet(ReceivedPacket(ssrc, seq + i, seq, last, VP8, payload, rid=rid))


def test_a_layer_is_available_once_sized_while_it_sends_or_while_paused_here() -> None:
    clock = Clock()
    layers, plis = make_layers(clock, ("h", "f"))
    assert layers.available(clock.now) == ()  # no keyframe yet: no size
    send_keyframe(layers, "h", 111, 100, 320)
    send_keyframe(layers, "f", 222, 500, 640)
    send_keyframe(layers, None, 333, 900, 640)  # a packet of no known layer: dropped
    assert [(la.rid, la.width, la.height) for la in layers.available(clock.now)] == [
        ("h", 320, 240),
        ("f", 640, 480),
    ]
    clock.now += LAYER_STOPPED_S / 2
    send_keyframe(layers, "h", 111, 200, 320)
    clock.now += LAYER_STOPPED_S * 0.75
    # "f" went silent (the browser stopped it): not available; "h" still sends
    assert [la.rid for la in layers.available(clock.now)] == ["h"]
    layers.pause(frozenset({"f"}), clock.now)  # paused here: available, to resume when wanted
    assert [la.rid for la in layers.available(clock.now)] == ["h", "f"]
    layers.pause(frozenset(), clock.now)  # resumed: it has RESUME_GRACE_S to send again
    clock.now += RESUME_GRACE_S * 0.9
    send_keyframe(layers, "h", 111, 300, 320)
    assert [la.rid for la in layers.available(clock.now)] == ["h", "f"]
    clock.now += RESUME_GRACE_S * 0.2
    assert [la.rid for la in layers.available(clock.now)] == ["h"]
    # keyframe requests go to the layer's own SSRC
    plis.clear()
    clock.now += 1.0
    layers.producers["f"].request_keyframe()
    layers.producers["h"].request_keyframe()
    assert plis == [222, 111]


def test_a_camera_without_simulcast_is_one_layer_always_available() -> None:
    clock = Clock()
    layers, _ = make_layers(clock, None)
    assert list(layers.producers) == ["c"] and not layers.simulcast
    send_keyframe(layers, None, 444, 0, 320)
    assert layers.producers["c"].size == (320, 240)
    clock.now += 100
    assert [la.rid for la in layers.available(clock.now)] == ["c"]


def test_a_camera_counts_its_frames_once_whatever_layers_run_or_pause() -> None:
    """The count the link-quality judge takes the camera's frame rate from: the frames of one
    layer at a time, moving on when that layer stops (the browser stopped it, or the server
    paused it), never backwards; two layers sending count as one camera, not twice."""
    clock = Clock()
    layers, _ = make_layers(clock, ("h", "f"))
    seq = {"h": 100, "f": 500}
    counts: list[int] = []

    def run(seconds: float, *rids: str) -> int:
        """Each of `rids` sends a one-packet frame every 0.1 s (both: "f" first, then "h")."""
        before = layers.frames
        for _ in range(round(seconds * 10)):
            clock.now += 0.1
            for rid in rids:
                seq[rid] += 1
                payload = DELTA + bytes(20)
                packet = ReceivedPacket(111, seq[rid], seq[rid] * 3000, True, VP8, payload, rid=rid)
                layers.on_packet(packet)
                counts.append(layers.frames)
        return layers.frames - before

    assert run(2, "f", "h") == 20  # both layers: the camera's 10 fps, not 20
    layers.pause(frozenset({"f"}), clock.now)
    assert 18 <= run(2, "h") <= 20  # "f" paused at the publisher: counted on from "h"
    assert 18 <= run(2, "f") <= 20  # "h" stopped, "f" resumed
    assert run(1, "f", "h") == 10
    assert 18 <= run(2, "h") <= 20  # "f" stopped
    assert counts == sorted(counts)  # never backwards

    single, _ = make_layers(clock, None)  # a camera without simulcast: its one layer's count
    send_keyframe(single, None, 444, 0, 320)
    assert single.frames == single.producers["c"].frames == 1


def frame(timestamp: int, keyframe: bool) -> ForwardedFrame:
    return ForwardedFrame([KEY if keyframe else DELTA, b"x"], timestamp, keyframe, 0.0)


def test_a_layer_switch_waits_for_the_keyframe_and_keeps_the_stream_continuous() -> None:
    graph = ForwardingGraph(on_started=lambda c, p: started.append(p.rid))
    started: list[str] = []
    stats = ForwardingStats()
    h, f = (
        Producer("video", "pub", lambda ssrc: None, stats, graph, rid=rid) for rid in ("h", "f")
    )
    consumer = Consumer("video", 0, stats, graph)
    link = Link(SETUPS["video"])
    consumer.attach(SETUPS["video"], link)
    # the subscriber's sequence numbers and timestamps about to wrap around
    consumer._writer = RtpWriter(SETUPS["video"], first_seq=65533, ts_origin=(1 << 32) - 4000)
    consumer.activate()
    graph.connect(consumer, h)
    graph.on_frame(h, frame(90_000, True))
    graph.on_frame(h, frame(93_000, False))
    assert started == ["h"]

    graph.prepare(consumer, f)  # the subscriber's tile grew: "f" wanted
    assert graph.producer_of(consumer) is h and graph.pending_of(consumer) is f
    graph.on_frame(f, frame(5_000_000, False))  # not a keyframe: "h" keeps flowing
    graph.on_frame(h, frame(96_000, False))
    assert graph.producer_of(consumer) is h
    graph.on_frame(f, frame(5_003_000, True))  # "f"'s keyframe: the slot moves over
    assert graph.producer_of(consumer) is f and graph.pending_of(consumer) is None
    graph.on_frame(h, frame(99_000, False))  # no longer forwarded
    graph.on_frame(f, frame(5_006_000, False))
    assert started == ["h", "f"]

    sent = link.take()
    seqs = [p.sequence_number for p in sent]
    assert seqs == [(65533 + i) % 65536 for i in range(len(sent))]  # 65533..65535, 0, 1, ...
    assert 0 in seqs
    frames = [p.timestamp for p in sent if p.marker]
    steps = [(b - a) % (1 << 32) for a, b in itertools.pairwise(frames)]
    assert steps == [3000, 3000, SWITCH_GAP_TICKS["video"], 3000]
    assert frames[0] > frames[-1]  # the timestamps wrapped too


def test_a_pending_switch_can_be_called_off() -> None:
    graph = ForwardingGraph()
    stats = ForwardingStats()
    h, f = (
        Producer("video", "pub", lambda ssrc: None, stats, graph, rid=rid) for rid in ("h", "f")
    )
    consumer = Consumer("video", 0, stats, graph)
    graph.connect(consumer, h)
    graph.prepare(consumer, f)
    graph.prepare(consumer, None)  # the tile shrank back before "f"'s keyframe came
    graph.on_frame(f, frame(0, True))
    assert graph.producer_of(consumer) is h
    graph.prepare(consumer, f)
    graph.remove_producer(f)  # its publisher left
    assert graph.pending_of(consumer) is None and graph.producer_of(consumer) is h
