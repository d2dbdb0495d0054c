"""WindowRate against aiortc's own RateCounter, which it replaces in the REMB estimator: the
same rates for the same samples, whatever the gaps between them."""

from __future__ import annotations

import random

import pytest
from aiortc.rate import RateCounter

from server.media.window_rate import WindowRate

pytestmark = pytest.mark.unit


def test_the_same_rates_as_aiortcs_counter_on_a_random_trace() -> None:
    rng = random.Random(18)
    ours, theirs = WindowRate(1000, 8000), RateCounter(1000, 8000)
    now_ms = 5_000_000
    for step in range(20_000):
        # packets in bursts (same millisecond), at frame gaps, and a rare silence past the window
        now_ms += rng.choice((0, 0, 1, 2, 7, 33, 50)) if step % 3000 else 1500
        size = rng.randrange(0, 1200)
        assert ours.rate(now_ms) == theirs.rate(now_ms)
        ours.add(size, now_ms)
        theirs.add(size, now_ms)
        if step % 5000 == 4999:
            ours.reset()
            theirs.reset()
    assert ours.rate(now_ms + 400) == theirs.rate(now_ms + 400)


def test_a_young_window_counts_from_its_first_value_and_an_old_value_leaves() -> None:
    rate = WindowRate(1000)
    assert rate.rate(0) is None
    rate.add(1000, 0)
    assert rate.rate(0) is None  # a window of one millisecond says nothing yet
    assert rate.rate(99) == 80_000  # 8000 bits over 100 ms
    rate.add(1000, 999)
    assert rate.rate(999) == 16_000  # both in the full one-second window
    assert rate.rate(1000) == 8_000  # the first left it
    assert rate.rate(5000) is None  # nothing in the window
