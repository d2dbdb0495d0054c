"""Probing a subscriber's link: for a moment, padding on top of its media, so that its
transport-cc feedback shows whether the link carries more than is being sent (a sender held
back by its own allocation otherwise never learns that the link freed up). As GoogCC's probes:
the padding goes out paced, every `tick_s` for `duration_s`, numbered on the transport like
everything else; the subscriber's FeedbackReader measures what arrived of the whole cluster
and the estimate rises to it (BandwidthEstimator.on_probe).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from server.media.downlink_feedback import FeedbackReader


@dataclass(frozen=True)
class ProbeConfig:
    duration_s: float = 0.5
    tick_s: float = 0.01
    packet_bytes: int = 275  # the most a padding-only packet carries (255 bytes of padding)


class LinkProbe:
    """One subscriber's probes; `send(count, size)` sends padding packets on one of its video
    slots and says how many went."""

    def __init__(
        self,
        reader: FeedbackReader,
        send: Callable[[int, int], int],
        config: ProbeConfig | None = None,
    ) -> None:
        self._reader = reader
        self._send = send
        self._config = config or ProbeConfig()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def running(self) -> bool:
        return self._timer is not None

    def start(self, extra_bps: int) -> None:
        """Send `extra_bps` of padding for the probe's duration (unless one is running)."""
        if self._timer is not None or extra_bps <= 0:
            return
        config = self._config
        ticks = max(1, round(config.duration_s / config.tick_s))
        per_tick = max(1, round(extra_bps * config.tick_s / 8 / config.packet_bytes))
        self._reader.probe_started()
        self._tick(asyncio.get_running_loop(), ticks, per_tick)

    def _tick(self, loop: asyncio.AbstractEventLoop, left: int, per_tick: int) -> None:
        if left == 0 or self._send(per_tick, self._config.packet_bytes) == 0:
            self._timer = None
            self._reader.probe_ended()
            return
        self._timer = loop.call_later(self._config.tick_s, self._tick, loop, left - 1, per_tick)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
