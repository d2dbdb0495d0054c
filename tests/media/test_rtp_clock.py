"""RTP timestamps mapped to the arrival clock: steady streams, wraparound, DTX gaps, a server
stall that delivers packets in a burst, jitter, a new SSRC, a restarted clock, drift."""

from __future__ import annotations

import pytest

from server.media.rtp_clock import WRAP, RtpClock

pytestmark = pytest.mark.unit

TICKS = 960  # 20 ms at 48 kHz


def test_a_steady_stream_is_timed_by_arrival() -> None:
    clock = RtpClock()
    times = [clock.at(7, 1000 + i * TICKS, 50.0 + i * 0.02) for i in range(100)]
    assert times == pytest.approx([50.0 + i * 0.02 for i in range(100)])
    assert clock.resets == 1


def test_timestamps_wrap_around_at_2_to_the_32() -> None:
    clock = RtpClock()
    start = WRAP - 5 * TICKS
    times = [clock.at(7, (start + i * TICKS) % WRAP, 10.0 + i * 0.02) for i in range(12)]
    assert times == pytest.approx([10.0 + i * 0.02 for i in range(12)])
    assert clock.resets == 1


def test_a_dtx_gap_jumps_the_timestamp_with_one_sequence_step() -> None:
    clock = RtpClock()
    clock.at(7, 0, 1.0)
    clock.at(7, TICKS, 1.02)
    # 3 s of silence: no packets, then the next one carries a timestamp 3 s on
    assert clock.at(7, TICKS + 3 * 48_000, 4.02) == pytest.approx(4.02)
    assert clock.resets == 1


def test_a_stall_delivers_a_burst_timed_as_it_was_spoken() -> None:
    clock = RtpClock()
    for i in range(50):
        clock.at(7, i * TICKS, 20.0 + i * 0.02)
    # the server stalls 1.5 s; the 75 packets sent meanwhile arrive within 10 ms after it
    burst = [clock.at(7, (50 + k) * TICKS, 21.0 + 1.5 + k * 0.0001) for k in range(75)]
    assert burst == pytest.approx([21.0 + k * 0.02 for k in range(75)])
    assert clock.at(7, 125 * TICKS, 22.5) == pytest.approx(22.5)  # on time again


def test_jitter_does_not_move_the_times() -> None:
    clock = RtpClock()
    delays = [0.0, 0.03, 0.01, 0.08, 0.0, 0.05, 0.02, 0.11, 0.0, 0.04] * 10
    times = [clock.at(7, i * TICKS, 3.0 + i * 0.02 + d) for i, d in enumerate(delays)]
    assert times == pytest.approx([3.0 + i * 0.02 for i in range(100)])


def test_a_late_first_packet_is_corrected_by_the_next_on_time_one() -> None:
    clock = RtpClock()
    assert clock.at(7, 0, 5.1) == 5.1  # it was 100 ms late: nothing tells yet
    assert clock.at(7, TICKS, 5.02) == pytest.approx(5.02)
    assert clock.at(7, 2 * TICKS, 5.07) == pytest.approx(5.04)


def test_a_new_ssrc_starts_afresh() -> None:
    clock = RtpClock()
    clock.at(7, 123_456, 1.0)
    clock.at(7, 123_456 + TICKS, 1.02)
    assert clock.at(8, 9, 2.0) == 2.0
    assert clock.at(8, 9 + TICKS, 2.02) == pytest.approx(2.02)
    assert clock.resets == 2


def test_a_timestamp_inconsistent_with_arrival_by_seconds_starts_afresh() -> None:
    clock = RtpClock()
    clock.at(7, 0, 1.0)
    clock.at(7, TICKS, 1.02)
    # the sender restarted its clock: 1 s later by arrival, 60 s later by timestamp
    assert clock.at(7, 60 * 48_000, 2.02) == 2.02
    assert clock.at(7, 60 * 48_000 + TICKS, 2.04) == pytest.approx(2.04)
    # ...and backwards
    assert clock.at(7, 5, 2.06) == 2.06
    assert clock.resets == 3


def test_a_sender_clock_running_slow_is_followed() -> None:
    clock = RtpClock(drift_window_s=10.0)
    rate = 48_000 * (1 - 200e-6)  # 200 ppm slow: 12 ms a minute
    for i in range(3000):  # one minute
        arrival = 100.0 + i * 0.02
        got = clock.at(7, round(i * 0.02 * rate), arrival)
        assert 0 <= arrival - got < 0.0045  # at most two windows of drift (2 ms each) behind


def test_a_sender_clock_running_fast_is_followed() -> None:
    clock = RtpClock()
    rate = 48_000 * (1 + 200e-6)
    for i in range(3000):
        arrival = 100.0 + i * 0.02
        assert clock.at(7, round(i * 0.02 * rate), arrival) == pytest.approx(arrival, abs=1e-3)
