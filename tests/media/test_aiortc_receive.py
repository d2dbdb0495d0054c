"""The lean receive path's hooks (server/media/aiortc_receive.py) against the pinned aiortc
over a real loopback connection: packets reach the sink with their fields, a lost one is
NACKed by aiortc's generator and comes back over RTX unwrapped, the reception statistics and
the REMB estimator are fed, and RTCP still goes aiortc's way."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aioice.stun
import pylibsrtp
import pytest
from aiortc import RTCDtlsTransport, RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import RTCP_PSFB_APP, HeaderExtensionsMap, RtcpPsfbPacket, RtpPacket

from server.media import aiortc_hooks, aiortc_receive, aiortc_send, compiled_receive
from server.media._rtp_read import SrtpReader
from server.media.compiled_receive import SrtpRead
from server.media.consumer import Consumer, SenderLink
from server.media.forwarding import ForwardedFrame
from server.media.graph import ForwardingGraph
from server.media.rtp_reader import ExtensionIds, ReceivedPacket
from server.media.rtp_writer import NTP_EPOCH_OFFSET_S, ntp_now
from server.media.stats import ForwardingStats
from server.media.transport_feedback import (
    FMT_TRANSPORT_CC,
    RTCP_RTPFB,
    URI_TRANSPORT_CC,
    parse_feedback,
)
from server.media.window_rate import WindowRate
from tests.conftest import negotiate, peer_pair, until
from tests.media.test_producer_consumer import PacketLink


class LosingLink(PacketLink):
    """A sender's link that loses the `lost`-th packet it is given (counted from 0), once."""

    def __init__(self, link: SenderLink, lost: int) -> None:
        self._link = link
        self._count = 0
        self._lost = lost

    def writable(self) -> bool:
        return self._link.writable()

    def send(self, packets: list[bytes]) -> None:
        for packet in packets:
            if self._count != self._lost:
                self._link.send([packet])
            self._count += 1


def lean_sender(pc: RTCPeerConnection, kind: str) -> tuple[Consumer, RTCRtpSender]:
    """A Consumer on the lean send path: what the server sends, here as a test's publisher."""
    consumer = Consumer(kind, 0, ForwardingStats(), ForwardingGraph())
    transceiver = pc.addTransceiver(consumer, direction="sendonly")
    aiortc_send.send_directly(transceiver.sender, consumer)
    return consumer, transceiver.sender


def receiving_directly(
    pc: RTCPeerConnection, kind: str
) -> tuple[RTCRtpReceiver, list[ReceivedPacket]]:
    """A receiver on the lean path, and the packets it hands over."""
    receiver = pc.addTransceiver(kind, direction="recvonly").receiver
    received: list[ReceivedPacket] = []
    aiortc_receive.receive_directly(receiver, received.append)
    return receiver, received


def test_receive_directly_refuses_objects_without_the_internals() -> None:
    class Bare:
        pass

    with pytest.raises(aiortc_hooks.HookError):
        aiortc_receive.receive_directly(Bare(), lambda p: None)  # type: ignore[arg-type]
    with pytest.raises(aiortc_hooks.HookError):
        aiortc_receive.media_streams(Bare())  # type: ignore[arg-type]


