"""Probing a subscriber's link (server/media/probe.py): padding paced over the probe's
duration, measured as one cluster, and nothing when no slot can send it."""

from __future__ import annotations

import asyncio

import pytest

from server.media.bandwidth_estimator import BandwidthEstimator
from server.media.downlink_feedback import FeedbackReader
from server.media.probe import LinkProbe, ProbeConfig
from server.media.rtp_writer import TransportSequence

pytestmark = pytest.mark.unit


async def test_padding_is_paced_over_the_probe_and_measured_as_one_cluster() -> None:
    numbering = TransportSequence()
    reader = FeedbackReader(numbering, BandwidthEstimator(), lambda bps: None)
    sent: list[tuple[float, int]] = []
    loop = asyncio.get_running_loop()

    def send(count: int, size: int) -> int:
        for _ in range(count):
            numbering.take(size)
        sent.append((loop.time(), count))
        return count

    probe = LinkProbe(reader, send, ProbeConfig(duration_s=0.2, tick_s=0.02, packet_bytes=250))
    probe.start(1_000_000)  # 1 Mbit/s: 2500 bytes, 10 packets, every 20 ms
    probe.start(5_000_000)  # one at a time
    assert probe.running
    while probe.running:
        await asyncio.sleep(0.01)
    assert [count for _, count in sent] == [10] * 10
    assert sent[-1][0] - sent[0][0] >= 0.15  # paced, not one burst
    cluster = reader._probe
    assert cluster is not None and (cluster.first, cluster.last) == (0, 99)


async def test_no_slot_can_send_padding_the_probe_ends_at_once() -> None:
    reader = FeedbackReader(TransportSequence(), BandwidthEstimator(), lambda bps: None)
    probe = LinkProbe(reader, lambda count, size: 0)
    probe.start(1_000_000)
    assert not probe.running
