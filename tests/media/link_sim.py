"""A closed-loop bottleneck link for the bandwidth estimator's tests: a sender paced at the
estimate, a drop-tail queue (as a home router's) at a capacity that may change over time,
propagation delay, random loss, and transport-wide feedback every `feedback_every_ms`.

Arrival times carry the receiver's own clock base (an offset the sender never learns), as
transport-cc feedback does. Pure: time is simulated, nothing sleeps.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from server.media.bandwidth_estimator import BandwidthEstimator, PacketResult

PACKET_BYTES = 1200
RECEIVER_CLOCK_OFFSET_MS = 987_654.0


@dataclass
class Link:
    capacity_bps: Callable[[float], float]  # at a time in ms
    one_way_ms: float = 20.0
    queue_ms: float = 200.0  # drop-tail: a packet that would wait longer is dropped
    loss: Callable[[float], float] = lambda t_ms: 0.0  # random loss at a time in ms
    demand_bps: float = 4_000_000  # the most the sender has to send
    seed: int = 7


@dataclass
class Trace:
    estimates: list[tuple[float, int]] = field(default_factory=list)  # (ms, estimate) per feedback
    sent: list[float] = field(default_factory=list)  # when each packet was sent
    queue_drops: list[float] = field(default_factory=list)  # when each dropped packet was sent

    def estimate_at(self, t_ms: float) -> int:
        return [e for t, e in self.estimates if t <= t_ms][-1]

    def between(self, start_ms: float, end_ms: float) -> list[int]:
        return [e for t, e in self.estimates if start_ms <= t < end_ms]

    def drop_share(self, start_ms: float, end_ms: float) -> float:
        sent = sum(1 for t in self.sent if start_ms <= t < end_ms)
        dropped = sum(1 for t in self.queue_drops if start_ms <= t < end_ms)
        return dropped / max(sent, 1)


def run(
    link: Link, seconds: float, estimator: BandwidthEstimator, feedback_every_ms: float = 100.0
) -> Trace:
    rng = random.Random(link.seed)
    trace = Trace()
    # (seq, sent ms, arrival ms in the sender's clock or None) not yet reported
    in_flight: list[tuple[int, float, float | None]] = []
    queue_free_at = 0.0
    next_send = 0.0
    next_feedback = feedback_every_ms
    pending_feedback: list[tuple[float, list[PacketResult]]] = []  # (delivered at, results)
    seq = 0
    end = seconds * 1000.0
    now = 0.0
    while now < end:
        now = min(next_send, next_feedback, *(t for t, _ in pending_feedback[:1]))
        if pending_feedback and pending_feedback[0][0] <= now:
            _, results = pending_feedback.pop(0)
            estimator.on_feedback(results, now)
            trace.estimates.append((now, estimator.estimate_bps))
            continue
        if now >= next_feedback:
            # the receiver reports what has arrived by now, and what is missing before it
            reported = [p for p in in_flight if p[2] is not None and p[2] <= now]
            if reported:
                last = max(p[0] for p in reported)
                batch = [p for p in in_flight if p[0] <= last]
                in_flight = [p for p in in_flight if p[0] > last]
                results = [
                    PacketResult(
                        s,
                        sent,
                        PACKET_BYTES,
                        None if arrival is None else arrival + RECEIVER_CLOCK_OFFSET_MS,
                    )
                    for s, sent, arrival in batch
                ]
                pending_feedback.append((now + link.one_way_ms, results))
            next_feedback += feedback_every_ms
            continue
        # send one packet at the estimate (at most the demand)
        rate = min(float(estimator.estimate_bps), link.demand_bps)
        next_send = now + PACKET_BYTES * 8 * 1000.0 / rate
        trace.sent.append(now)
        capacity = link.capacity_bps(now)
        start = max(now, queue_free_at)
        arrival: float | None
        if start - now > link.queue_ms:
            trace.queue_drops.append(now)
            arrival = None
        else:
            queue_free_at = start + PACKET_BYTES * 8 * 1000.0 / capacity
            arrival = queue_free_at + link.one_way_ms
            if rng.random() < link.loss(now):
                arrival = None
        in_flight.append((seq, now, arrival))
        seq = (seq + 1) & 0xFFFF
    return trace