async def test_video_arrives_and_a_lost_packet_comes_back_over_rtx(
    loopback_ice: None, codec_count: list[str]
) -> None:
    sender_pc, receiver_pc = peer_pair()
    consumer, sender = lean_sender(sender_pc, "video")
    rtcp_at_sender: list[Any] = []
    stock_handle_rtcp = sender._handle_rtcp_packet

    async def handle_rtcp(packet: Any) -> None:
        rtcp_at_sender.append(packet)
        await stock_handle_rtcp(packet)

    sender._handle_rtcp_packet = handle_rtcp  # type: ignore[method-assign]
    receiver, received = receiving_directly(receiver_pc, "video")
    await negotiate(sender_pc, receiver_pc)
    try:
        await until(lambda: consumer._link is not None, 10, "the sender started")
        await until(lambda: receiver_pc.connectionState == "connected", 10, "connected")
        assert consumer._link is not None
        consumer._link = LosingLink(consumer._link, lost=2)
        consumer.activate()
        estimator = receiver._RTCRtpReceiver__remote_bitrate_estimator  # type: ignore[attr-defined]
        assert isinstance(estimator.incoming_bitrate, WindowRate)
        # a settled estimate, so that the next packet makes aiortc's estimator send a REMB
        now_ms = int((time.time() + NTP_EPOCH_OFFSET_S) * 1000)
        estimator.rate_control.set_estimate(300_000, now_ms)
        for i in range(5):  # keyframes (VP8 P bit 0) of one packet each
            frame = ForwardedFrame([bytes([0x10, 0x00, i])], i * 3000, True, time.monotonic())
            consumer.deliver(frame, ntp_now())
        await until(lambda: len(received) == 5, 10, "four packets and the retransmission")
        assert [p.payload[2] for p in received] == [0, 1, 3, 4, 2]
        first, retransmitted = received[0], received[4]
        assert retransmitted.ssrc == first.ssrc == sender._ssrc
        assert retransmitted.sequence_number == (first.sequence_number + 2) % 65536
        assert retransmitted.payload_type == first.payload_type
        assert (retransmitted.timestamp - first.timestamp) % 2**32 == 6000
        assert all(p.marker and p.abs_send_time is not None for p in received)
        # aiortc's statistics were fed: the media stream lost one, the RTX stream is apart
        (media,) = aiortc_receive.media_streams(receiver)
        assert (media.packets_received, media.packets_lost) == (4, 1)
        stats = await receiver.getStats()
        assert {s.ssrc for s in stats.values() if s.type == "inbound-rtp"} <= {
            sender._ssrc,
            sender._rtx_ssrc,
        }
        await until(
            lambda: any(
                isinstance(p, RtcpPsfbPacket) and p.fmt == RTCP_PSFB_APP for p in rtcp_at_sender
            ),
            5,
            "a REMB from the receiver's estimator",
        )
        assert estimator.incoming_bitrate.rate(now_ms + 100) is not None
    finally:
        await sender_pc.close()
        await receiver_pc.close()
    assert codec_count == []  # no decoder was created


