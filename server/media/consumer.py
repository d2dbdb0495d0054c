"""A Consumer is one subscriber slot: the track behind one pre-negotiated sender of a
subscriber's peer connection. Which producer feeds it can change without renegotiation; the
router's graph decides that, and the consumer has no reference to any producer.

Forwarded media takes the lean path: `deliver` writes the frame's packets (rtp_writer) and hands
them to the sender's link (SRTP, then the socket) at once, in the call that received the frame:
no queue, no task switch, no aiortc object per packet. aiortc's own sender task waits on
`recv` forever; its RTCP task still sends the sender reports, from the counters given here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from aiortc.mediastreams import MediaStreamTrack

from server.media.forwarding import ForwardedFrame, TimestampRebaser
from server.media.rtp_writer import RtpWriter, SendSetup, abs_send_time
from server.media.stats import ForwardingStats

SWITCH_GAP_TICKS = {"audio": 960, "video": 3000}  # one frame at 48 kHz / 90 kHz


class ConsumerListener(Protocol):
    """Where a consumer's requests go (ForwardingGraph)."""

    def on_keyframe_request(self, consumer: Consumer) -> None:
        """Ask the producer feeding `consumer`, if any, for a keyframe."""

    def on_started(self, consumer: Consumer) -> None:
        """`consumer` (video) forwarded the keyframe it was waiting for."""


class SenderLink(Protocol):
    """A sender's way to its subscriber (aiortc_hooks.SrtpLink)."""

    def writable(self) -> bool:
        """Connected, and the socket not backed up (a subscriber that cannot keep up)."""

    def send(self, packets: list[bytes]) -> None:
        """SRTP-protect and send, in this call."""

    def sent(self, packets: int, octets: int, ntp: int, rtp_timestamp: int) -> None:
        """What has been sent so far and the last frame's timing, for RTCP sender reports."""


class Consumer(MediaStreamTrack):
    """The sender's track (for negotiation) and the writer of what it sends."""

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
        self._writer: RtpWriter | None = None  # once the subscriber's answer is applied
        self._link: SenderLink | None = None
        self._packets = 0
        self._octets = 0
        self._rebaser = TimestampRebaser(SWITCH_GAP_TICKS[kind])
        self._waiting_keyframe = kind == "video"
        self._stats = stats
        self._counts = stats.by_kind[kind]
        self._listener = listener
        self._clock = clock

    def attach(self, setup: SendSetup, link: SenderLink) -> None:
        """The sender started with `setup`: from now on frames go out through `link`. Video
        starts at a keyframe asked for now (one asked for earlier may have passed already)."""
        if self._writer is not None:
            return  # aiortc's sender starts once; so does its writer
        self._writer = RtpWriter(setup)
        self._link = link
        self.wait_for_keyframe()

    def source_changed(self, fed: bool) -> None:
        """The graph switched the producer feeding this slot (`fed` False: now idle). Video
        restarts at a keyframe."""
        self._rebaser.switch()
        if fed:
            self.wait_for_keyframe()

    def switched_at_keyframe(self) -> None:
        """The graph moved this slot to another layer at that layer's keyframe, which it
        delivers next: no keyframe to wait for, and the picture never stopped."""
        self._rebaser.switch()

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
        if not held:
            self.wait_for_keyframe()

    def deliver(self, frame: ForwardedFrame, ntp: int) -> None:
        """Send `frame` now; `ntp` is the wall clock sampled once for all its subscribers."""
        writer, link = self._writer, self._link
        if not self.active or self.held or writer is None or link is None:
            return
        if self._waiting_keyframe:
            if not frame.keyframe:
                return
            self._waiting_keyframe = False
            self._listener.on_started(self)
        if not link.writable():
            # The subscriber's socket is backed up (or closing): drop rather than queue stale
            # media, and restart video at a keyframe.
            self._stats.frames_dropped += 1
            self.wait_for_keyframe()
            return
        timestamp = self._rebaser.rebase(frame.timestamp)
        packets = writer.write(frame.payloads, timestamp, abs_send_time(ntp), frame.audio_level)
        link.send(packets)
        self._packets += len(packets)
        self._octets += frame.size
        link.sent(self._packets, self._octets, ntp, writer.timestamp)
        self._stats.frames_out += 1
        self._counts.packets_out += len(packets)
        self._counts.bytes_out += frame.size
        self._stats.record_delay(self._clock() - frame.arrival)

    def retransmit(self, seq: int) -> None:
        """The subscriber NACKed `seq`: send it again (as RTX when negotiated), if still kept."""
        if self._writer is None or self._link is None:
            return
        packet = self._writer.retransmission(seq)
        if packet is not None and self._link.writable():
            self._link.send([packet])

    async def recv(self) -> Any:
        """aiortc's sender task waits here until the sender stops: nothing goes through it."""
        await asyncio.get_running_loop().create_future()
