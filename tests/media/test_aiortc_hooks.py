"""Every private aiortc/aioice hook, exercised against the pinned aiortc over a real loopback
connection. If an aiortc upgrade moves an internal, these fail loudly."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aioice.ice
import pytest
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtp import RtpPacket

from bench.harness import free_udp_ports
from server.media import aiortc_hooks
from server.media.forwarding import ForwardedFrame
from tests.conftest import negotiate, peer_pair

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

    with pytest.raises(aiortc_hooks.HookError):
        aiortc_hooks.divert_received_packets(Bare(), lambda p: None)  # type: ignore[arg-type]
    with pytest.raises(aiortc_hooks.HookError):
        aiortc_hooks.install_packer(Bare(), Packer())  # type: ignore[arg-type]
    with pytest.raises(aiortc_hooks.HookError):
        aiortc_hooks.on_keyframe_request(Bare(), lambda: None)  # type: ignore[arg-type]
    with pytest.raises(aiortc_hooks.HookError):
        aiortc_hooks.count_received_packets(Bare(), lambda p: None, "audio")  # type: ignore[arg-type]


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

    received: list[RtpPacket] = []
    recv_transceiver = receiver_pc.addTransceiver("audio", direction="recvonly")
    aiortc_hooks.divert_received_packets(recv_transceiver.receiver, received.append)

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
