"""What a bot receives, counted without decoding: packets per kind and per source participant
(by the server's slot assignments), loss per RTP stream from sequence numbers, and optionally
when the first packet and the first VP8 keyframe came from each participant; and the per-bot
stats and run report built from those counts."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiortc.rtp import RtpPacket

from server.bot.encoded import Kind
from server.media.forwarding import vp8_frame_start

KINDS: tuple[Kind, Kind] = ("audio", "video")


class SequenceTracker:
    """Loss estimate for one RTP stream from its sequence numbers (RFC 3550 A.3 style)."""

    def __init__(self) -> None:
        self.received = 0
        self._first: int | None = None
        self._max = 0

    def add(self, seq: int) -> None:
        self.received += 1
        if self._first is None:
            self._first = self._max = seq
            return
        delta = ((seq - (self._max & 0xFFFF) + 0x8000) & 0xFFFF) - 0x8000
        extended = self._max + delta
        if extended > self._max:
            self._max = extended
        elif extended < self._first:
            self._first = extended

    @property
    def expected(self) -> int:
        return 0 if self._first is None else self._max - self._first + 1

    @property
    def lost(self) -> int:
        return max(0, self.expected - self.received)


# What became of a bot: it joined (and its peer connections connected), the server refused it
# (`detail` is the server's code and reason), its peer connections never connected, or
# something else went wrong (a timeout, not admitted from the waiting room, a dropped socket).
JOINED, REFUSED, ICE_FAILED, ERROR = "joined", "refused", "ice_failed", "error"
OUTCOME_LABELS = {JOINED: "joined", REFUSED: "refused", ICE_FAILED: "ICE failed", ERROR: "error"}


@dataclass
class BotStats:
    name: str
    participant_id: str | None
    received: dict[str, int]  # kind -> packets
    lost: dict[str, int]  # kind -> estimated packets lost
    sent: dict[str, int]  # kind -> RTP packets handed to aiortc
    sources: dict[str, dict[str, int]]  # kind -> participant id -> packets
    outcome: str = JOINED
    detail: str = ""  # why it did not join: the server's "code: reason", the ICE states

    def loss_fraction(self, kind: str) -> float:
        expected = self.received.get(kind, 0) + self.lost.get(kind, 0)
        return self.lost.get(kind, 0) / expected if expected else 0.0

    @property
    def media_problem(self) -> str:
        """For a joined bot: "sent no media" or "received no media" (else empty)."""
        if self.outcome != JOINED:
            return ""
        if sum(self.sent.values()) == 0:
            return "sent no media"
        if sum(self.received.values()) == 0:
            return "received no media"
        return ""

    @property
    def failed(self) -> bool:
        return self.outcome != JOINED or bool(self.media_problem)


@dataclass
class BotReport:
    bots: list[BotStats] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """`circle bot`'s: 0 when every bot joined and sent and received media, else 1."""
        return 1 if not self.bots or any(b.failed for b in self.bots) else 0

    def table(self) -> str:
        rows = [
            f"{'bot':<14} {'participant':<12} {'outcome':<10} {'sent a/v':>15} "
            f"{'recv audio':>10} {'recv video':>10} {'loss a':>7} {'loss v':>7}  note"
        ]
        for b in self.bots:
            rows.append(
                f"{b.name[:14]:<14} {(b.participant_id or '-')[:12]:<12} "
                f"{OUTCOME_LABELS.get(b.outcome, b.outcome):<10} "
                f"{b.sent.get('audio', 0):>7}/{b.sent.get('video', 0):<7} "
                f"{b.received.get('audio', 0):>10} {b.received.get('video', 0):>10} "
                f"{100 * b.loss_fraction('audio'):>6.2f}% {100 * b.loss_fraction('video'):>6.2f}%"
                f"  {b.detail or b.media_problem}".rstrip()
            )
        counts = {o: sum(1 for b in self.bots if b.outcome == o) for o in OUTCOME_LABELS}
        no_media = sum(1 for b in self.bots if b.media_problem)
        rows.append(
            f"({self.seconds:.1f} s) {len(self.bots)} bot{'' if len(self.bots) == 1 else 's'}: "
            f"{counts[JOINED]} joined, "
            f"{counts[REFUSED]} refused, {counts[ICE_FAILED]} ICE failed, {counts[ERROR]} errors;"
            f" {no_media} joined without media"
        )
        return "\n".join(rows)


