"""The per-subscriber bandwidth estimate (server/media/bandwidth_estimator.py) over synthetic
traces of a closed loop: a sender paced at the estimate through a drop-tail bottleneck
(tests/media/link_sim.py), fed back every 100 ms as transport-cc feedback would be.

Bounds and times asserted: a steady 3 Mbit/s link is found within 30 s and held within
60-120 % of it, with under 2 % of packets dropped at the bottleneck once found; a drop from 3
to 0.8 Mbit/s is followed within 3 s and the estimate climbs back above 2 Mbit/s within 20 s
of the capacity returning; 5 % random loss (no congestion) keeps the estimate; 20 % cuts it;
a 1 Mbit/s bottleneck is found within 20 s."""

from __future__ import annotations

import statistics

import pytest

from server.media.bandwidth_estimator import (
    BandwidthEstimator,
    DelayTrend,
    EstimatorConfig,
    OveruseDetector,
    PacketResult,
    Usage,
)
from tests.media.link_sim import Link, run

pytestmark = pytest.mark.unit

MBIT = 1_000_000


def constant(bps: float) -> Link:
    return Link(capacity_bps=lambda t: bps)


def test_a_steady_3_mbit_link_is_found_and_held_without_loss() -> None:
    trace = run(constant(3 * MBIT), 60, BandwidthEstimator(EstimatorConfig()))
    found = next(t for t, e in trace.estimates if e >= 0.6 * 3 * MBIT)
    assert found < 30_000
    after = trace.between(found, 60_000)
    assert min(after) >= 0.6 * 3 * MBIT
    assert max(after) <= 1.2 * 3 * MBIT
    assert trace.drop_share(found, 60_000) < 0.02


def test_a_drop_from_3_to_0_8_mbit_is_followed_within_3_s_and_recovered_after() -> None:
    def capacity(t_ms: float) -> float:
        return 0.8 * MBIT if 40_000 <= t_ms < 65_000 else 3 * MBIT

    trace = run(Link(capacity_bps=capacity), 90, BandwidthEstimator(EstimatorConfig()))
    assert trace.estimate_at(39_900) >= 0.6 * 3 * MBIT
    assert trace.estimate_at(43_000) <= 0.8 * MBIT
    during = trace.between(43_000, 65_000)
    assert min(during) >= 0.3 * MBIT  # adapted, not collapsed
    assert statistics.median(during) <= 0.9 * MBIT
    assert trace.drop_share(45_000, 65_000) < 0.02
    back = next(t for t, e in trace.estimates if t >= 65_000 and e >= 2 * MBIT)
    assert back - 65_000 < 20_000


def test_random_loss_of_5_percent_keeps_the_estimate_and_20_percent_cuts_it() -> None:
    for loss, kept in ((0.05, True), (0.20, False)):

        def random_loss(t_ms: float, share: float = loss) -> float:
            return share if t_ms >= 30_000 else 0.0

        link = Link(
            capacity_bps=lambda t: 10 * MBIT,
            loss=random_loss,
            demand_bps=2.5 * MBIT,
        )
        trace = run(link, 50, BandwidthEstimator(EstimatorConfig()))
        before = trace.estimate_at(29_900)
        assert before >= 2 * MBIT
        lowest = min(trace.between(30_000, 50_000))
        assert (lowest >= 0.8 * before) is kept, (loss, before, lowest)


def test_a_1_mbit_bottleneck_is_found_within_20_s() -> None:
    trace = run(constant(1 * MBIT), 60, BandwidthEstimator(EstimatorConfig()))
    settled = trace.between(20_000, 60_000)
    assert min(settled) >= 0.6 * MBIT
    assert max(settled) <= 1.15 * MBIT
    assert trace.drop_share(20_000, 60_000) < 0.02


def test_only_arrival_deltas_count_not_the_receivers_clock_base() -> None:
    results = [PacketResult(i, i * 10.0, 1200, 5_000_000.0 + i * 10.0) for i in range(50)]
    shifted = [PacketResult(r.sequence, r.sent_ms, r.size_bytes, r.sent_ms + 3.0) for r in results]
    one, other = BandwidthEstimator(EstimatorConfig()), BandwidthEstimator(EstimatorConfig())
    assert one.on_feedback(results, 500.0) == other.on_feedback(shifted, 500.0)


def test_growing_queueing_delay_is_overuse_and_shrinking_is_underuse() -> None:
    config = EstimatorConfig()
    for growth_ms, expected in ((2.0, Usage.OVER), (-2.0, Usage.UNDER), (0.0, Usage.NORMAL)):
        trend, detector = DelayTrend(config), OveruseDetector(config)
        usage = Usage.NORMAL
        for group in range(1, 40):
            slope = trend.add(
                arrival_delta_ms=20.0 + growth_ms, send_delta_ms=20.0, arrival_ms=group * 20.0
            )
            usage = detector.detect(slope, group * 20.0)
        assert usage is expected, growth_ms


def test_sending_less_than_the_estimate_neither_raises_nor_lowers_it() -> None:
    """Video held back (application-limited): the estimate stays where the link put it, so
    the allocation can bring the video back; it does not climb on what was never sent."""
    estimator = BandwidthEstimator(EstimatorConfig())
    start = estimator.estimate_bps
    for batch in range(100):  # 100 kbit/s of audio-sized packets for 10 s, fed back each 100 ms
        results = [
            PacketResult(batch * 5 + k, batch * 100.0 + k * 20, 250, 7e6 + batch * 100.0 + k * 20)
            for k in range(5)
        ]
        estimator.on_feedback(results, batch * 100.0 + 120)
    assert start * 0.95 <= estimator.estimate_bps <= start * 1.05


def test_an_overuse_while_sending_far_below_the_estimate_cuts_it_by_half_at_most() -> None:
    """Audio alone (video held back) while the queue grows from someone else's traffic: the
    estimate must not collapse to the audio's rate, or the video could never come back."""
    estimator = BandwidthEstimator(EstimatorConfig())
    start = estimator.estimate_bps
    sent = 0.0
    for batch in range(30):  # 100 kbit/s, each packet queued 4 ms longer than the one before
        results = []
        for k in range(5):
            sent = batch * 100.0 + k * 20
            results.append(PacketResult(batch * 5 + k, sent, 250, 9e6 + sent * 1.2))
        estimator.on_feedback(results, sent + 50)
    assert estimator.detector.usage is Usage.OVER
    assert start * 0.5 * 0.85 <= estimator.estimate_bps < start
