"""A subscriber's transport-cc feedback read into its estimate (server/media/downlink_feedback.py):
found in compound RTCP packets (with other RTCP, padded, damaged), against packets made by the
builder here (written from the draft, sharing no code with transport_feedback.py's): run-length
and both status-vector chunks, small, large and negative deltas, losses, sequence wraparound;
then matched to what was sent, into the estimate, and probes measured as clusters."""

from __future__ import annotations

import struct

import pytest

from server.media.bandwidth_estimator import BandwidthEstimator
from server.media.downlink_feedback import FeedbackReader, feedback_in
from server.media.rtp_writer import TransportSequence

pytestmark = pytest.mark.unit

DELTA_US = 250


def build_feedback(
    base: int, arrivals: list[int | None], reference_64ms: int, count: int, chunking: str
) -> bytes:
    """A transport-cc feedback packet for packets base, base+1, ...: arrival in microseconds
    (a multiple of 250) or None when lost. `chunking`: "run" (run-length chunks where statuses
    repeat), "two_bit" (7-symbol vectors) or "one_bit" (14-symbol vectors; small deltas only)."""
    previous = reference_64ms * 64_000
    statuses, deltas = [], b""
    for arrival in arrivals:
        if arrival is None:
            statuses.append(0)
            continue
        ticks = (arrival - previous) // DELTA_US
        previous = arrival
        if 0 <= ticks <= 255:
            statuses.append(1)
            deltas += bytes([ticks])
        else:
            statuses.append(2)
            deltas += struct.pack("!h", ticks)
    chunks = b""
    i = 0
    while i < len(statuses):
        if chunking == "run":
            run = 1
            while i + run < len(statuses) and statuses[i + run] == statuses[i]:
                run += 1
            chunks += struct.pack("!H", (statuses[i] << 13) | run)
            i += run
        elif chunking == "two_bit":
            word = 0xC000
            for k, status in enumerate(statuses[i : i + 7]):
                word |= status << (12 - 2 * k)
            chunks += struct.pack("!H", word)
            i += 7
        else:
            word = 0x8000
            for k, status in enumerate(statuses[i : i + 14]):
                assert status in (0, 1)
                word |= status << (13 - k)
            chunks += struct.pack("!H", word)
            i += 14
    body = struct.pack("!IIHH", 0x1111, 0x2222, base, len(arrivals))
    body += (reference_64ms & 0xFFFFFF).to_bytes(3, "big") + bytes([count]) + chunks + deltas
    body += bytes(-len(body) % 4)
    return struct.pack("!BBH", 0x80 | 15, 205, len(body) // 4) + body


RECEIVER_REPORT = struct.pack("!BBHI", 0x80, 201, 1, 0x3333)  # an empty receiver report


@pytest.mark.parametrize("chunking", ["run", "two_bit", "one_bit"])
def test_arrivals_and_losses_are_read_from_every_kind_of_chunk(chunking: str) -> None:
    reference = 1000  # x 64 ms
    start = reference * 64_000
    arrivals: list[int | None] = [start + 1000, start + 1250, None, None, start + 5000]
    arrivals += [start + 5000 + 250 * k for k in range(1, 20)] + [None]
    if chunking != "one_bit":
        arrivals += [start + 200_000, start + 150_000]  # a large delta, then a negative one
    arrivals += [start + (300_000 if chunking != "one_bit" else 10_000)]  # the last arrived
    packet = build_feedback(65530, arrivals, reference, 7, chunking)
    (feedback,) = feedback_in(RECEIVER_REPORT + packet + RECEIVER_REPORT)
    assert (feedback.media_ssrc, feedback.base_sequence, feedback.count) == (0x2222, 65530, 7)
    assert list(feedback.arrivals) == arrivals


def test_padding_and_damage() -> None:
    packet = build_feedback(1, [64_000 + 500, None, 64_000 + 750], 1, 0, "two_bit")
    padded = bytearray(packet)
    padded[0] |= 0x20  # padding: four bytes, the last says how many
    padded += b"\x00\x00\x00\x04"
    padded[2:4] = struct.pack("!H", len(padded) // 4 - 1)
    (feedback,) = feedback_in(bytes(padded))
    assert list(feedback.arrivals) == [64_500, None, 64_750]
    assert feedback_in(packet[:-4]) == []  # its deltas cut off: nothing read from it
    assert feedback_in(RECEIVER_REPORT + packet[:18]) == []
    assert feedback_in(b"") == [] and feedback_in(b"\x80") == []


def test_the_reader_matches_feedback_to_what_was_sent_and_feeds_the_estimate() -> None:
    numbering = TransportSequence()
    for k in range(40):
        numbering.take(1000, now_ms=10_000.0 + 5 * k)
    estimates: list[int] = []
    estimator = BandwidthEstimator()
    reader = FeedbackReader(numbering, estimator, estimates.append, clock=lambda: 10.5)
    arrivals: list[int | None] = [50_000_000 + 5000 * k for k in range(40)]
    arrivals[7] = None
    reader.on_rtcp(RECEIVER_REPORT)  # no feedback in it: nothing
    assert estimates == []
    reader.on_rtcp(build_feedback(0, arrivals, 50_000_000 // 64_000, 0, "run"))
    assert estimates == [estimator.estimate_bps]
    assert estimator.loss_based.loss == pytest.approx(1 / 40)
    reader.on_rtcp(build_feedback(4000, [50_000_000], 50_000_000 // 64_000, 1, "run"))
    assert len(estimates) == 1  # numbers never sent (or long gone) are no feedback


def test_a_probe_cluster_raises_the_estimate_to_what_it_delivered() -> None:
    numbering = TransportSequence()
    estimator = BandwidthEstimator()
    estimates: list[int] = []
    reader = FeedbackReader(numbering, estimator, estimates.append, clock=lambda: 20.0)
    for k in range(10):  # media before the probe
        numbering.take(1000, now_ms=19_000.0 + 10 * k)
    reader.probe_started()
    for k in range(50):  # 2 Mbit/s for 200 ms: 1000 bytes every 4 ms
        numbering.take(1000, now_ms=19_500.0 + 4 * k)
    reader.probe_ended()
    # the link delivered it at its own pace: 1000 bytes every 5 ms (1.6 Mbit/s)
    arrivals: list[int | None] = [30_000_000 + 10_000 * k for k in range(10)]
    arrivals += [30_500_000 + 5000 * k for k in range(50)]
    reader.on_rtcp(build_feedback(0, arrivals, 30_000_000 // 64_000, 0, "run"))
    assert len(estimates) == 2  # the feedback's, then the probe's
    assert estimates[-1] == pytest.approx(0.9 * 1_600_000, rel=0.03)


def test_a_probe_during_overuse_or_with_too_few_arrivals_raises_nothing() -> None:
    numbering = TransportSequence()
    estimator = BandwidthEstimator()
    reader = FeedbackReader(numbering, estimator, lambda bps: None, clock=lambda: 20.0)
    reader.probe_started()
    for k in range(20):
        numbering.take(1000, now_ms=19_500.0 + 4 * k)
    reader.probe_ended()
    lost: list[int | None] = [None] * 17 + [30_500_000, 30_505_000, 30_510_000]
    start = estimator.estimate_bps
    reader.on_rtcp(build_feedback(0, lost, 30_000_000 // 64_000, 0, "run"))
    assert estimator.estimate_bps <= start
    assert estimator.on_probe(5_000_000) == estimator.estimate_bps <= start  # 85 % lost
