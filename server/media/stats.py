"""Counters of the forwarding path, read by benchmarks and the metrics endpoint."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class ForwardingStats:
    packets_in: int = 0
    frames_in: int = 0
    packets_out: int = 0
    frames_out: int = 0
    frames_dropped: int = 0
    keyframe_requests: int = 0
    # arrival-to-send delay of the most recent frames sent, in seconds
    delays_s: deque[float] = field(default_factory=lambda: deque(maxlen=20_000))

    def delay_percentile_ms(self, pct: float) -> float | None:
        if not self.delays_s:
            return None
        ordered = sorted(self.delays_s)
        index = min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))
        return ordered[index] * 1000

    def reset_delays(self) -> None:
        self.delays_s.clear()
