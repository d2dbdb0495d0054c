"""REMB pacing with a fake clock: the first estimate goes out, then at most one per interval,
except a clear fall, which goes out at once."""

from __future__ import annotations

import pytest

from server.media.remb_throttle import RembThrottle

pytestmark = pytest.mark.unit


def test_one_estimate_per_interval_unless_it_falls() -> None:
    throttle = RembThrottle(interval_ms=200, drop=0.03)
    assert throttle.should_send(1_000_000, 0)
    assert not throttle.should_send(1_000_000, 1)  # every packet while overusing: not sent
    assert not throttle.should_send(980_000, 150)  # a 2 % fall waits for the interval
    assert throttle.should_send(960_000, 160)  # a 4 % fall goes out at once
    assert not throttle.should_send(2_000_000, 359)  # a rise waits
    assert throttle.should_send(2_000_000, 360)
