"""A bot's peer connections, shared by Circle's bots (client.py) and the Janus benchmark's
(bench/janus_client.py): configuration, sending pre-encoded tracks, counting what arrives."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCRtpSender

from server.bot.errors import BotError
from server.bot.media import EncodedTrack, OpusPacker, Vp8Packer
from server.bot.stats import ReceiveCounter
from server.media import aiortc_hooks, aiortc_receive, sdp

_CODECS = {"audio": ("audio/opus",), "video": ("video/vp8", "video/rtx")}
# A bot receives everyone's media; in the benchmarks sixteen bots share one core, and Linux's
# default 208 KiB overflowed when a frame reached all of them at once (RcvbufErrors).
RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024


def _codec_preferences(kind: str) -> list[Any]:
    caps = RTCRtpSender.getCapabilities(kind).codecs
    return [c for c in caps if c.mimeType.lower() in _CODECS[kind]]


def rtc_configuration() -> RTCConfiguration:
    # No ICE servers (aiortc's default is a public STUN server); MAX_BUNDLE (aiortc #1414).
    return RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


async def answer(pc: RTCPeerConnection, numbered: bool = False) -> str:
    """Answer the subscription offer already set on `pc` (aiortc gathers fully), with room in
    the sockets' receive buffers; the answer's SDP. `numbered`: it takes the transport-wide
    sequence numbers the offer has (aiortc knows only their name; a bot sends no feedback),
    so Circle writes them for a bot as for a browser."""
    await pc.setLocalDescription(await pc.createAnswer())
    aiortc_receive.enlarge_receive_buffers(pc, RECEIVE_BUFFER_BYTES)
    text = str(pc.localDescription.sdp)
    remote = pc.remoteDescription
    offered = sdp.transport_cc_offer(remote.sdp) if remote and numbered else {}
    return sdp.accept_transport_cc(text, offered) if offered else text


def send_tracks(
    pc: RTCPeerConnection, tracks: list[EncodedTrack], video_packer: Vp8Packer
) -> dict[str, Vp8Packer | OpusPacker]:
    """Send pre-encoded `tracks` on `pc` (aiortc creates no encoder): VP8 through
    `video_packer`, honouring keyframe requests; Opus with its RFC 6464 levels. Returns the
    packers by kind (they count what was sent)."""
    packers: dict[str, Vp8Packer | OpusPacker] = {}
    for track in tracks:
        transceiver = pc.addTransceiver(track, direction="sendonly")
        transceiver.setCodecPreferences(_codec_preferences(track.kind))
        sender = transceiver.sender
        if track.kind == "video":
            aiortc_hooks.install_packer(sender, video_packer)
            aiortc_hooks.on_keyframe_request(sender, track.request_keyframe)
            packers["video"] = video_packer
        else:
            audio_packer = OpusPacker()
            aiortc_hooks.install_packer(sender, audio_packer)
            aiortc_hooks.send_audio_levels(sender, _last_level(audio_packer))
            packers["audio"] = audio_packer
    return packers


async def wait_connected(
    name: str, pcs: Iterable[RTCPeerConnection | None], limit_s: float
) -> None:
    """Until every peer connection of `pcs` is connected; BotError if one fails or closes,
    TimeoutError after `limit_s`."""
    async with asyncio.timeout(limit_s):
        for pc in pcs:
            while pc is not None and pc.connectionState != "connected":
                if pc.connectionState in ("failed", "closed"):
                    raise BotError(f"{name}: peer connection {pc.connectionState}")
                await asyncio.sleep(0.05)


def count_receivers(pc: RTCPeerConnection, receive: ReceiveCounter) -> None:
    """After the remote offer: every receiver of `pc` counts into `receive`, undecoded."""
    for transceiver in pc.getTransceivers():
        mid = transceiver.mid
        assert mid is not None
        receive.add_mid(mid, transceiver.kind)
        aiortc_hooks.count_received_packets(
            transceiver.receiver, receive.sink(mid), transceiver.kind
        )


def _last_level(packer: OpusPacker) -> Callable[[], tuple[bool, int] | None]:
    return lambda: packer.last_level


class MediaCounts:
    """What a bot sent and received, by kind: `_receive` counts arrivals (undecoded), the
    packers of `send_tracks` count what went out."""

    _receive: ReceiveCounter
    _packers: dict[str, Vp8Packer | OpusPacker]

    def received(self, kind: str, participant_id: str | None = None) -> int:
        """Packets of `kind` received from `participant_id` (all sources when None)."""
        return self._receive.received(kind, participant_id)

    def lost(self, kind: str) -> int:
        return self._receive.lost(kind)

    def sent(self, kind: str) -> int:
        packer = self._packers.get(kind)
        return packer.payloads if packer is not None else 0
