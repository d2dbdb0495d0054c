"""A subscriber's transport-wide congestion control feedback (RTCP PT 205 FMT 15,
draft-holmer-rmcat-transport-wide-cc-extensions-01), read into the bandwidth estimator.

Every packet to a subscriber carries the next transport-wide sequence number of its connection
(rtp_writer.TransportSequence, or the compiled one, which keep each packet's send time and
size). The browser reports, about every 50-100 ms, which of them arrived and when (its own
clock, 250 us steps): `parse_rtcp` reads those reports from a compound RTCP packet and
`FeedbackReader` matches them to what was sent and feeds `BandwidthEstimator`.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from server.media.bandwidth_estimator import BandwidthEstimator, PacketResult
from server.media.rtp_writer import PacketNumbering

RTCP_RTPFB = 205
FMT_TRANSPORT_CC = 15
_HEADER = struct.Struct("!BBH")
_FIXED = struct.Struct("!IIHH")  # sender SSRC, media SSRC, base sequence, status count
_LARGE_DELTA = struct.Struct("!h")
_DELTA_US = 250
MIN_PROBE_PACKETS = 5  # fewer arrived: the probe says nothing
_REFERENCE_US = 64_000
# status symbols
_NOT_RECEIVED, _SMALL_DELTA, _LARGE_DELTA_SYMBOL = 0, 1, 2


@dataclass(frozen=True, slots=True)
class TransportFeedback:
    sender_ssrc: int
    media_ssrc: int
    base_sequence: int
    feedback_count: int
    # (transport-wide sequence number, arrival in microseconds of the receiver's clock or None)
    arrivals: tuple[tuple[int, int | None], ...]


def parse_rtcp(data: bytes) -> list[TransportFeedback]:
    """The transport-cc feedback in a (compound) RTCP packet; other packets are skipped, and a
    damaged one ends the reading (what was read before it is kept)."""
    found: list[TransportFeedback] = []
    pos = 0
    while pos + 4 <= len(data):
        first, packet_type, words = _HEADER.unpack_from(data, pos)
        end = pos + 4 + 4 * words
        if first >> 6 != 2 or end > len(data):
            break
        if packet_type == RTCP_RTPFB and first & 0x1F == FMT_TRANSPORT_CC:
            body_end = end - data[end - 1] if first & 0x20 else end
            feedback = _feedback(data, pos + 4, body_end)
            if feedback is None:
                break
            found.append(feedback)
        pos = end
    return found


def _feedback(data: bytes, pos: int, end: int) -> TransportFeedback | None:
    if end - pos < 16:
        return None
    sender, media, base, count = _FIXED.unpack_from(data, pos)
    reference = int.from_bytes(data[pos + 12 : pos + 15], "big", signed=True)
    feedback_count = data[pos + 15]
    pos += 16
    statuses: list[int] = []
    while len(statuses) < count:
        if pos + 2 > end:
            return None
        chunk = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if not chunk & 0x8000:  # run length: one status repeated
            statuses += [(chunk >> 13) & 0x3] * (chunk & 0x1FFF)
        elif not chunk & 0x4000:  # 14 one-bit symbols
            statuses += [(chunk >> (13 - k)) & 0x1 for k in range(14)]
        else:  # 7 two-bit symbols
            statuses += [(chunk >> (12 - 2 * k)) & 0x3 for k in range(7)]
    arrival = reference * _REFERENCE_US
    arrivals: list[tuple[int, int | None]] = []
    for k, status in enumerate(statuses[:count]):
        seq = (base + k) & 0xFFFF
        if status == _NOT_RECEIVED:
            arrivals.append((seq, None))
            continue
        if status == _SMALL_DELTA:
            if pos + 1 > end:
                return None
            ticks = data[pos]
            pos += 1
        elif status == _LARGE_DELTA_SYMBOL:
            if pos + 2 > end:
                return None
            ticks = _LARGE_DELTA.unpack_from(data, pos)[0]
            pos += 2
        else:
            return None  # reserved
        arrival += ticks * _DELTA_US
        arrivals.append((seq, arrival))
    return TransportFeedback(sender, media, base, feedback_count, tuple(arrivals))


class FeedbackReader:
    """One subscriber connection's feedback: matched to the packets `numbering` sent, into
    `estimator`; each new estimate goes to `on_estimate`. `clock` is ours, in seconds."""

    def __init__(
        self,
        numbering: PacketNumbering,
        estimator: BandwidthEstimator,
        on_estimate: Callable[[int], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.numbering = numbering
        self.estimator = estimator
        self._on_estimate = on_estimate
        self._clock = clock
        self.reports = 0  # feedback packets read
        self._probe: _ProbeCluster | None = None

    def probe_started(self) -> None:
        """A probe starts: what is sent from now until `probe_ended` is measured together."""
        self._probe = _ProbeCluster(self.numbering.next)

    def probe_ended(self) -> None:
        if self._probe is not None:
            self._probe.last = (self.numbering.next - 1) & 0xFFFF

    def on_rtcp(self, data: bytes) -> None:
        """A decrypted (compound) RTCP packet from the subscriber."""
        if not _has_feedback(data):
            return  # receiver reports, NACKs, PLIs: nothing to read here
        for feedback in parse_rtcp(data):
            self.reports += 1
            results = []
            probe = self._probe
            for seq, arrival_us in feedback.arrivals:
                sent = self.numbering.sent(seq)
                if sent is not None:
                    arrived = None if arrival_us is None else arrival_us / 1000.0
                    result = PacketResult(seq, sent[0], sent[1], arrived)
                    results.append(result)
                    if probe is not None:
                        probe.add(result, self.numbering.next)
            if results:
                self._on_estimate(self.estimator.on_feedback(results, self._clock() * 1000.0))
            if probe is not None and probe.complete:
                self._probe = None
                delivered = probe.delivered_bps()
                if delivered is not None:
                    self._on_estimate(self.estimator.on_probe(delivered))


@dataclass
class _ProbeCluster:
    """The packets sent during a probe (transport-wide numbers `first` to `last`), as the
    feedback reports them."""

    first: int
    last: int | None = None  # known when the probe ended
    results: dict[int, PacketResult] = field(default_factory=dict)

    def add(self, result: PacketResult, next_seq: int) -> None:
        end = self.last if self.last is not None else (next_seq - 1) & 0xFFFF
        if (result.sequence - self.first) & 0xFFFF <= (end - self.first) & 0xFFFF:
            self.results[result.sequence] = result

    @property
    def complete(self) -> bool:
        return self.last is not None and self.last in self.results

    def delivered_bps(self) -> float | None:
        """What got through: the bytes that arrived over the longer of the spans they were
        sent and received in (the slower of the two rates); None when too few arrived."""
        arrived = [r for r in self.results.values() if r.arrived_ms is not None]
        if len(arrived) < MIN_PROBE_PACKETS:
            return None
        first = min(arrived, key=lambda r: r.arrived_ms or 0.0)
        sent_span = max(r.sent_ms for r in arrived) - min(r.sent_ms for r in arrived)
        times = [r.arrived_ms for r in arrived if r.arrived_ms is not None]
        span_ms = max(sent_span, max(times) - min(times), 1.0)
        return (sum(r.size_bytes for r in arrived) - first.size_bytes) * 8 * 1000.0 / span_ms


def _has_feedback(data: bytes) -> bool:
    """Whether any packet of the compound is transport-cc feedback (a cheap look at headers)."""
    pos = 0
    while pos + 4 <= len(data):
        if data[pos + 1] == RTCP_RTPFB and data[pos] & 0x1F == FMT_TRANSPORT_CC:
            return True
        pos += 4 + 4 * int.from_bytes(data[pos + 2 : pos + 4], "big")
    return False
