"""The forwarding counters /metrics reads: packets and payload bytes by kind, in and out (a
frame sent to two subscribers counts twice), and the cumulative delay histogram."""

from __future__ import annotations

import pytest

from server.media.consumer import Consumer
from server.media.graph import ForwardingGraph
from server.media.producer import Producer
from server.media.stats import DELAY_BOUNDS_S, DelayHistogram, ForwardingStats
from tests.media.test_producer_consumer import KEY, SETUPS, Clock, Link, video_packet

pytestmark = pytest.mark.unit


def test_packets_and_bytes_are_counted_by_kind_in_and_out() -> None:
    clock, graph, stats = Clock(), ForwardingGraph(), ForwardingStats()
    audio = Producer("audio", "p_a", lambda ssrc: None, stats, graph, clock=clock)
    video = Producer("video", "p_a", lambda ssrc: None, stats, graph, clock=clock)
    listeners = [Consumer("audio", slot, stats, graph, clock=clock) for slot in range(2)]
    for consumer in listeners:
        consumer.attach(SETUPS["audio"], Link(SETUPS["audio"]))
        consumer.activate()
        graph.connect(consumer, audio)
    audio.on_packet(video_packet(1, 960, b"\xf8" * 40))
    video.on_packet(video_packet(7, 3000, KEY + b"\x00" * 98))  # no subscriber: in only
    counts = stats.by_kind
    assert (counts["audio"].packets_in, counts["audio"].bytes_in) == (1, 40)
    assert (counts["audio"].packets_out, counts["audio"].bytes_out) == (2, 80)
    assert (counts["video"].packets_in, counts["video"].bytes_in) == (1, 100)
    assert (counts["video"].packets_out, counts["video"].bytes_out) == (0, 0)
    assert (stats.packets_in, stats.packets_out) == (2, 2)
    assert stats.delay_histogram.counts[0] == 2  # sent in the call that received it: (0, 1] ms


def test_the_delay_histogram_buckets_by_upper_bound_and_keeps_counting_past_a_reset() -> None:
    histogram = DelayHistogram()
    for delay in (0.001, 0.0011, 0.05, 3.0):
        histogram.observe(delay)
    assert histogram.counts[0] == 1  # exactly on a bound: that bucket (le, less or equal)
    assert histogram.counts[1] == 1
    assert histogram.counts[DELAY_BOUNDS_S.index(0.05)] == 1
    assert histogram.counts[-1] == 1  # above every bound: +Inf
    assert histogram.sum_s == pytest.approx(3.0521)
    stats = ForwardingStats()
    stats.record_delay(0.004)
    stats.reset_delays()
    assert not stats.delays_s and sum(stats.delay_histogram.counts) == 1
