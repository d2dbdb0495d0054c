"""A subscriber's transport-wide congestion control feedback read into its downlink estimate.

Every packet to a subscriber carries the next transport-wide sequence number of its connection
(rtp_writer.TransportSequence, or the compiled one, which keep each packet's send time and
size). The browser reports, about every 50-100 ms, which of them arrived and when (its own
clock, 250 us steps; transport_feedback.py reads the wire format): `FeedbackReader` finds the
reports in each RTCP packet from the subscriber, matches them to what was sent and feeds
`BandwidthEstimator`, and measures probes (probe.py) as clusters.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from server.media.bandwidth_estimator import BandwidthEstimator, PacketResult
from server.media.rtp_writer import PacketNumbering
from server.media.transport_feedback import (
    FMT_TRANSPORT_CC,
    RTCP_RTPFB,
    Feedback,
    parse_feedback,
)

MIN_PROBE_PACKETS = 5  # fewer arrived: the probe says nothing


def feedback_in(data: bytes) -> list[Feedback]:
    """The transport-cc feedback in a (compound) RTCP packet; other packets are skipped, and a
    damaged one ends the reading (what was read before it is kept)."""
    found: list[Feedback] = []
    pos = 0
    while pos + 4 <= len(data):
        end = pos + 4 + 4 * int.from_bytes(data[pos + 2 : pos + 4], "big")
        if data[pos] >> 6 != 2 or end > len(data):
            break
        if data[pos + 1] == RTCP_RTPFB and data[pos] & 0x1F == FMT_TRANSPORT_CC:
            try:
                found.append(parse_feedback(data[pos:end]))
            except ValueError:
                break
        pos = end
    return found


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
        for feedback in feedback_in(data):
            self.reports += 1
            results = []
            probe = self._probe
            base = feedback.base_sequence
            for offset, arrival_us in enumerate(feedback.arrivals):
                seq = (base + offset) & 0xFFFF
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
