"""The compiled send path (server/media/_rtp_send.c): what it puts on the wire decrypts to the
pure-Python writer's packets, over a real socket and a real SRTP session; a live link uses it;
the pylibsrtp internals it needs are checked like aiortc's hooks."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator

import pylibsrtp
import pytest
from aiortc.rtp import RtpPacket

from server.media import aiortc_hooks, compiled_send
from server.media.aiortc_send import SrtpLink
from server.media.compiled_send import (
    PROTECT,
    CompiledRtpWriter,
    fan_out,
    new_writer,
    srtp_context,
)
from server.media.forwarding import ForwardedFrame
from server.media.graph import ForwardingGraph
from server.media.producer import Producer
from server.media.rtp_reader import ReceivedPacket
from server.media.rtp_writer import RtpWriter, SendSetup, ntp_now
from server.media.stats import ForwardingStats
from tests.conftest import until
from tests.media.test_aiortc_hooks import lean_pair
from tests.media.test_rtp_writer import AUDIO, VIDEO

KEY = bytes(range(30))  # AES-CM-128 master key and salt


def sessions() -> tuple[pylibsrtp.Session, pylibsrtp.Session]:
    """A sender's and a receiver's SRTP session sharing one key."""
    outbound = pylibsrtp.Policy(key=KEY, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    inbound = pylibsrtp.Policy(key=KEY, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND)
    return pylibsrtp.Session(policy=outbound), pylibsrtp.Session(policy=inbound)


@pytest.fixture
def receiving_socket() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2)
    yield sock
    sock.close()


def test_the_extension_is_built() -> None:
    # CI installs with `pip install -e .`, which builds it: a missing build is a failure here,
    # not a silent fall back to the slower writer
    assert compiled_send.COMPILED
    assert isinstance(new_writer(VIDEO), CompiledRtpWriter)


@pytest.mark.parametrize("setup", [VIDEO, AUDIO], ids=["video", "audio"])
def test_sent_frames_decrypt_to_the_python_writers_packets(
    setup: SendSetup, receiving_socket: socket.socket
) -> None:
    outbound, inbound = sessions()
    compiled = CompiledRtpWriter(setup, first_seq=65500, ts_origin=2**32 - 5000)
    python = RtpWriter(setup, first_seq=65500, ts_origin=2**32 - 5000)
    host, port = receiving_socket.getsockname()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    frames = [
        ([os.urandom(900) for _ in range(70)], 0, 0x12345, (True, 30)),  # > one sendmmsg batch
        ([b"\x10\x00small"], 3000, 0x23456, None),
        ([os.urandom(1200), os.urandom(40)], 6000, 0x34567, (False, 90)),
    ]
    try:
        compiled.set_target(srtp_context(outbound), PROTECT, sender.fileno(), host, port)
        for payloads, timestamp, send_time, level in frames:
            expected = python.write(payloads, timestamp, send_time, level)
            sent = compiled.send(payloads, timestamp, send_time, level)
            assert sent == len(payloads)
            received = [inbound.unprotect(receiving_socket.recv(2048)) for _ in payloads]
            assert received == expected
            assert compiled.timestamp == python.timestamp
    finally:
        sender.close()
    resent, expected_resent = compiled.retransmission(65500), python.retransmission(65500)
    assert resent is not None and expected_resent is not None
    # the same packet again (as RTX for video), but for the RTX stream's random sequence number
    assert (resent[:2], resent[4:]) == (expected_resent[:2], expected_resent[4:])


def test_bad_input_is_refused_and_leaves_the_stream_as_it_was(
    receiving_socket: socket.socket,
) -> None:
    outbound, _ = sessions()
    writer = CompiledRtpWriter(VIDEO, first_seq=10, ts_origin=0)
    host, port = receiving_socket.getsockname()
    fd = receiving_socket.fileno()
    context = srtp_context(outbound)
    with pytest.raises(RuntimeError, match="set_target"):
        writer.send([b"x"], 0, 0, None)
    with pytest.raises(ValueError, match="not an IP address"):
        writer.set_target(context, PROTECT, fd, "example.invalid", port)
    writer.set_target(context, PROTECT, fd, host, port)
    with pytest.raises(ValueError, match="too long"):
        writer.send([bytes(1400)], 0, 0, None)
    with pytest.raises(TypeError):
        writer.write((b"x",), 0, 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fan_out([object()], [b"x"], 0, 0, None, 0)  # type: ignore[list-item]
    assert writer.write([b"next"], 0, 0)[0][2:4] == (10).to_bytes(2, "big")  # seq untouched
    audio = CompiledRtpWriter(AUDIO, first_seq=20, ts_origin=0)
    with pytest.raises(TypeError):
        audio.write([b"x"], 0, 0, (True,))  # type: ignore[arg-type]
    assert audio.write([b"next"], 0, 0)[0][2:4] == (20).to_bytes(2, "big")


def test_fan_out_sends_each_writer_at_its_offset_and_names_those_that_failed(
    receiving_socket: socket.socket,
) -> None:
    outbound, inbound = sessions()
    host, port = receiving_socket.getsockname()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    writers = [CompiledRtpWriter(SendSetup(ssrc, 111), 0, 0) for ssrc in (1, 2, 3)]
    for writer, offset in zip(writers, (0, 1000, 5000), strict=True):
        writer.set_target(srtp_context(outbound), PROTECT, sender.fileno(), host, port)
        writer.ts_offset = offset
    writers[1].set_target(srtp_context(outbound), PROTECT, -1, host, port)  # a closed socket
    try:
        assert fan_out(writers, [b"opus"], 960, 0, None, 12345) == [1]
        received = [RtpPacket.parse(inbound.unprotect(receiving_socket.recv(2048))) for _ in "ab"]
    finally:
        sender.close()
    assert [(p.ssrc, p.timestamp, p.payload) for p in received] == [
        (1, 960, b"opus"),
        (3, 5960, b"opus"),
    ]
    assert [(w.packets_sent, w.octets_sent, w.last_ntp) for w in writers] == [(1, 4, 12345)] * 3


def test_srtp_context_refuses_a_session_without_the_internals() -> None:
    class Bare:
        pass

    with pytest.raises(aiortc_hooks.HookError):
        srtp_context(Bare())  # type: ignore[arg-type]
    assert srtp_context(sessions()[0]) != 0


async def test_a_live_link_sends_compiled_frames_on_its_pair_socket(
    loopback_ice: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over a real aiortc connection, frames go out through the compiled writer and never
    through the per-packet Python send (which is made to fail here)."""

    def python_send(self: SrtpLink, packets: list[bytes]) -> None:
        raise AssertionError("a frame took the per-packet Python path")

    monkeypatch.setattr(SrtpLink, "send", python_send)
    async with lean_pair("video") as pair:
        consumer, received = pair.consumer, pair.received
        assert isinstance(consumer._writer, CompiledRtpWriter)
        for i in range(5):  # keyframes (VP8 P bit 0), so none waits for one
            frame = ForwardedFrame([bytes([0x10, 0x00, i])], i * 3000, True, time.monotonic())
            consumer.deliver(frame, ntp_now())
        await until(lambda: len(received) == 5, 5, "five packets")
        assert [p.payload[2] for p in received] == list(range(5))


