"""Counters of the forwarding path, read by benchmarks, /api/stats and /metrics.

The hot path only adds to plain integers here; /metrics turns them into Prometheus series
when it is scraped (server/metrics.py), so a scrape costs the packets nothing."""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from dataclasses import dataclass, field
from itertools import repeat

KINDS = ("audio", "video")
# upper bounds of the forwarding delay histogram, in seconds (the last bucket is +Inf)
DELAY_BOUNDS_S = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


@dataclass(slots=True)
class KindCounts:
    """One kind's packets and payload bytes, received from publishers and sent to
    subscribers (a packet sent to N subscribers counts N times)."""

    packets_in: int = 0
    bytes_in: int = 0
    packets_out: int = 0
    bytes_out: int = 0


@dataclass(slots=True)
class DelayHistogram:
    """Arrival-to-send delays of every frame sent since start, in cumulative-ready buckets
    (`counts[i]`: delays in (DELAY_BOUNDS_S[i-1], DELAY_BOUNDS_S[i]]; the last: above all)."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(DELAY_BOUNDS_S) + 1))
    sum_s: float = 0.0

    def observe(self, delay_s: float, times: int = 1) -> None:
        self.counts[bisect_left(DELAY_BOUNDS_S, delay_s)] += times
        self.sum_s += delay_s * times


@dataclass
class ForwardingStats:
    frames_in: int = 0
    frames_out: int = 0
    frames_dropped: int = 0
    keyframe_requests: int = 0
    by_kind: dict[str, KindCounts] = field(default_factory=lambda: {k: KindCounts() for k in KINDS})
    delay_histogram: DelayHistogram = field(default_factory=DelayHistogram)
    # arrival-to-send delay of the most recent frames sent, in seconds (percentiles on demand)
    delays_s: deque[float] = field(default_factory=lambda: deque(maxlen=20_000))

    @property
    def packets_in(self) -> int:
        return sum(counts.packets_in for counts in self.by_kind.values())

    @property
    def packets_out(self) -> int:
        return sum(counts.packets_out for counts in self.by_kind.values())

    def record_delay(self, delay_s: float) -> None:
        self.delays_s.append(delay_s)
        self.delay_histogram.observe(delay_s)

    def fanned_out(
        self, kind: str, subscribers: int, packets: int, octets: int, delay_s: float
    ) -> None:
        """One frame of `packets` and `octets` sent to `subscribers` in one fan-out, the last
        of them `delay_s` after it arrived (counted as that delay for each)."""
        self.frames_out += subscribers
        counts = self.by_kind[kind]
        counts.packets_out += packets * subscribers
        counts.bytes_out += octets * subscribers
        self.delays_s.extend(repeat(delay_s, subscribers))
        self.delay_histogram.observe(delay_s, subscribers)

    def delay_percentile_ms(self, pct: float) -> float | None:
        if not self.delays_s:
            return None
        ordered = sorted(self.delays_s)
        index = min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))
        return ordered[index] * 1000

    def reset_delays(self) -> None:
        """Forget the recent delays (a benchmark's new phase); the histogram keeps counting."""
        self.delays_s.clear()
