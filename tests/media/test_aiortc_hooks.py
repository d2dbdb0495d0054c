"""Every private aiortc/aioice hook, exercised against the pinned aiortc over a real loopback
connection. If an aiortc upgrade moves an internal, these fail loudly."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aioice.ice
import pytest
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtp import RTCP_RTPFB_NACK, RtcpRtpfbPacket

from bench.harness import free_udp_ports
from server.media import aiortc_hooks, aiortc_receive, aiortc_send
from server.media.consumer import Consumer
from server.media.forwarding import ForwardedFrame
from server.media.graph import ForwardingGraph
from server.media.rtp_reader import ReceivedPacket
from server.media.rtp_writer import ntp_now
from server.media.stats import ForwardingStats
from tests.conftest import negotiate, peer_pair, until

STOCK_COMPONENT_CANDIDATES = aioice.ice.Connection.get_component_candidates


class FrameTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.queue: asyncio.Queue[ForwardedFrame] = asyncio.Queue()

    async def recv(self) -> Any:
        return await self.queue.get()


class Packer:
    def pack(self, frame: ForwardedFrame) -> tuple[list[bytes], int]:
        return frame.payloads, frame.timestamp


def test_hooks_refuse_objects_without_the_internals() -> None:
    class Bare:
        pass

    class Sender:
        transport = Bare()  # a DTLS transport without aiortc's SRTP session and state

    with pytest.raises(aiortc_hooks.HookError):
        aiortc_hooks.install_packer(Bare(), Packer())  # type: ignore[arg-type]
    with pytest.raises(aiortc_hooks.HookError):
        aiortc_hooks.on_keyframe_request(Bare(), lambda: None)  # type: ignore[arg-type]
    with pytest.raises(aiortc_hooks.HookError):
        aiortc_hooks.count_received_packets(Bare(), lambda p: None, "audio")  # type: ignore[arg-type]
    with pytest.raises(aiortc_hooks.HookError):
        aiortc_send.send_directly(
            Bare(), Consumer("audio", 0, ForwardingStats(), ForwardingGraph())
        )  # type: ignore[arg-type]
    with pytest.raises(aiortc_hooks.HookError):
        aiortc_send.SrtpLink(Sender())  # type: ignore[arg-type]
    with pytest.raises(aiortc_hooks.HookError):
        aiortc_send.remote_inbound_stats(Bare())  # type: ignore[arg-type]


def test_restrict_host_addresses_includes_loopback(loopback_ice: None) -> None:
    assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1"]
    assert aioice.ice.get_host_addresses(False, True) == []


async def test_forwarded_payloads_cross_a_real_connection_without_codecs(
    loopback_ice: None, codec_count: list[str]
) -> None:
    sender_pc, receiver_pc = peer_pair()
    track = FrameTrack()
    transceiver = sender_pc.addTransceiver(track, direction="sendonly")
    aiortc_hooks.install_packer(transceiver.sender, Packer())
    keyframe_requests: list[int] = []
    aiortc_hooks.on_keyframe_request(transceiver.sender, lambda: keyframe_requests.append(1))

    received: list[ReceivedPacket] = []
    recv_transceiver = receiver_pc.addTransceiver("audio", direction="recvonly")
    aiortc_receive.receive_directly(recv_transceiver.receiver, received.append)

    await negotiate(sender_pc, receiver_pc)
    try:
        async with asyncio.timeout(10):
            while sender_pc.connectionState != "connected":
                await asyncio.sleep(0.05)
            for i in range(5):
                track.queue.put_nowait(ForwardedFrame([bytes([0xF8, i])], i * 960, True, 0.0))
            while len(received) < 5:
                await asyncio.sleep(0.02)
            assert [p.payload for p in received] == [bytes([0xF8, i]) for i in range(5)]
            ssrc = received[0].ssrc
            await aiortc_hooks.send_picture_loss(recv_transceiver.receiver, ssrc)
            while not keyframe_requests:
                await asyncio.sleep(0.02)
    finally:
        await sender_pc.close()
        await receiver_pc.close()
    assert codec_count == []  # no aiortc encoder or decoder was created


@dataclass
class LeanPair:
    consumer: Consumer  # sending on the lean path
    sender: RTCRtpSender
    receiver: RTCRtpReceiver  # receiving on the lean path into `received`
    received: list[ReceivedPacket]


@asynccontextmanager
async def lean_pair(kind: str, graph: ForwardingGraph | None = None) -> AsyncIterator[LeanPair]:
    """A real connection whose sender is an active Consumer (of `graph`) on the lean send path
    and whose receiver takes the lean receive path; closed on the way out."""
    sender_pc, receiver_pc = peer_pair()
    consumer = Consumer(kind, 0, ForwardingStats(), graph or ForwardingGraph())
    transceiver = sender_pc.addTransceiver(consumer, direction="sendonly")
    aiortc_send.send_directly(transceiver.sender, consumer)
    received: list[ReceivedPacket] = []
    recv_transceiver = receiver_pc.addTransceiver(kind, direction="recvonly")
    aiortc_receive.receive_directly(recv_transceiver.receiver, received.append)
    await negotiate(sender_pc, receiver_pc)
    try:
        await until(lambda: consumer._link is not None, 10, "the sender started")
        consumer.activate()
        yield LeanPair(consumer, transceiver.sender, recv_transceiver.receiver, received)
    finally:
        await sender_pc.close()
        await receiver_pc.close()


async def test_the_lean_path_sends_retransmits_and_reports_over_a_real_connection(
    loopback_ice: None, codec_count: list[str]
) -> None:
    async with lean_pair("video") as pair:
        consumer, received = pair.consumer, pair.received
        for i in range(5):  # keyframes (VP8 P bit 0), so none waits for one
            frame = ForwardedFrame([bytes([0x10, 0x00, i])], i * 3000, True, time.monotonic())
            consumer.deliver(frame, ntp_now())
        await until(lambda: len(received) == 5, 5, "five packets")
        assert [p.payload[2] for p in received] == list(range(5))
        assert {p.ssrc for p in received} == {pair.sender._ssrc}
        # a NACK is answered over RTX, which the receiver unwraps to the original packet
        lost = received[2]
        nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=1, media_ssrc=lost.ssrc)
        nack.lost = [lost.sequence_number]
        await pair.sender._handle_rtcp_packet(nack)
        await until(lambda: len(received) == 6, 5, "the retransmission")
        assert (received[5].sequence_number, received[5].payload) == (
            lost.sequence_number,
            lost.payload,
        )

        # aiortc's RTCP task reports what the lean path sent, with a round-trip time
        async def reported() -> tuple[Any, Any]:
            remote = await pair.receiver.getStats()
            local = await pair.sender.getStats()
            sent = [s for s in remote.values() if s.type == "remote-outbound-rtp"]
            rtt = [s for s in local.values() if s.type == "remote-inbound-rtp"]
            return (sent[0] if sent else None), (rtt[0] if rtt else None)

        async with asyncio.timeout(10):
            while None in (report := await reported()) or report[1].roundTripTime is None:
                await asyncio.sleep(0.1)
        sender_report, receiver_report = report
        assert (sender_report.packetsSent, sender_report.bytesSent) == (5, 15)
        # the link-quality worker reads the same receiver report without getStats
        assert aiortc_send.remote_inbound_stats(pair.sender) == [receiver_report]
        age_s = time.time() - sender_report.remoteTimestamp.timestamp()
        assert 0 <= age_s < 10  # the NTP time of the last frame sent
        assert 0 <= receiver_report.roundTripTime < 1
    assert codec_count == []  # no aiortc encoder or decoder was created


async def test_count_received_packets_sees_packets_before_any_assembly(
    loopback_ice: None,
) -> None:
    sender_pc, receiver_pc = peer_pair()
    track = FrameTrack()
    transceiver = sender_pc.addTransceiver(track, direction="sendonly")
    aiortc_hooks.install_packer(transceiver.sender, Packer())
    counted: list[int] = []
    recv_transceiver = receiver_pc.addTransceiver("audio", direction="recvonly")
    aiortc_hooks.count_received_packets(
        recv_transceiver.receiver, lambda p: counted.append(1), "audio"
    )
    await negotiate(sender_pc, receiver_pc)
    try:
        async with asyncio.timeout(10):
            while sender_pc.connectionState != "connected":
                await asyncio.sleep(0.05)
            for i in range(3):
                track.queue.put_nowait(ForwardedFrame([b"\xf8\x00"], i * 960, True, 0.0))
            while len(counted) < 3:
                await asyncio.sleep(0.02)
        # reception statistics are kept, so receiver reports carry loss and timing
        stats = await recv_transceiver.receiver.getStats()
        inbound = [s for s in stats.values() if s.type == "inbound-rtp"]
        assert [s.packetsReceived for s in inbound] == [3]
    finally:
        await sender_pc.close()
        await receiver_pc.close()


def _host_ports(pc: Any) -> set[int]:
    sdp = pc.localDescription.sdp
    return {int(line.split()[5]) for line in sdp.splitlines() if line.startswith("a=candidate")}


async def test_bind_host_ports_keeps_candidates_in_the_range(loopback_ice: None) -> None:
    first, last = free_udp_ports(4)
    aiortc_hooks.bind_host_ports((first, last))
    sender_pc, receiver_pc = peer_pair()
    try:
        sender_pc.addTransceiver("audio", direction="sendonly")
        receiver_pc.addTransceiver("audio", direction="recvonly")
        await negotiate(sender_pc, receiver_pc)
        ports = _host_ports(sender_pc) | _host_ports(receiver_pc)
        assert len(ports) == 2 and all(first <= p <= last for p in ports), ports
        async with asyncio.timeout(10):
            while sender_pc.connectionState != "connected":
                await asyncio.sleep(0.05)
    finally:
        aiortc_hooks.bind_host_ports(None)
        await sender_pc.close()
        await receiver_pc.close()


async def test_bind_host_ports_says_when_the_range_is_exhausted(loopback_ice: None) -> None:
    first, last = free_udp_ports(1)
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", first))
    aiortc_hooks.bind_host_ports((first, last))
    pc = peer_pair()[0]
    try:
        pc.addTransceiver("audio", direction="sendonly")
        with pytest.raises(aiortc_hooks.PortRangeExhausted, match=f"{first}-{last} on 127.0.0.1"):
            await pc.setLocalDescription(await pc.createOffer())
    finally:
        aiortc_hooks.bind_host_ports(None)
        taken.close()
        await pc.close()
    # restored: aioice's own ephemeral ports again
    assert aioice.ice.Connection.get_component_candidates is STOCK_COMPONENT_CANDIDATES
