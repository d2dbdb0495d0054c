"""Transport-wide feedback packets (server/media/transport_feedback.py): the wire format against
hand-made packets of the draft's chunk kinds, build and parse round trips, and the arrival log
that turns a receive path's arrivals into reports (losses, wrap-around, splits, restarts)."""

from __future__ import annotations

import itertools
import random
import struct
from pathlib import Path

import pytest

from server.media.transport_feedback import (
    MAX_RECEIVED,
    REFERENCE_US,
    TICK_US,
    ArrivalLog,
    Feedback,
    build_feedback,
    parse_feedback,
)

pytestmark = pytest.mark.unit

REFERENCE = 1000 * REFERENCE_US  # 64 s


def ticks(arrivals: tuple[int | None, ...]) -> tuple[int | None, ...]:
    """Arrival times as the wire keeps them: to 250 us."""
    return tuple(None if a is None else a // TICK_US * TICK_US for a in arrivals)


def test_a_hand_made_packet_of_a_run_a_one_bit_and_a_two_bit_vector_is_read() -> None:
    # 8 received (run-length, small deltas), then 14 one-bit symbols (lost, received, lost x11,
    # received), then a two-bit vector: large delta, lost, small, and four unused symbols
    chunks = [0x2008, 0x8000 | 0b01000000000001, 0xC000 | (2 << 12) | (0 << 10) | (1 << 8)]
    deltas = bytes([4] * 8) + bytes([8, 8]) + struct.pack("!h", -40) + bytes([1])
    body = struct.pack("!3H", *chunks) + deltas
    size = 20 + len(body)
    padding = -size % 4
    packet = (
        struct.pack(
            "!BBHIIHHI",
            0x80 | (0x20 if padding else 0) | 15,
            205,
            (size + padding) // 4 - 1,
            0x11111111,
            0x22222222,
            65530,
            25,
            (1000 << 8) | 7,
        )
        + body
        + bytes(padding - 1)
        + bytes([padding])
    )
    feedback = parse_feedback(packet)
    assert (feedback.sender_ssrc, feedback.media_ssrc) == (0x11111111, 0x22222222)
    assert (feedback.base_sequence, feedback.count, feedback.reference_us) == (65530, 7, REFERENCE)
    at = REFERENCE + 8 * 4 * TICK_US
    expected: list[int | None] = [REFERENCE + (i + 1) * 4 * TICK_US for i in range(8)]
    expected += [None, at + 8 * TICK_US, *[None] * 11, at + 16 * TICK_US]
    expected += [at + (16 - 40) * TICK_US, None, at + (16 - 40 + 1) * TICK_US]
    assert feedback.arrivals == tuple(expected)
    assert build_feedback(feedback) == packet  # the same choice of chunks, byte for byte


def test_build_and_parse_round_trip_over_random_losses_and_deltas() -> None:
    rng = random.Random(27)
    for _ in range(200):
        at = REFERENCE + rng.randrange(REFERENCE_US)
        arrivals: list[int | None] = []
        for _ in range(rng.randrange(1, 300)):
            if arrivals and rng.random() < 0.2:
                arrivals.append(None)
                continue
            at += rng.choice((0, rng.randrange(64_000), rng.randrange(-5_000_000, 5_000_000)))
            arrivals.append(at)
        if all(a is None for a in arrivals):
            continue
        first = next(a for a in arrivals if a is not None)
        feedback = Feedback(1, 2, rng.randrange(65536), 3, first // REFERENCE_US * REFERENCE_US,
                            tuple(arrivals))  # fmt: skip
        packet = build_feedback(feedback)
        assert len(packet) % 4 == 0
        assert struct.unpack_from("!H", packet, 2)[0] == len(packet) // 4 - 1
        parsed = parse_feedback(packet)
        assert parsed.arrivals == ticks(feedback.arrivals)
        assert parsed.base_sequence == feedback.base_sequence


def test_a_delta_beyond_sixteen_bits_is_refused_and_bad_packets_are_not_read() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        build_feedback(Feedback(1, 2, 0, 0, REFERENCE, (REFERENCE, REFERENCE + 9_000_000)))
    good = build_feedback(Feedback(1, 2, 0, 0, REFERENCE, (REFERENCE, None, REFERENCE + 1000)))
    for bad in (good[:19], good[:-4], bytes([0x80 | 1]) + good[1:], good[:1] + bytes([206])):
        with pytest.raises(ValueError):
            parse_feedback(bad)


def reported(reports: list[Feedback]) -> dict[int, int | None]:
    """Sequence number -> arrival time, over several feedback packets in order."""
    out: dict[int, int | None] = {}
    for feedback in reports:
        parsed = parse_feedback(build_feedback(feedback))
        for offset, arrival in enumerate(parsed.arrivals):
            out[(parsed.base_sequence + offset) % 65536] = arrival
    return out


def test_the_log_reports_each_number_once_losses_included_across_the_wrap() -> None:
    log = ArrivalLog(started_at_s=100.0)
    for seq, at in ((65533, 100.010), (65534, 100.020), (0, 100.0305), (1, 100.040)):
        log.arrived(seq, at)
    first = log.feedback(0xAAAA, 0xBBBB)
    assert [f.count for f in first] == [0]
    assert reported(first) == {65533: 10_000, 65534: 20_000, 65535: None, 0: 30_500, 1: 40_000}
    assert log.feedback(0xAAAA, 0xBBBB) == []  # nothing new
    log.arrived(65535, 100.045)  # reported lost already: stays so
    log.arrived(3, 100.050)
    second = log.feedback(0xAAAA, 0xBBBB)
    assert [f.count for f in second] == [1]
    assert reported(second) == {2: None, 3: 50_000}


def test_long_reports_are_split_and_a_restarted_sender_is_not_reported_as_losses() -> None:
    log = ArrivalLog(started_at_s=0.0)
    for seq in range(1000):
        log.arrived(seq, 1.0 + seq * 0.001)
    log.arrived(1000, 20.0)  # 19 s later: past what one receive delta can say
    reports = log.feedback(1, 2)
    sizes = [len(f.arrivals) for f in reports]
    assert sizes == [MAX_RECEIVED, MAX_RECEIVED, 200, 1]
    assert [f.count for f in reports] == [0, 1, 2, 3]
    assert reported(reports)[1000] == 20_000_000
    assert all(len(build_feedback(f)) <= 1200 for f in reports)
    log.arrived(30_000, 20.5)  # a jump of 29,000: reports start again there
    (restart,) = log.feedback(1, 2)
    assert (restart.base_sequence, restart.arrivals) == (30_000, (20_500_000,))


CAPTURED = Path(__file__).parent / "data" / "chromium_transport_feedback.txt"


def test_chromiums_own_feedback_reads_as_what_it_was_sent_and_rebuilds() -> None:
    """Feedback Chromium sent (data/capture_transport_feedback.py: numbers 0-299 sent to a
    Chromium page, those of the file's first line skipped) reads as exactly that: the skipped
    numbers lost, every other one received, in sending order; and what our builder makes of
    each reads back the same."""
    skipped_line, *packets = CAPTURED.read_text().splitlines()
    skipped = {int(n) for n in skipped_line.split()}
    status: dict[int, int | None] = {}
    counts = []
    for line in packets:
        data = bytes.fromhex(line)
        feedback = parse_feedback(data)
        counts.append(feedback.count)
        for offset, arrival in enumerate(feedback.arrivals):
            status[feedback.base_sequence + offset] = arrival
        rebuilt = parse_feedback(build_feedback(feedback))
        assert rebuilt == feedback  # Chromium's times are on the 250 us grid already
    assert counts == list(range(counts[0], counts[0] + len(counts)))  # none of ours lost
    assert set(status) == set(range(300))
    assert {n for n, at in status.items() if at is None} == skipped
    times = [at for n, at in sorted(status.items()) if at is not None]
    assert times == sorted(times)  # sent 4 ms apart, in order on loopback
    gaps_ms = [(b - a) / 1000 for a, b in itertools.pairwise(times)]
    assert sum(gap > 200 for gap in gaps_ms) >= 5  # the 300 ms pauses after each 50th
