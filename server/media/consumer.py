"""A Consumer is one subscriber slot: the track behind one pre-negotiated sender of a
subscriber's peer connection. Which producer feeds it can change without renegotiation; the
router's graph decides that, and the consumer has no reference to any producer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from aiortc.mediastreams import MediaStreamTrack

from server.media.forwarding import ForwardedFrame, TimestampRebaser
from server.media.stats import ForwardingStats

QUEUE_FRAMES = {"audio": 50, "video": 30}  # ~1 s of media; more means the sender is stuck
SWITCH_GAP_TICKS = {"audio": 960, "video": 3000}  # one frame at 48 kHz / 90 kHz


class ConsumerListener(Protocol):
    """Where a consumer's requests go (ForwardingGraph)."""

    def on_keyframe_request(self, consumer: Consumer) -> None:
        """Ask the producer feeding `consumer`, if any, for a keyframe."""


class Consumer(MediaStreamTrack):
    """Both the sender's track (recv) and its packer (pack): frames pass through untouched."""

    def __init__(
        self,
        kind: str,
        slot: int,
        stats: ForwardingStats,
        listener: ConsumerListener,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.slot = slot
        self.mid: str | None = None
        self.active = False  # set once the subscriber's transport is connected
        self.held = False  # video held back from a subscriber whose downstream is poor
        self._queue: asyncio.Queue[ForwardedFrame] = asyncio.Queue(QUEUE_FRAMES[kind])
        self._rebaser = TimestampRebaser(SWITCH_GAP_TICKS[kind])
        self._waiting_keyframe = kind == "video"
        self._stats = stats
        self._counts = stats.by_kind[kind]
        self._listener = listener
        self._clock = clock

    def source_changed(self, fed: bool) -> None:
        """The graph switched the producer feeding this slot (`fed` False: now idle). Video
        restarts at a keyframe."""
        self._flush()
        self._rebaser.switch()
        if fed:
            self.wait_for_keyframe()

    def wait_for_keyframe(self) -> None:
        if self.kind == "video":
            self._waiting_keyframe = True
            if self.active:
                self._listener.on_keyframe_request(self)

    def request_keyframe(self) -> None:
        """The subscriber lost a picture (PLI/FIR): pass it on to the publisher."""
        self._listener.on_keyframe_request(self)

    def activate(self) -> None:
        self.active = True
        self.wait_for_keyframe()

    def hold(self, held: bool) -> None:
        """Stop or restart sending (graceful degradation); video restarts at a keyframe."""
        if held == self.held:
            return
        self.held = held
        self._flush()
        if not held:
            self.wait_for_keyframe()

    def deliver(self, frame: ForwardedFrame) -> None:
        if not self.active or self.held:
            return
        if self._waiting_keyframe:
            if not frame.keyframe:
                return
            self._waiting_keyframe = False
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            # The sender fell a second behind: drop the backlog and restart from a keyframe
            # rather than play out stale media.
            self._stats.frames_dropped += self._queue.qsize() + 1
            self._flush()
            self.wait_for_keyframe()

    def _flush(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    async def recv(self) -> Any:
        return await self._queue.get()

    def pack(self, frame: ForwardedFrame) -> tuple[list[bytes], int]:
        self._stats.frames_out += 1
        self._counts.packets_out += len(frame.payloads)
        self._counts.bytes_out += frame.size
        self._stats.record_delay(self._clock() - frame.arrival)
        return frame.payloads, self._rebaser.rebase(frame.timestamp)