async def test_audio_levels_arrive_and_rtcp_is_routed_by_aiortc_in_the_receiving_call(
    loopback_ice: None, codec_count: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    handled_in: list[asyncio.Task[Any] | None] = []  # the task each RTCP packet was handled in
    stock_handle = RTCDtlsTransport._handle_rtcp_data

    async def handle_rtcp_data(self: RTCDtlsTransport, data: bytes) -> None:
        handled_in.append(asyncio.current_task())
        await stock_handle(self, data)

    monkeypatch.setattr(RTCDtlsTransport, "_handle_rtcp_data", handle_rtcp_data)
    parsed_as_stun: list[int] = []  # the first byte of each datagram aioice tried as STUN
    stock_parse = aioice.stun.parse_message

    def parse_message(data: bytes) -> aioice.stun.Message:
        parsed_as_stun.append(data[0])
        return stock_parse(data)

    monkeypatch.setattr(aioice.stun, "parse_message", parse_message)
    readers: list[SrtpRead] = []  # what the path reads each SRTP packet with, in one call

    def srtp_reader(session: pylibsrtp.Session, ids: ExtensionIds) -> SrtpRead:
        readers.append(compiled_receive.srtp_reader(session, ids))
        return readers[-1]

    monkeypatch.setattr(aiortc_receive, "srtp_reader", srtp_reader)
    sender_pc, receiver_pc = peer_pair()
    consumer, _ = lean_sender(sender_pc, "audio")
    receiver, received = receiving_directly(receiver_pc, "audio")
    await negotiate(sender_pc, receiver_pc)
    try:
        await until(lambda: consumer._link is not None, 10, "the sender started")
        await until(lambda: receiver._enabled, 10, "the receiver started")
        parsed_as_stun.clear()
        consumer.activate()
        for i in range(3):
            level = (i == 1, 20 + i)
            frame = ForwardedFrame([b"\xf8\xff\xfe"], i * 960, True, time.monotonic(), level)
            consumer.deliver(frame, ntp_now())
        await until(lambda: len(received) == 3, 10, "three audio packets")
        assert [p.audio_level for p in received] == [(False, 20), (True, 21), (False, 22)]
        assert {p.payload for p in received} == {b"\xf8\xff\xfe"}
        assert [type(read.__self__) for read in readers] == [SrtpReader]  # type: ignore[attr-defined]
        # a packet aiortc's own task had queued before the receiver started takes the same way
        queued = RtpPacket(payload_type=received[0].payload_type, marker=1, ssrc=received[0].ssrc)
        queued.sequence_number = (received[2].sequence_number + 1) % 65536
        queued.payload = b"\xf8\x01"
        queued.extensions.audio_level = (True, 5)
        await receiver._handle_rtp_packet(queued, arrival_time_ms=0)
        assert (received[3].payload, received[3].audio_level) == (b"\xf8\x01", (True, 5))

        # the sender's reports (RTCP) reach the receiver through aiortc's routing, called in
        # the socket's callback (no task) rather than by the DTLS transport's task
        async def sender_reports() -> list[Any]:
            stats = await receiver.getStats()
            return [s for s in stats.values() if s.type == "remote-outbound-rtp"]

        async with asyncio.timeout(10):
            while not (reports := await sender_reports()):
                await asyncio.sleep(0.1)
        assert reports[0].packetsSent == 3
        assert handled_in and set(handled_in) == {None}  # both ways: reports and receiver reports
        # SRTP and SRTCP (first byte 128-191) go straight to the lean path, both ways: aioice
        # never tries to parse them as STUN first (it raised and caught an error for each)
        assert [b for b in parsed_as_stun if 127 < b < 192] == []
        (media,) = aiortc_receive.media_streams(receiver)
        assert (media.packets_received, media.packets_lost) == (4, 0)
    finally:
        await sender_pc.close()
        await receiver_pc.close()
    assert codec_count == []


async def test_run_now_finishes_a_handler_that_never_waits_in_the_call() -> None:
    done: list[str] = []

    async def handler() -> None:
        done.append("ran")

    aiortc_receive.run_now(handler())
    assert done == ["ran"]


async def test_run_now_lets_a_task_finish_a_handler_that_waits() -> None:
    loop = asyncio.get_running_loop()
    first, second = loop.create_future(), loop.create_future()
    seen: list[object] = []

    async def handler() -> None:
        seen.append(await first)
        try:
            await second
        except ValueError as error:
            seen.append(str(error))
        await asyncio.sleep(0)
        seen.append("end")

    aiortc_receive.run_now(handler())
    assert seen == []
    first.set_result("result")
    await asyncio.sleep(0.01)
    assert seen == ["result"]
    second.set_exception(ValueError("refused"))
    await until(lambda: seen[-1:] == ["end"], 2, "the handler's end")
    assert seen == ["result", "refused", "end"]


RMEM_MAX_BYTES = int(Path("/proc/sys/net/core/rmem_max").read_text())


async def test_receive_buffers_grow_past_the_kernels_default_where_the_process_may() -> None:
    """A bot's sockets get the buffer asked for: past net.core.rmem_max as root (CI), else up to
    it (the kernel reports double what it grants)."""
    size = 4 * 1024 * 1024
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())  # gathers: the sockets exist
    try:
        expected = size if os.geteuid() == 0 else min(size, RMEM_MAX_BYTES)
        assert aiortc_receive.enlarge_receive_buffers(pc, size) == 2 * expected
    finally:
        await pc.close()


async def test_datagrams_longer_than_pylibsrtp_takes_are_dropped_without_an_error(
    loopback_ice: None,
) -> None:
    # pylibsrtp raises ValueError past its 1500-byte buffer: that once escaped the socket's
    # callback, logged as an error with its traceback for every such datagram anyone sent
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context))
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        async with audio_received_directly() as (consumer, receiver, received):
            (protocol,) = aiortc_hooks.ice_connection(receiver.transport.transport)._protocols
            address = protocol.transport.get_extra_info("sockname")
            header = received[0].ssrc.to_bytes(4, "big")
            for second in (0xE0, 0xC8):  # RTP of the stream's SSRC, RTCP
                datagram = bytes([0x80, second, 0, 1, 0, 0, 0, 0]) + header + bytes(1600)
                stranger.sendto(datagram, address)
            consumer.deliver(ForwardedFrame([b"\xf8\x01"], 960, True, time.monotonic()), ntp_now())
            await until(lambda: len(received) == 2, 10, "the packet after them")  # same socket
    finally:
        stranger.close()
    assert errors == []


@asynccontextmanager
async def audio_received_directly() -> AsyncIterator[
    tuple[Consumer, RTCRtpReceiver, list[ReceivedPacket]]
]:
    """A lean sender's audio to a receiver on the lean path over loopback, its first packet
    (at timestamp 0) received; both connections closed after the block."""
    sender_pc, receiver_pc = peer_pair()
    consumer, _ = lean_sender(sender_pc, "audio")
    receiver, received = receiving_directly(receiver_pc, "audio")
    await negotiate(sender_pc, receiver_pc)
    try:
        await until(lambda: consumer._link is not None, 10, "the sender started")
        await until(lambda: receiver._enabled, 10, "the receiver started")
        consumer.activate()
        consumer.deliver(ForwardedFrame([b"\xf8\xff\xfe"], 0, True, time.monotonic()), ntp_now())
        await until(lambda: len(received) == 1, 10, "the first packet")
        yield consumer, receiver, received
    finally:
        await sender_pc.close()
        await receiver_pc.close()


