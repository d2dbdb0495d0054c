"""What a node measures of itself for placement: the packets it forwards per second and the CPU
its process uses (in cores: CPU seconds per wall second), both over a recent window, so a
burst (a dozen people joining at once) or a pause does not swing the choice."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    at_s: float  # monotonic clock
    cpu_s: float  # the process's CPU time so far, every thread
    packets: int  # forwarded so far


@dataclass(frozen=True)
class Load:
    packets_per_s: float
    cpu_cores: float  # 1.0: one core busy all the time


class LoadMeter:
    """Rates between the newest sample and the newest one at least `window_s` older (the
    oldest kept, until the window has filled); nothing measured yet from the first alone."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._samples: deque[Sample] = deque()

    def add(self, sample: Sample) -> Load:
        samples = self._samples
        samples.append(sample)
        while len(samples) > 2 and sample.at_s - samples[1].at_s >= self.window_s:
            samples.popleft()
        base = samples[0]
        elapsed_s = sample.at_s - base.at_s
        if elapsed_s <= 0:  # the first sample (or a clock that did not move)
            return Load(0.0, 0.0)
        return Load(
            (sample.packets - base.packets) / elapsed_s, (sample.cpu_s - base.cpu_s) / elapsed_s
        )
