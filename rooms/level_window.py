"""The RFC 6464 levels heard over the last few seconds, counted by level, with chosen
percentiles kept up to date as levels come and go.

A person's noise floor and the top of their noise (rooms/voice_activity.py) are percentiles of
their recent non-voice levels, wanted after every such packet. Scanning the counts for them each
time cost more than all the rest of a packet's work; a level in and a few out move a percentile
by a level or two at most, so each is kept with its running count and moved from where it was.
"""

from __future__ import annotations

from collections import deque

LEVELS = 128  # RFC 6464: level 0 (0 dBov, loudest) .. 127 (-127 dBov, silence)


class _Mark:
    """Where one percentile stands: a level, and how many levels heard are it or quieter."""

    def __init__(self, percent: int) -> None:
        self.percent = percent
        self.level = LEVELS - 1
        self.at_or_quieter = 0


class LevelWindow:
    """Levels (0 loudest .. 127 silence) heard in the last `span_s` seconds."""

    def __init__(self, span_s: float, percents: tuple[int, ...]) -> None:
        if not all(0 <= p <= 100 for p in percents):
            raise ValueError(f"percentiles are 0..100: {percents}")
        self.span_s = span_s
        self._heard: deque[tuple[float, int]] = deque()  # (at, level)
        self._counts = [0] * LEVELS
        self._marks = [_Mark(p) for p in percents]

    def __len__(self) -> int:
        return len(self._heard)

    def add(self, level: int, at: float) -> None:
        """One level heard at `at`; those heard before `at - span_s` are forgotten."""
        heard = self._heard
        heard.append((at, level))
        self._count(level, 1)
        horizon = at - self.span_s
        while heard[0][0] < horizon:
            self._count(heard.popleft()[1], -1)

    def _count(self, level: int, change: int) -> None:
        self._counts[level] += change
        for mark in self._marks:
            if level >= mark.level:
                mark.at_or_quieter += change

    def percentile(self, index: int) -> int:
        """The level of the `index`th percentile given, counted from the quietest: the
        quietest level that, with the levels quieter than it, makes up that percent of all
        the levels heard (127 while none are)."""
        mark, counts = self._marks[index], self._counts
        wanted = len(self._heard) * mark.percent / 100
        level, count = mark.level, mark.at_or_quieter
        while count < wanted:  # ends by level 0, where the count is every level heard
            level -= 1
            count += counts[level]
        while level < LEVELS - 1 and count - counts[level] >= wanted:
            count -= counts[level]
            level += 1
        mark.level, mark.at_or_quieter = level, count
        return level
