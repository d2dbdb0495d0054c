"""End-to-end forwarding delay seen by the bots, measured the same way whatever the server is.

All bots of a run live in one process, so a video payload can be timed from the moment the
publishing bot packs it to the moment a subscribing bot has it (after SRTP): through Circle or
Janus alike, whatever SSRCs, sequence numbers and timestamps the server rewrites. Payloads are
matched on their first bytes, which hold the VP8 payload descriptor's picture id (random per
bot, one per frame) and the start of that packet's compressed data. Audio is not timed: its
short DTX payloads repeat.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from aiortc.rtp import RtpPacket

from server.bot.media import EncodedItem, Vp8Packer
from server.bot.stats import ReceiveCounter

KEY_BYTES = 24


class DelayProbe:
    """Packing times of every video payload sent, and the delays of those received while
    `measuring`."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.measuring = False
        self.delays_s: list[float] = []
        self._packed_at: dict[bytes, float] = {}

    def packed(self, payloads: list[bytes]) -> None:
        now = self.clock()
        for payload in payloads:
            self._packed_at[payload[:KEY_BYTES]] = now

    def received(self, payload: bytes) -> None:
        if self.measuring:
            packed_at = self._packed_at.get(payload[:KEY_BYTES])
            if packed_at is not None:
                self.delays_s.append(self.clock() - packed_at)

    def percentile_ms(self, pct: int) -> float | None:
        """The `pct` percentile of the measured delays, in ms (None when nothing was timed)."""
        if len(self.delays_s) < 2:
            return None
        return 1000 * statistics.quantiles(self.delays_s, n=100, method="inclusive")[pct - 1]


class StampingVp8Packer(Vp8Packer):
    """A bot's VP8 packer that tells the probe when it packed each payload."""

    def __init__(self, probe: DelayProbe) -> None:
        super().__init__()
        self.probe = probe

    def pack(self, item: EncodedItem) -> tuple[list[bytes], int]:
        payloads, timestamp = super().pack(item)
        self.probe.packed(payloads)
        return payloads, timestamp


class ProbedReceiveCounter(ReceiveCounter):
    """A bot's receive counter that also shows the probe every video packet received."""

    def __init__(self, probe: DelayProbe) -> None:
        super().__init__()
        self.probe = probe

    def sink(self, mid: str) -> Callable[[RtpPacket], None]:
        count = super().sink(mid)
        if self._mid_kind.get(mid) != "video":
            return count
        received = self.probe.received

        def sink(packet: RtpPacket) -> None:
            count(packet)
            received(packet.payload)

        return sink
