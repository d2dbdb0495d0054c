"""When each audio packet's sound began, from its RTP timestamp rather than its arrival.

A publisher stamps every packet with its media clock (48 kHz for Opus). Mapped once onto the
server's clock, that timestamp says when the packet's audio was captured, whatever happened to
the packet since: network jitter, or a server stall after which queued packets arrive in a
burst. The engagement engine times speech by it, so a stall neither splits a turn nor delays
its onset. Pure and allocation-free per packet: fed (ssrc, timestamp, arrival), returns a time.
"""

from __future__ import annotations

WRAP = 1 << 32  # RTP timestamps are 32-bit and wrap around
HALF_WRAP = 1 << 31


class RtpClock:
    """Maps one track's RTP timestamps to the arrival clock (seconds).

    The mapping is anchored on the least late packet seen: a packet that arrives earlier than
    the mapping predicts moves it earlier at once (the anchor packet was itself delayed), and
    once per `drift_window_s` the mapping moves later by the lateness of that window's least
    late packet (the sender's clock drifting slow, or the path's delay growing). It starts
    afresh on a new SSRC and when a timestamp is inconsistent with its arrival by more than
    `jump_s` (the sender restarted its clock, or the server was stalled that long)."""

    __slots__ = (
        "_last_ts",
        "_origin",
        "_ssrc",
        "_ticks",
        "_window_from",
        "_window_min",
        "drift_window_s",
        "jump_s",
        "rate",
        "resets",
    )

    def __init__(self, rate: int = 48_000, jump_s: float = 5.0, drift_window_s: float = 10.0):
        self.rate = rate
        self.jump_s = jump_s
        self.drift_window_s = drift_window_s
        self._ssrc: int | None = None
        self._last_ts = 0  # the last timestamp seen (32-bit)
        self._ticks = 0  # the last timestamp unwrapped, in ticks since the anchor's timestamp
        self._origin = 0.0  # where tick 0 lies on the arrival clock
        self._window_from = 0.0
        self._window_min = jump_s  # the least lateness seen in the current drift window
        self.resets = 0  # how often the mapping started afresh (for tests and stats)

    def at(self, ssrc: int, timestamp: int, arrival: float) -> float:
        """When the audio of this packet began, on the arrival clock."""
        if ssrc != self._ssrc:
            return self._reset(ssrc, timestamp, arrival)
        step = (timestamp - self._last_ts) % WRAP
        if step >= HALF_WRAP:
            step -= WRAP  # an older packet (reordered)
        self._last_ts = timestamp
        self._ticks += step
        media = self._origin + self._ticks / self.rate
        late = arrival - media
        if late < 0.0:
            if late < -self.jump_s:
                return self._reset(ssrc, timestamp, arrival)
            self._origin += late  # this packet is less late than the anchor was
            self._window_min = 0.0
            return arrival
        if late > self.jump_s:
            return self._reset(ssrc, timestamp, arrival)
        if late < self._window_min:
            self._window_min = late
        if arrival - self._window_from >= self.drift_window_s:
            # every packet of the window was at least this late: move the mapping that much
            self._origin += self._window_min
            media += self._window_min
            self._window_from = arrival
            self._window_min = late - self._window_min
        return media

    def _reset(self, ssrc: int, timestamp: int, arrival: float) -> float:
        self._ssrc = ssrc
        self._last_ts = timestamp
        self._ticks = 0
        self._origin = arrival
        self._window_from = arrival
        self._window_min = 0.0  # this packet: on time, by definition
        self.resets += 1
        return arrival
