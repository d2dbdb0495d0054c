"""Pacing: an EncodedTrack replays an EncodedStream's packets in real time, looping forever
with continuing timestamps, honouring keyframe requests and Opus DTX as a browser would."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from server.bot.encoded import EncodedStream, Kind

KEYFRAME_SKIP_INTERVAL_S = 0.5  # honour at most one keyframe request in this time
RESYNC_AFTER_S = 1.0  # this far behind the schedule: drop the backlog instead of bursting
VOICE_MAX_LEVEL = 60  # an audio packet at -60 dBov or louder is marked as voice (V=1)
# Opus DTX as libopus + libwebrtc do it: packets of <= 2 bytes are never sent; in a run of
# silent packets the first 10 (200 ms) go out, then one every 20 (400 ms, comfort noise).
DTX_MAX_BYTES = 2
DTX_SILENT_LEVEL = 90  # quieter than -90 dBov counts as silence
DTX_HANGOVER = 10
DTX_INTERVAL = 20


@dataclass(frozen=True, slots=True)
class EncodedItem:
    """What an EncodedTrack's recv() returns: one encoded frame for a packer."""

    kind: Kind
    data: bytes
    timestamp: int  # clock ticks since the track started, continuing across loops
    keyframe: bool
    level: int | None  # RFC 6464 level (audio)
    voice: bool


class EncodedTrack(MediaStreamTrack):
    """Replays an EncodedStream in real time, looping forever with continuing timestamps.

    On a keyframe request (video) the next frame slot carries the file's next keyframe. While
    paused (no one watches this camera) nothing is sent and the time still passes."""

    def __init__(
        self,
        stream: EncodedStream,
        *,
        dtx: bool = True,
        clock: Callable[[], float] = time.monotonic,
        start_index: int = 0,
    ) -> None:
        super().__init__()
        self.kind = stream.kind
        self.stream = stream
        self.dtx = dtx
        self._clock = clock
        self._index = start_index % len(stream.packets)
        self._timestamp = 0
        self._started_at: float | None = None
        self._skip_pending = False
        self._last_skip_request = -math.inf
        self.loops = 0
        self.sent = 0
        self.keyframe_skips = 0
        self.paused = False
        self._silent_run = 0
        self._keyframes = [i for i, p in enumerate(stream.packets) if p.keyframe]

    def request_keyframe(self) -> None:
        """Honoured at the next frame slot, at most once per KEYFRAME_SKIP_INTERVAL_S."""
        if self.kind != "video" or not self._keyframes:
            return
        now = self._clock()
        if now - self._last_skip_request >= KEYFRAME_SKIP_INTERVAL_S:
            self._last_skip_request = now
            self._skip_pending = True

    def set_paused(self, paused: bool) -> None:
        """Stop sending, or go on from the next keyframe (as a browser whose encoding is
        turned off and on)."""
        if self.paused and not paused:
            self._skip_pending = True
        self.paused = paused

    def _next_keyframe(self, index: int) -> int:
        for k in self._keyframes:
            if k >= index:
                return k
        self.loops += 1  # wrapped past the end of the file
        return self._keyframes[0]

    def next_item(self) -> tuple[EncodedItem, float]:
        """The next item and the time (on this track's clock) it is due; advances."""
        packets = self.stream.packets
        if self._skip_pending:
            self._skip_pending = False
            target = self._next_keyframe(self._index)
            if target != self._index:
                self.keyframe_skips += 1
            self._index = target
        packet = packets[self._index]
        timestamp = self._timestamp
        self._timestamp += packet.duration
        self._index += 1
        if self._index == len(packets):
            self._index = 0
            self.loops += 1
        if self._started_at is None:
            self._started_at = self._clock()
        due = self._started_at + timestamp / self.stream.clock_rate
        level = packet.level
        item = EncodedItem(
            self.stream.kind,
            packet.data,
            timestamp,
            packet.keyframe,
            level,
            level is not None and level <= VOICE_MAX_LEVEL,
        )
        return item, due

    def _dtx_drops(self, item: EncodedItem) -> bool:
        if len(item.data) <= DTX_MAX_BYTES:
            return True
        if item.level is None or item.level < DTX_SILENT_LEVEL:
            self._silent_run = 0
            return False
        self._silent_run += 1
        if self._silent_run <= DTX_HANGOVER:
            return False
        return (self._silent_run - DTX_HANGOVER) % DTX_INTERVAL != 0

    async def recv(self) -> EncodedItem:  # type: ignore[override]
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            item, due = self.next_item()
            wait = due - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -RESYNC_AFTER_S and self._started_at is not None:
                self._started_at -= wait  # fell far behind (a stalled loop): do not burst
            if self.paused or (self.dtx and item.kind == "audio" and self._dtx_drops(item)):
                continue  # not sent; the time still passes
            self.sent += 1
            return item
