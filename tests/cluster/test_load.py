"""A node's load over its window: packets/s and CPU cores between the newest sample and the
newest one a window older."""

from __future__ import annotations

import pytest

from server.cluster.load import Load, LoadMeter, Sample

pytestmark = pytest.mark.unit


def test_nothing_is_measured_from_the_first_sample() -> None:
    meter = LoadMeter(6.0)
    assert meter.add(Sample(100.0, 50.0, 1_000)) == Load(0.0, 0.0)


def test_rates_over_the_window_not_the_last_beat() -> None:
    meter = LoadMeter(6.0)
    meter.add(Sample(0.0, 0.0, 0))
    # 3 s at 0.8 core and 10,000 pkt/s, then 1.5 s idle
    assert meter.add(Sample(3.0, 2.4, 30_000)) == Load(10_000.0, pytest.approx(0.8))
    load = meter.add(Sample(4.5, 2.4, 30_000))
    assert load.cpu_cores == pytest.approx(2.4 / 4.5)
    assert load.packets_per_s == pytest.approx(30_000 / 4.5)


def test_samples_older_than_the_window_are_let_go() -> None:
    meter = LoadMeter(6.0)
    for second in range(0, 10):  # 0.5 core until 5 s, then 0.1 core
        cpu = 0.5 * min(second, 5) + 0.1 * max(second - 5, 0)
        load = meter.add(Sample(float(second), cpu, 1_000 * second))
    # at 9 s the base is the sample at 3 s: 2 s at 0.5 core and 4 s at 0.1 core over 6 s
    assert load.cpu_cores == pytest.approx((2 * 0.5 + 4 * 0.1) / 6)
    assert load.packets_per_s == pytest.approx(1_000)
