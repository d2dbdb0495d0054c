"""A Producer is one incoming track of a publisher (for a simulcast camera, one of its layers).
It assembles frames and hands them to its listener (the router's graph, which knows the
consumers); it has no reference to any consumer."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from server.media.forwarding import ForwardedFrame, Vp8FrameAssembler, vp8_keyframe_size
from server.media.rtp_clock import RtpClock
from server.media.rtp_reader import ReceivedPacket
from server.media.stats import ForwardingStats

KEYFRAME_REQUEST_INTERVAL_S = 0.5  # at most one PLI per producer in this time
KEYFRAME_RETRY_S = 1.0  # publisher NACKs a gap once only: re-ask while a keyframe is owed


@dataclass(frozen=True, slots=True)
class AudioLevel:
    """RFC 6464 level of one audio packet: level 0 is loudest, 127 silence (-dBov)."""

    participant_id: str
    level: int
    voice: bool
    at: float  # monotonic seconds, when it arrived
    media_at: float | None = None  # when its audio began, from its RTP timestamp (same clock)


class ProducerListener(Protocol):
    """Where a producer's output goes (ForwardingGraph)."""

    def on_frame(self, producer: Producer, frame: ForwardedFrame) -> None:
        """A frame to forward (called per frame, on the packet path)."""

    def on_keyframe_needed(self, producer: Producer) -> None:
        """The stream broke or resumed: whoever receives it must restart at a keyframe."""


class Producer:
    def __init__(
        self,
        kind: str,
        participant_id: str,
        send_keyframe_request: Callable[[int], None],
        stats: ForwardingStats,
        listener: ProducerListener,
        on_audio_level: Callable[[AudioLevel], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        rid: str = "",
    ) -> None:
        self.kind = kind
        self.participant_id = participant_id
        self.rid = rid  # the camera layer it carries ("" for audio)
        self.size: tuple[int, int] | None = None  # video: (width, height) of its last keyframe
        self.paused = False
        self.packets = 0
        self.bytes = 0
        self.frames = 0
        self.last_packet_at: float | None = None
        self._send_keyframe_request = send_keyframe_request
        self._stats = stats
        self._counts = stats.by_kind[kind]
        self._listener = listener
        self._on_frame = listener.on_frame  # bound once: it is called for every frame
        self._on_audio_level = on_audio_level
        self._clock = clock
        self._assembler = Vp8FrameAssembler() if kind == "video" else None
        self._rtp_clock = RtpClock() if kind == "audio" else None  # Opus: 48 kHz always
        self._ssrc: int | None = None
        self._last_request_at = -1e9
        self._keyframe_owed_since: float | None = None

    def on_packet(self, packet: ReceivedPacket) -> None:
        now = self._clock()
        size = len(packet.payload)
        self.packets += 1
        self.bytes += size
        self.last_packet_at = now
        self._ssrc = packet.ssrc
        self._counts.packets_in += 1
        self._counts.bytes_in += size
        if self._assembler is None:
            audio_level = packet.audio_level
            if self._on_audio_level is not None and audio_level is not None:
                voice, level = audio_level
                media_at = (
                    now
                    if self._rtp_clock is None
                    else self._rtp_clock.at(packet.ssrc, packet.timestamp, now)
                )
                self._on_audio_level(AudioLevel(self.participant_id, level, voice, now, media_at))
            if packet.payload:
                self._fan_out(
                    ForwardedFrame([packet.payload], packet.timestamp, True, now, audio_level)
                )
            return
        result = self._assembler.add(
            packet.sequence_number, packet.timestamp, packet.marker, packet.payload, now
        )
        if result.broken:
            self._listener.on_keyframe_needed(self)
            self.request_keyframe()
        for frame in result.frames:
            if frame.keyframe:
                self._keyframe_owed_since = None
                self.size = vp8_keyframe_size(frame.payloads[0]) or self.size
            self._fan_out(frame)
        if (
            self._keyframe_owed_since is not None
            and now - self._last_request_at >= KEYFRAME_RETRY_S
        ):
            self._send_request(now)

    def _fan_out(self, frame: ForwardedFrame) -> None:
        self.frames += 1
        self._stats.frames_in += 1
        if self.paused:
            return
        self._on_frame(self, frame)

    def set_paused(self, paused: bool) -> None:
        """Stop or restart forwarding (a mute enforced by the server). Video restarts at a
        keyframe, since the subscribers' decoders missed everything in between."""
        if paused == self.paused:
            return
        self.paused = paused
        if not paused:
            self._listener.on_keyframe_needed(self)

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe, at most once per KEYFRAME_REQUEST_INTERVAL_S;
        the watchdog in on_packet repeats it until one arrives."""
        if self.kind != "video":
            return
        now = self._clock()
        if self._keyframe_owed_since is None:
            self._keyframe_owed_since = now
        if now - self._last_request_at >= KEYFRAME_REQUEST_INTERVAL_S:
            self._send_request(now)

    def _send_request(self, now: float) -> None:
        if self._ssrc is None:
            return
        self._last_request_at = now
        self._stats.keyframe_requests += 1
        self._send_keyframe_request(self._ssrc)
