"""Every private aiortc/aioice hook, exercised against the pinned aiortc over a real loopback
connection. If an aiortc upgrade moves an internal, these fail loudly."""

from __future__ import annotations

import asyncio
from typing import Any

import aioice.ice
import pytest
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    rtcrtpreceiver,
    rtcrtpsender,
)
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtp import RtpPacket

from server.media import aiortc_hooks
from server.media.forwarding import ForwardedFrame


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


@pytest.fixture
def loopback_only() -> Any:
    aiortc_hooks.restrict_host_addresses(["127.0.0.1"])
    yield
    aiortc_hooks.restrict_host_addresses(None)


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
        aiortc_hooks.count_received_packets(Bare(), lambda p: None)  # type: ignore[arg-type]


def test_restrict_host_addresses_includes_loopback(loopback_only: Any) -> None:
    assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1"]
    assert aioice.ice.get_host_addresses(False, True) == []


async def test_forwarded_payloads_cross_a_real_connection_without_codecs(
    loopback_only: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []
    real_encoder, real_decoder = rtcrtpsender.get_encoder, rtcrtpreceiver.get_decoder
    monkeypatch.setattr(
        rtcrtpsender, "get_encoder", lambda c: made.append("enc") or real_encoder(c)
    )
    monkeypatch.setattr(
        rtcrtpreceiver, "get_decoder", lambda c: made.append("dec") or real_decoder(c)
    )

    config = RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    sender_pc, receiver_pc = RTCPeerConnection(config), RTCPeerConnection(config)
    track = FrameTrack()
    transceiver = sender_pc.addTransceiver(track, direction="sendonly")
    aiortc_hooks.install_packer(transceiver.sender, Packer())
    keyframe_requests: list[int] = []
    aiortc_hooks.on_keyframe_request(transceiver.sender, lambda: keyframe_requests.append(1))

    received: list[RtpPacket] = []
    recv_transceiver = receiver_pc.addTransceiver("audio", direction="recvonly")
    aiortc_hooks.divert_received_packets(recv_transceiver.receiver, received.append)

    await sender_pc.setLocalDescription(await sender_pc.createOffer())
    await receiver_pc.setRemoteDescription(sender_pc.localDescription)
    await receiver_pc.setLocalDescription(await receiver_pc.createAnswer())
    await sender_pc.setRemoteDescription(receiver_pc.localDescription)
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
    assert made == []  # no aiortc encoder or decoder was created


async def test_count_received_packets_sees_packets_before_any_assembly(
    loopback_only: Any,
) -> None:
    config = RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    sender_pc, receiver_pc = RTCPeerConnection(config), RTCPeerConnection(config)
    track = FrameTrack()
    transceiver = sender_pc.addTransceiver(track, direction="sendonly")
    aiortc_hooks.install_packer(transceiver.sender, Packer())
    counted: list[int] = []
    recv_transceiver = receiver_pc.addTransceiver("audio", direction="recvonly")
    aiortc_hooks.count_received_packets(recv_transceiver.receiver, lambda p: counted.append(1))
    await sender_pc.setLocalDescription(await sender_pc.createOffer())
    await receiver_pc.setRemoteDescription(sender_pc.localDescription)
    await receiver_pc.setLocalDescription(await receiver_pc.createAnswer())
    await sender_pc.setRemoteDescription(receiver_pc.localDescription)
    try:
        async with asyncio.timeout(10):
            while sender_pc.connectionState != "connected":
                await asyncio.sleep(0.05)
            for i in range(3):
                track.queue.put_nowait(ForwardedFrame([b"\xf8\x00"], i * 960, True, 0.0))
            while len(counted) < 3:
                await asyncio.sleep(0.02)
    finally:
        await sender_pc.close()
        await receiver_pc.close()