async def test_a_slot_joins_the_fan_out_and_leaves_it_at_a_switch_with_continuous_timelines(
    loopback_ice: None,
) -> None:
    """Over a real connection: a slot's first frame goes through `deliver`, the next ones
    through the compiled fan-out; switching the slot to another producer brings it back to
    `deliver` for one frame; sequence numbers and timestamps stay continuous throughout."""
    graph = ForwardingGraph()
    stats = ForwardingStats()
    a, b = (Producer("audio", pid, lambda ssrc: None, stats, graph) for pid in ("p_a", "p_b"))

    def speak(producer: Producer, ssrc: int, seq: int, timestamp: int) -> None:
        packet = ReceivedPacket(ssrc, seq, timestamp, True, 111, bytes([0xF8, seq]))
        producer.on_packet(packet)

    async with lean_pair("audio", graph) as pair:
        consumer, received = pair.consumer, pair.received
        graph.connect(consumer, a)
        speak(a, 1, 0, 48_000)
        assert consumer.steady  # once a frame went out on the socket
        speak(a, 1, 1, 48_960)
        speak(a, 1, 2, 49_920)
        graph.connect(consumer, b)
        assert not consumer.steady
        speak(b, 2, 7, 900_000)
        assert consumer.steady
        speak(b, 2, 8, 900_960)
        await until(lambda: len(received) == 5, 5, "five packets")
    assert [p.payload[1] for p in received] == [0, 1, 2, 7, 8]
    first = received[0]
    assert [p.sequence_number - first.sequence_number for p in received] == [0, 1, 2, 3, 4]
    assert [(p.timestamp - first.timestamp) % 2**32 for p in received] == [
        0, 960, 1920, 2880, 3840,
    ]  # fmt: skip
    assert (consumer.packets_sent, consumer.octets_sent) == (5, 10)
