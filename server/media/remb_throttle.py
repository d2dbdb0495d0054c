"""How often a receiver sends its bandwidth estimate (RTCP REMB) to a publisher.

aiortc's REMB estimator gives an estimate for every packet while its detector sees overuse,
and aiortc sends each one. As libwebrtc's receivers do, one goes out at most every
`interval_ms`, sooner only when the estimate fell by more than `drop` since the last one sent:
a publisher still hears of a fall at once, and neither side pays an RTCP packet per packet.
"""

from __future__ import annotations

REMB_INTERVAL_MS = 200
REMB_DROP = 0.03


class RembThrottle:
    def __init__(self, interval_ms: int = REMB_INTERVAL_MS, drop: float = REMB_DROP) -> None:
        self._interval_ms = interval_ms
        self._drop = drop
        self._sent_at_ms: int | None = None
        self._sent_bitrate = 0

    def should_send(self, bitrate: int, now_ms: int) -> bool:
        """Whether to send `bitrate` now; if so, it counts as sent."""
        due = (
            self._sent_at_ms is None
            or now_ms - self._sent_at_ms >= self._interval_ms
            or bitrate < self._sent_bitrate * (1 - self._drop)
        )
        if due:
            self._sent_at_ms = now_ms
            self._sent_bitrate = bitrate
        return due
