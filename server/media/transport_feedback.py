"""Transport-wide congestion control feedback, as a receiver sends it
(draft-holmer-rmcat-transport-wide-cc-extensions-01, section 3.1: RTCP PT 205, FMT 15).

A browser that negotiated the transport-wide sequence number extension numbers every packet it
sends on a transport (all SSRCs, RTX and padding included). The receiver reports, every few tens
of milliseconds, which of those numbers arrived and when; the browser's own estimator (GoogCC:
delay trend and loss) sets its sending rate from these reports. `build_feedback` and
`parse_feedback` are the wire format; `ArrivalLog` collects arrivals on the receive path (one
append per packet) and turns them into feedback packets. Pure: no I/O, the clock passed in.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

URI_TRANSPORT_CC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
RTCP_RTPFB = 205
FMT_TRANSPORT_CC = 15
TICK_US = 250  # a receive delta's unit
REFERENCE_US = 64_000  # the reference time's unit
FEEDBACK_INTERVAL_S = 0.05  # how often a receiver reports (libwebrtc: 50-250 ms by bitrate)

_HEADER = struct.Struct("!BBHIIHHI")  # V P FMT, PT, length, sender, media, base, count, ref|fbc
_SEQUENCE_SPACE = 1 << 16
_REFERENCE_SPACE = 1 << 24
_RUN_MAX = (1 << 13) - 1
_ONE_BIT_SYMBOLS = 14
_TWO_BIT_SYMBOLS = 7
_LOST, _SMALL, _LARGE = 0, 1, 2  # a packet's status symbol
_LARGE_MIN, _LARGE_MAX = -(1 << 15), (1 << 15) - 1
# One feedback packet covers at most this many sequence numbers and this many received packets
# (about 1 kB at worst): more, or a gap too long for a receive delta, starts the next packet.
MAX_STATUSES = 2048
MAX_RECEIVED = 400
# A jump further than this past the last reported number (a restarted sender) is not reported
# as that many losses: reports start again at the jump.
MAX_GAP = 4096


@dataclass(frozen=True, slots=True)
class Feedback:
    """One feedback packet: for each sequence number from `base_sequence` on, its arrival time
    in microseconds (on the receiver's clock, to 250 us), or None when it did not arrive."""

    sender_ssrc: int
    media_ssrc: int
    base_sequence: int
    count: int  # the feedback packet count (8 bits): lets the sender see lost reports
    reference_us: int  # a multiple of 64 ms, at or before the first arrival
    arrivals: tuple[int | None, ...]


def _symbol(delta_ticks: int) -> int:
    if 0 <= delta_ticks <= 0xFF:
        return _SMALL
    if _LARGE_MIN <= delta_ticks <= _LARGE_MAX:
        return _LARGE
    raise ValueError(f"a receive delta of {delta_ticks * TICK_US} us does not fit")


def _chunks(symbols: Sequence[int]) -> list[int]:
    """The packet status chunks: a run-length chunk for 7 or more equal symbols, else a vector
    of 14 one-bit symbols when they are all lost/small, else one of 7 two-bit symbols (the last
    vector may hold more symbols than are left: the status count says where they end)."""
    chunks = []
    i, n = 0, len(symbols)
    while i < n:
        symbol = symbols[i]
        run = 1
        while i + run < n and run < _RUN_MAX and symbols[i + run] == symbol:
            run += 1
        if run >= _TWO_BIT_SYMBOLS:
            chunks.append((symbol << 13) | run)
            i += run
            continue
        window = symbols[i : i + _ONE_BIT_SYMBOLS]
        if _LARGE not in window:
            bits = 0
            for position, value in enumerate(window):
                bits |= value << (_ONE_BIT_SYMBOLS - 1 - position)
            chunks.append(0x8000 | bits)
            i += _ONE_BIT_SYMBOLS
        else:
            bits = 0
            for position, value in enumerate(symbols[i : i + _TWO_BIT_SYMBOLS]):
                bits |= value << (2 * (_TWO_BIT_SYMBOLS - 1 - position))
            chunks.append(0xC000 | bits)
            i += _TWO_BIT_SYMBOLS
    return chunks


def build_feedback(feedback: Feedback) -> bytes:
    """The RTCP packet of `feedback` (padded to 32 bits, with the P bit and count as RFC 3550
    says). Raises ValueError when a receive delta does not fit in 16 bits."""
    arrivals = feedback.arrivals
    if not 0 < len(arrivals) <= 0xFFFF:
        raise ValueError("a feedback packet reports 1 to 65535 packets")
    previous = feedback.reference_us // TICK_US
    symbols: list[int] = []
    deltas = bytearray()
    for arrival in arrivals:
        if arrival is None:
            symbols.append(_LOST)
            continue
        ticks = arrival // TICK_US
        symbol = _symbol(ticks - previous)
        symbols.append(symbol)
        if symbol == _SMALL:
            deltas.append(ticks - previous)
        else:
            deltas += struct.pack("!h", ticks - previous)
        previous = ticks
    chunks = _chunks(symbols)
    body = struct.pack(f"!{len(chunks)}H", *chunks) + bytes(deltas)
    size = _HEADER.size + len(body)
    padding = -size % 4
    if padding:
        body += bytes(padding - 1) + bytes([padding])
    reference = (feedback.reference_us // REFERENCE_US) % _REFERENCE_SPACE
    header = _HEADER.pack(
        0x80 | (0x20 if padding else 0) | FMT_TRANSPORT_CC,
        RTCP_RTPFB,
        (size + padding) // 4 - 1,
        feedback.sender_ssrc,
        feedback.media_ssrc,
        feedback.base_sequence % _SEQUENCE_SPACE,
        len(arrivals),
        (reference << 8) | (feedback.count & 0xFF),
    )
    return header + body


def parse_feedback(data: bytes) -> Feedback:
    """The feedback in one RTCP packet `data`; ValueError when it is not one or is cut short.
    Arrival times are on the sender's reference clock (reference time x 64 ms, unwrapped by
    nobody: the 24-bit field as it is)."""
    if len(data) < _HEADER.size:
        raise ValueError("shorter than a transport-cc feedback header")
    first, packet_type, length, sender, media, base, count, reference = _HEADER.unpack_from(data)
    if first >> 6 != 2 or first & 0x1F != FMT_TRANSPORT_CC or packet_type != RTCP_RTPFB:
        raise ValueError("not a transport-cc feedback packet")
    end = 4 * (length + 1)
    if end > len(data):
        raise ValueError("the length runs past the data")
    if first & 0x20:
        end -= data[end - 1]
    pos = _HEADER.size
    symbols: list[int] = []
    while len(symbols) < count:
        if pos + 2 > end:
            raise ValueError("the status chunks run past the packet")
        chunk = (data[pos] << 8) | data[pos + 1]
        pos += 2
        left = count - len(symbols)
        if not chunk & 0x8000:
            symbols += [(chunk >> 13) & 3] * min(chunk & _RUN_MAX, left)
        elif not chunk & 0x4000:
            symbols += [(chunk >> (13 - i)) & 1 for i in range(min(_ONE_BIT_SYMBOLS, left))]
        else:
            symbols += [(chunk >> (12 - 2 * i)) & 3 for i in range(min(_TWO_BIT_SYMBOLS, left))]
    reference_us = (reference >> 8) * REFERENCE_US
    ticks = reference_us // TICK_US
    arrivals: list[int | None] = []
    for symbol in symbols:
        if symbol == _LOST:
            arrivals.append(None)
            continue
        size = 1 if symbol == _SMALL else 2
        if symbol not in (_SMALL, _LARGE) or pos + size > end:
            raise ValueError("a reserved status or a receive delta past the packet")
        if size == 1:
            ticks += data[pos]
        else:
            ticks += struct.unpack_from("!h", data, pos)[0]
        pos += size
        arrivals.append(ticks * TICK_US)
    return Feedback(sender, media, base, reference & 0xFF, reference_us, tuple(arrivals))


class ArrivalLog:
    """A transport's arrivals since its last feedback. `arrived` is the receive path's one
    append per packet; `feedback` (every FEEDBACK_INTERVAL_S) unwraps the 16-bit numbers, reports
    from the first one not reported yet to the highest one seen, losses included, and forgets
    them. A packet arriving after its number was reported (as lost) stays reported lost."""

    def __init__(self, started_at_s: float) -> None:
        self._started_at_s = started_at_s  # arrival times are counted from here
        self.pending: list[tuple[int, float]] = []  # (sequence number, arrival time in s)
        self._highest: int | None = None  # the highest unwrapped number seen
        self._next: int | None = None  # the first unwrapped number not reported yet
        self._count = 0
        self._due_s = started_at_s  # when the next report is due

    def arrived(self, sequence: int, at_s: float) -> bool:
        """Log one arrival; True when a report is due (call `feedback`)."""
        self.pending.append((sequence, at_s))
        if at_s < self._due_s:
            return False
        self._due_s = at_s + FEEDBACK_INTERVAL_S
        return True

    def _unwrap(self, sequence: int) -> int:
        highest = self._highest
        if highest is None:
            self._highest = sequence
            return sequence
        unwrapped = highest + ((sequence - highest + 0x8000) % _SEQUENCE_SPACE) - 0x8000
        if unwrapped > highest:
            self._highest = unwrapped
        return unwrapped

    def feedback(self, sender_ssrc: int, media_ssrc: int) -> list[Feedback]:
        """The feedback packets for what arrived since the last call (none when nothing new)."""
        pending, self.pending = self.pending, []
        arrived: dict[int, int] = {}
        for sequence, at_s in pending:
            unwrapped = self._unwrap(sequence)
            if unwrapped not in arrived:
                arrived[unwrapped] = round((at_s - self._started_at_s) * 1_000_000)
        start = self._next
        if start is None or (arrived and min(arrived) - start > MAX_GAP):
            start = min(arrived, default=None)
        if start is None or self._highest is None or self._highest < start:
            return []
        self._next = self._highest + 1
        reports: list[Feedback] = []
        sequences = range(start, self._highest + 1)
        first = 0
        while first < len(sequences):
            times = self._one_packet([arrived.get(s) for s in sequences[first:]])
            received = next((t for t in times if t is not None), 0)
            reports.append(
                Feedback(
                    sender_ssrc,
                    media_ssrc,
                    sequences[first] % _SEQUENCE_SPACE,
                    self._count & 0xFF,
                    received // REFERENCE_US * REFERENCE_US,
                    tuple(times),
                )
            )
            self._count += 1
            first += len(times)
        return reports

    @staticmethod
    def _one_packet(times: list[int | None]) -> list[int | None]:
        """The longest prefix of `times` one packet can report: statuses and received packets
        within their bounds, every receive delta within 16 bits."""
        taken: list[int | None] = []
        received = 0
        previous: int | None = None
        for arrival in times[:MAX_STATUSES]:
            if arrival is not None:
                if previous is None:
                    previous = arrival // REFERENCE_US * REFERENCE_US // TICK_US
                delta = arrival // TICK_US - previous
                if not _LARGE_MIN <= delta <= _LARGE_MAX or received == MAX_RECEIVED:
                    break
                previous = arrival // TICK_US
                received += 1
            taken.append(arrival)
        return taken
