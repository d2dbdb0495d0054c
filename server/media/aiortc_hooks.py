"""Every use of aiortc and aioice internals, in one place.

aiortc has no public pass-through API (aiortc #449), so forwarding encoded media needs a few
private attributes. Each hook checks that the attribute it relies on exists and raises
`HookError` if not, and tests/media/test_aiortc_hooks.py exercises every hook against the
pinned aiortc, so an aiortc upgrade that moves them fails loudly instead of silently decoding.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import aioice.ice
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket

_RECEIVER_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_RECEIVER_HANDLE_RTP = "_handle_rtp_packet"
_RECEIVER_REMOTE_STREAMS = "_RTCRtpReceiver__remote_streams"
_CLOCK_RATES = {"audio": 48_000, "video": 90_000}
_RECEIVER_SEND_PLI = "_send_rtcp_pli"
_SENDER_ENCODER = "_RTCRtpSender__encoder"
_SENDER_KEYFRAME = "_send_keyframe"
_SENDER_NEXT_FRAME = "_next_encoded_frame"
_SENDER_EXTENSIONS_MAP = "_RTCRtpSender__rtp_header_extensions_map"
_EXTENSIONS_SET = "set"


class HookError(RuntimeError):
    """aiortc's internals no longer look the way these hooks expect."""


def _require(obj: object, attribute: str) -> None:
    if not hasattr(obj, attribute):
        raise HookError(f"{type(obj).__name__} has no {attribute}: aiortc internals changed")


class Packer(Protocol):
    """What an RTCRtpSender calls for a non-Frame item from its track (aiortc's pre-encoded
    path): returns the RTP payloads of one frame and its timestamp relative to the stream."""

    def pack(self, frame: Any) -> tuple[list[bytes], int]: ...


PacketSink = Callable[[RtpPacket], None]


class _SinkBuffer(JitterBuffer):
    """Stands in for the receiver's jitter buffer: hands every depacketised RTP packet to the
    sink and never returns a frame, so aiortc's decoder thread receives nothing to decode."""

    def __init__(self, sink: PacketSink) -> None:
        super().__init__(capacity=2)
        self._sink = sink

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        self._sink(packet)
        return False, None


def divert_received_packets(receiver: RTCRtpReceiver, sink: PacketSink) -> None:
    """Route the receiver's packets (after SRTP, NACK bookkeeping and RTX unwrapping) to `sink`
    instead of the jitter buffer and decoder."""
    _require(receiver, _RECEIVER_JITTER_BUFFER)
    if not isinstance(getattr(receiver, _RECEIVER_JITTER_BUFFER), JitterBuffer):
        raise HookError("RTCRtpReceiver jitter buffer is not a JitterBuffer")
    setattr(receiver, _RECEIVER_JITTER_BUFFER, _SinkBuffer(sink))


def count_received_packets(receiver: RTCRtpReceiver, sink: PacketSink, kind: str) -> None:
    """Cheapest receive path for load bots: every RTP packet goes to `sink` right after SRTP
    decryption; no NACKs or frame assembly. Reception statistics are still kept, so the bot's
    receiver reports carry loss, jitter and the timing a sender needs for round-trip time, as a
    browser's do."""
    _require(receiver, _RECEIVER_HANDLE_RTP)
    _require(receiver, _RECEIVER_REMOTE_STREAMS)
    streams: dict[int, StreamStatistics] = getattr(receiver, _RECEIVER_REMOTE_STREAMS)
    clock_rate = _CLOCK_RATES[kind]

    async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
        stream = streams.get(packet.ssrc)
        if stream is None:
            stream = streams[packet.ssrc] = StreamStatistics(clock_rate)
        stream.add(packet)
        sink(packet)

    setattr(receiver, _RECEIVER_HANDLE_RTP, handle)


def send_picture_loss(receiver: RTCRtpReceiver, media_ssrc: int) -> Awaitable[None]:
    """Ask the remote publisher for a keyframe (RTCP PLI)."""
    _require(receiver, _RECEIVER_SEND_PLI)
    send: Callable[[int], Awaitable[None]] = getattr(receiver, _RECEIVER_SEND_PLI)
    return send(media_ssrc)


def install_packer(sender: RTCRtpSender, packer: Packer) -> None:
    """Make the sender packetise with `packer` instead of creating an aiortc encoder.

    The sender only creates its encoder when it has none, so setting ours first means no
    libvpx/libopus context is ever made for forwarded media."""
    _require(sender, _SENDER_ENCODER)
    if getattr(sender, _SENDER_ENCODER) is not None:
        raise HookError("RTCRtpSender already created an encoder")
    setattr(sender, _SENDER_ENCODER, packer)


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call `callback` when the remote subscriber sends PLI or FIR for this sender; the
    pre-encoded path would otherwise ignore them."""
    _require(sender, _SENDER_KEYFRAME)
    setattr(sender, _SENDER_KEYFRAME, callback)


def send_audio_levels(sender: RTCRtpSender, level: Callable[[], tuple[bool, int] | None]) -> None:
    """Send the RFC 6464 ssrc-audio-level extension on pre-encoded audio.

    aiortc sets it only for frames it encodes itself, and always with V=0. After the packer
    has packed a frame, `level()` returns that frame's (voice, level 0..127 = -dBov), or None
    to send no level. Audio is one payload per frame and aiortc does not NACK audio, so the
    values stay attached to the right packet."""
    _require(sender, _SENDER_NEXT_FRAME)
    _require(sender, _SENDER_EXTENSIONS_MAP)
    extensions_map = getattr(sender, _SENDER_EXTENSIONS_MAP)
    _require(extensions_map, _EXTENSIONS_SET)
    next_frame = getattr(sender, _SENDER_NEXT_FRAME)
    stock_set = extensions_map.set
    voice = False

    async def next_encoded_frame(codec: Any) -> Any:
        nonlocal voice
        frame = await next_frame(codec)
        if frame is not None and frame.audio_level is None:
            current = level()
            if current is not None:
                voice = current[0]
                frame.audio_level = -max(0, min(127, current[1]))  # aiortc wants dBov
        return frame

    def set_extensions(values: Any) -> Any:
        if values.audio_level is not None:
            values.audio_level = (voice, values.audio_level[1])
        return stock_set(values)

    setattr(sender, _SENDER_NEXT_FRAME, next_encoded_frame)
    setattr(extensions_map, _EXTENSIONS_SET, set_extensions)


_stock_get_host_addresses = aioice.ice.get_host_addresses


def restrict_host_addresses(addresses: Sequence[str] | None) -> None:
    """Gather ICE host candidates only on `addresses` (None restores aioice's default: every
    interface but loopback). Loopback is allowed here, which aioice otherwise skips."""
    if not hasattr(aioice.ice, "get_host_addresses"):
        raise HookError("aioice.ice.get_host_addresses is gone: aioice internals changed")
    if addresses is None:
        aioice.ice.get_host_addresses = _stock_get_host_addresses
        return
    chosen = [str(ipaddress.ip_address(a)) for a in addresses]

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [
            a
            for a in chosen
            if (use_ipv4 and ipaddress.ip_address(a).version == 4)
            or (use_ipv6 and ipaddress.ip_address(a).version == 6)
        ]

    aioice.ice.get_host_addresses = get_host_addresses