class ReceiveCounter:
    """A subscriber's received packets, by (kind, participant owning the slot's mid when the
    packet came) and by RTP stream (mid, ssrc) for loss."""

    def __init__(self) -> None:
        self._slot_owner: dict[str, str | None] = {}  # mid -> participant id
        self._mid_kind: dict[str, str] = {}
        self._counts: dict[tuple[str, str | None], int] = {}
        self._sequences: dict[tuple[str, int], SequenceTracker] = {}

    def apply_slots(self, slots: Sequence[dict[str, Any]]) -> None:
        """Take the server's slot list: who is forwarded on each mid now, and its kind."""
        self._slot_owner = {s["mid"]: s.get("participant_id") for s in slots}
        self._mid_kind.update({s["mid"]: s["kind"] for s in slots})

    def add_mid(self, mid: str, kind: str) -> None:
        """A negotiated mid whose kind the slots may not have said yet."""
        self._mid_kind.setdefault(mid, kind)

    def sink(self, mid: str) -> Callable[[RtpPacket], None]:
        kind = self._mid_kind.get(mid, "?")
        counts = self._counts
        sequences = self._sequences

        def sink(packet: RtpPacket) -> None:
            key = (kind, self._slot_owner.get(mid))
            counts[key] = counts.get(key, 0) + 1
            tracker = sequences.get((mid, packet.ssrc))
            if tracker is None:
                tracker = sequences[(mid, packet.ssrc)] = SequenceTracker()
            tracker.add(packet.sequence_number)

        return sink

    def received(self, kind: str, participant_id: str | None = None) -> int:
        """Packets of `kind` received from `participant_id` (all sources when None)."""
        return sum(
            n
            for (k, pid), n in self._counts.items()
            if k == kind and (participant_id is None or pid == participant_id)
        )

    def lost(self, kind: str) -> int:
        return sum(
            t.lost for (mid, _), t in self._sequences.items() if self._mid_kind.get(mid) == kind
        )

    def sources(self) -> dict[str, dict[str, int]]:
        """kind -> participant id ("-" when the slot had none) -> packets."""
        sources: dict[str, dict[str, int]] = {k: {} for k in KINDS}
        for (kind, pid), n in self._counts.items():
            if kind in sources:
                sources[kind][pid or "-"] = sources[kind].get(pid or "-", 0) + n
        return sources


class FirstArrivals(ReceiveCounter):
    """A receive counter that also notes (on `clock`) when the first packet of each kind and
    the first VP8 keyframe (the first picture a decoder can show) came from each participant,
    say to time a join. Not the stock counter: load bots skip the per-packet parsing."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._clock = clock
        self.first_packet: dict[tuple[str, str], float] = {}  # (kind, participant id) -> time
        self.first_keyframe: dict[str, float] = {}  # participant id -> time

    def sink(self, mid: str) -> Callable[[RtpPacket], None]:
        count = super().sink(mid)
        kind = self._mid_kind.get(mid, "?")

        def sink(packet: RtpPacket) -> None:
            count(packet)
            owner = self._slot_owner.get(mid)
            if owner is None:
                return
            if (kind, owner) not in self.first_packet:
                self.first_packet[(kind, owner)] = self._clock()
            if (
                kind == "video"
                and owner not in self.first_keyframe
                and vp8_frame_start(packet.payload)[1]
            ):
                self.first_keyframe[owner] = self._clock()

        return sink