def rtcp_packets(data: bytes) -> list[bytes]:
    """The RTCP packets of a (compound) datagram."""
    packets = []
    while len(data) >= 4:
        end = 4 * (int.from_bytes(data[2:4], "big") + 1)
        packets.append(data[:end])
        data = data[end:]
    return packets


async def test_transport_cc_arrivals_are_fed_back_and_no_remb_is_sent(
    loopback_ice: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sender numbering its packets with the transport-wide extension (as a browser does once
    the answer accepts it) gets transport-cc feedback saying which numbers arrived, a lost
    one included, every FEEDBACK_INTERVAL_S; and no REMB."""
    rtcp_at: dict[RTCDtlsTransport, list[bytes]] = {}
    stock_handle = RTCDtlsTransport._handle_rtcp_data

    async def handle_rtcp_data(self: RTCDtlsTransport, data: bytes) -> None:
        rtcp_at.setdefault(self, []).extend(rtcp_packets(data))
        await stock_handle(self, data)

    monkeypatch.setattr(RTCDtlsTransport, "_handle_rtcp_data", handle_rtcp_data)
    sender_pc, receiver_pc = peer_pair()
    consumer, sender = lean_sender(sender_pc, "video")
    receiver = receiver_pc.addTransceiver("video", direction="recvonly").receiver
    received: list[ReceivedPacket] = []
    aiortc_receive.receive_directly(receiver, received.append, transport_cc_id=5)
    await negotiate(sender_pc, receiver_pc)
    try:
        await until(lambda: consumer._link is not None, 10, "the sender started")
        await until(lambda: receiver._enabled, 10, "the receiver started")
        numbered = HeaderExtensionsMap()
        numbered.configure(
            RTCRtpParameters(
                headerExtensions=[RTCRtpHeaderExtensionParameters(id=5, uri=URI_TRANSPORT_CC)]
            )
        )
        payload_type = next(iter(receiver._RTCRtpReceiver__codecs))  # type: ignore[attr-defined]
        sent = [n for n in range(65530, 65530 + 30) if n != 65535]  # one lost, across the wrap
        for i, number in enumerate(sent):
            packet = RtpPacket(payload_type=payload_type, sequence_number=i, ssrc=sender._ssrc)
            packet.payload = b"\x10\x00\x00"
            packet.extensions.transport_sequence_number = number % 65536
            await sender.transport._send_rtp(packet.serialize(numbered))
            await asyncio.sleep(0.01)
        await until(lambda: len(received) == len(sent), 10, "every packet")
        assert [p.transport_sequence for p in received] == [n % 65536 for n in sent]

        def reported() -> dict[int, int | None]:
            out: dict[int, int | None] = {}
            for data in rtcp_at.get(sender.transport, []):
                if data[1] == RTCP_RTPFB and data[0] & 0x1F == FMT_TRANSPORT_CC:
                    feedback = parse_feedback(data)
                    for offset, at in enumerate(feedback.arrivals):
                        out[(feedback.base_sequence + offset) % 65536] = at
            return out

        await until(lambda: (65530 + 25) % 65536 in reported(), 5, "feedback up to a late one")
        arrivals = reported()
        assert arrivals[65535] is None  # the lost one
        times = [arrivals[n % 65536] for n in sent[:24]]
        assert all(t is not None for t in times)
        gaps_ms = [(b - a) / 1000 for a, b in itertools.pairwise(times)]  # type: ignore[operator]
        assert all(5 <= gap < 200 for gap in gaps_ms), gaps_ms  # sent 10 ms apart
        feedbacks = [
            p for p in rtcp_at[sender.transport] if p[1] == RTCP_RTPFB and p[0] & 0x1F == 15
        ]
        assert 2 <= len(feedbacks) <= 12  # every 50 ms over ~0.3 s, not one per packet
        assert not [
            p for p in rtcp_at[sender.transport] if p[1] == 206 and p[0] & 0x1F == RTCP_PSFB_APP
        ]  # no REMB
    finally:
        await sender_pc.close()
        await receiver_pc.close()
