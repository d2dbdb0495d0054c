"""A Consumer is one subscriber slot: the track behind one pre-negotiated sender of a
subscriber's peer connection. Which producer feeds it can change without renegotiation; the
router's graph decides that, and the consumer has no reference to any producer.

Forwarded media takes the lean path: `deliver` writes the frame's packets (rtp_writer) and hands
them to the sender's link (SRTP, then the socket) at once, in the call that received the frame:
no queue, no task switch, no aiortc object per packet. Once a slot is steady (its link aims a
compiled writer at its socket, nothing to wait for), the graph sends its frames with the
compiled fan-out instead, and the slot leaves it at the first thing that needs deciding here
(a keyframe to wait for, a hold, a new source, a full socket). aiortc's own sender task waits on
`recv` forever; its RTCP task still sends the sender reports, from the writer's counts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from aiortc.mediastreams import MediaStreamTrack

from server.media.compiled_send import CompiledRtpWriter, new_writer
from server.media.forwarding import TS_MOD, ForwardedFrame, TimestampRebaser
from server.media.rtp_writer import (
    FrameWriting,
    PacketNumbering,
    SendSetup,
    abs_send_time,
)
from server.media.stats import ForwardingStats
from server.media.transport_feedback import URI_TRANSPORT_CC

SWITCH_GAP_TICKS = {"audio": 960, "video": 3000}  # one frame at 48 kHz / 90 kHz


class ConsumerListener(Protocol):
    """Where a consumer's requests go (ForwardingGraph)."""

    def on_keyframe_request(self, consumer: Consumer) -> None:
        """Ask the producer feeding `consumer`, if any, for a keyframe."""

    def on_started(self, consumer: Consumer) -> None:
        """`consumer` (video) forwarded the keyframe it was waiting for."""

    def on_steadiness(self, consumer: Consumer) -> None:
        """`consumer.steady` changed."""


class SenderLink(Protocol):
    """A sender's way to its subscriber (aiortc_send.SrtpLink)."""

    @property
    def direct(self) -> bool:
        """The last frame went out through a compiled writer aimed at the link's socket (so
        the compiled fan-out can send for it)."""

    def writable(self) -> bool:
        """Connected, and the socket not backed up (a subscriber that cannot keep up)."""

    def send(self, packets: list[bytes]) -> None:
        """SRTP-protect and send, in this call."""

    def send_frame(
        self,
        writer: FrameWriting,
        payloads: list[bytes],
        timestamp: int,
        send_time: int,
        audio_level: tuple[bool, int] | None,
    ) -> bool:
        """Write one frame with `writer` and send it, in this call, if the link is writable;
        False when it was not, or not all of the frame went out."""


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
        self._writer: FrameWriting | None = None  # once the subscriber's answer is applied
        self._link: SenderLink | None = None
        self.steady = False  # sent by the graph's compiled fan-out, not by `deliver`
        self._rebaser = TimestampRebaser(SWITCH_GAP_TICKS[kind])
        self._waiting_keyframe = kind == "video"
        self._stats = stats
        self._counts = stats.by_kind[kind]
        self._listener = listener
        self._clock = clock
        # the subscriber connection's transport-wide numbering, when its answer took it
        self._numbering: tuple[int, PacketNumbering] | None = None

    def number_packets(self, ext_id: int, numbering: PacketNumbering) -> None:
        """The subscriber took transport-cc at `ext_id`: every packet sent from the start is
        numbered by its connection's `numbering` (before `attach`)."""
        self._numbering = (ext_id, numbering)

    def attach(self, setup: SendSetup, link: SenderLink) -> None:
        """The sender started with `setup`: from now on frames go out through `link`. Video
        starts at a keyframe asked for now (one asked for earlier may have passed already)."""
        if self._writer is not None:
            return  # aiortc's sender starts once; so does its writer
        numbering = None
        if self._numbering is not None:
            ext_id, numbering = self._numbering
            setup = replace(setup, extensions={**setup.extensions, URI_TRANSPORT_CC: ext_id})
        self._writer = new_writer(setup, transport=numbering)
        self._link = link
        self.wait_for_keyframe()

    def source_changed(self, fed: bool) -> None:
        """The graph switched the producer feeding this slot (`fed` False: now idle). Video
        restarts at a keyframe."""
        self._leave_fan_out()
        self._rebaser.switch()
        if fed:
            self.wait_for_keyframe()

    def switched_at_keyframe(self) -> None:
        """The graph moved this slot to another layer at that layer's keyframe, which it
        delivers next: no keyframe to wait for, and the picture never stopped."""
        self._leave_fan_out()
        self._rebaser.switch()

    def wait_for_keyframe(self) -> None:
        if self.kind == "video":
            self._leave_fan_out()
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
        self._leave_fan_out()
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
        timestamp = self._rebaser.rebase(frame.timestamp)
        payloads = frame.payloads
        if not link.send_frame(writer, payloads, timestamp, abs_send_time(ntp), frame.audio_level):
            # The subscriber's socket is backed up (or closing): drop rather than queue stale
            # media, and restart video at a keyframe.
            self._stats.frames_dropped += 1
            self.wait_for_keyframe()
            return
        writer.last_ntp = ntp
        self._stats.frames_out += 1
        self._counts.packets_out += len(payloads)
        self._counts.bytes_out += frame.size
        self._stats.record_delay(self._clock() - frame.arrival)
        if link.direct and isinstance(writer, CompiledRtpWriter) and not self.steady:
            offset = self._rebaser.offset
            if offset is not None:
                writer.ts_offset = offset
                self.steady = True
                self._listener.on_steadiness(self)

    @property
    def fan_out_writer(self) -> CompiledRtpWriter | None:
        """The writer the compiled fan-out sends this slot's frames with, while steady."""
        writer = self._writer
        return writer if self.steady and isinstance(writer, CompiledRtpWriter) else None

    def fan_out_failed(self) -> None:
        """The compiled fan-out could not send all of a frame: the socket is backed up."""
        self._stats.frames_dropped += 1
        self._leave_fan_out()
        self.wait_for_keyframe()

    def _leave_fan_out(self) -> None:
        writer = self._writer
        if self.steady and isinstance(writer, CompiledRtpWriter):
            self.steady = False
            self._rebaser.resume((writer.timestamp - writer.ts_origin) % TS_MOD)
            self._listener.on_steadiness(self)

    # what the sender's RTCP reports and statistics read (sender_reports.SentCounts)

    @property
    def packets_sent(self) -> int:
        return 0 if self._writer is None else self._writer.packets_sent

    @property
    def octets_sent(self) -> int:
        return 0 if self._writer is None else self._writer.octets_sent

    @property
    def last_ntp(self) -> int:
        return 0 if self._writer is None else self._writer.last_ntp

    @property
    def last_rtp_timestamp(self) -> int:
        return 0 if self._writer is None else self._writer.timestamp

    def send_padding(self, count: int, size: int) -> int:
        """Send `count` padding-only packets of about `size` bytes (a probe of the link); how
        many went (none without RTX or transport-wide numbers, or while not connected)."""
        writer, link = self._writer, self._link
        if not self.active or writer is None or link is None or not link.writable():
            return 0
        packets = [packet for _ in range(count) if (packet := writer.padding(size)) is not None]
        link.send(packets)
        return len(packets)

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
