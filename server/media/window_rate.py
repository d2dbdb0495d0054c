"""A rate over a sliding window at a constant cost per sample.

aiortc's REMB estimator counts incoming bytes with `RateCounter`, which keeps one bucket per
millisecond and clears every bucket the clock passed on each call: one loop turn per millisecond
between two packets of a stream, for every packet received. `WindowRate` gives the same
answers from a queue of the samples still in the window (one entry per millisecond that had
any), so a sample costs an append and, later, one removal.
"""

from __future__ import annotations

from collections import deque


class WindowRate:
    """`scale` x (the values added in the last `window_ms`) / (the window's length in ms);
    the window is shorter while it holds less than `window_ms` since the first value. With the
    default scale, bytes in and bits per second out. Drop-in for aiortc's RateCounter."""

    def __init__(self, window_ms: int, scale: int = 8000) -> None:
        self._window_ms = window_ms
        self._scale = scale
        self._samples: deque[list[int]] = deque()  # [ms, total of that ms], oldest first
        self._total = 0
        self._first_ms: int | None = None

    def add(self, value: int, now_ms: int) -> None:
        if self._first_ms is None:
            self._first_ms = now_ms
        else:
            self._forget_before(now_ms)
        samples = self._samples
        if samples and samples[-1][0] == now_ms:
            samples[-1][1] += value
        else:
            samples.append([now_ms, value])
        self._total += value

    def rate(self, now_ms: int) -> int | None:
        """None until there are values in the window and it is longer than a millisecond."""
        if self._first_ms is None:
            return None
        self._forget_before(now_ms)
        window = now_ms - max(self._first_ms, now_ms - self._window_ms + 1) + 1
        if not self._samples or window <= 1:
            return None
        return round(self._scale * self._total / window)

    def reset(self) -> None:
        self._samples.clear()
        self._total = 0
        self._first_ms = None

    def _forget_before(self, now_ms: int) -> None:
        oldest = now_ms - self._window_ms + 1
        samples = self._samples
        while samples and samples[0][0] < oldest:
            self._total -= samples.popleft()[1]
