"""Running percentiles of recent levels, against their definition counted out by hand."""

from __future__ import annotations

import random

import pytest

from rooms.level_window import LEVELS, LevelWindow
from rooms.voice_activity import VoiceActivityConfig


def counted_percentile(levels: list[int], percent: int) -> int:
    """The definition: the quietest level that, with those quieter, holds `percent` % of all."""
    wanted = len(levels) * percent / 100
    for level in range(LEVELS - 1, -1, -1):
        if sum(1 for x in levels if x >= level) >= wanted:
            return level
    raise AssertionError("unreachable: level 0 counts every level")


def test_percentiles_follow_levels_in_and_out_of_the_window() -> None:
    rng = random.Random(3)
    window = LevelWindow(2.0, (10, 50, 90))
    heard: list[tuple[float, int]] = []
    at, noise = 0.0, 60.0
    for _ in range(3000):
        at += rng.choice([0.02, 0.02, 0.02, 0.5, 3.0])  # gaps longer than the window too
        noise += rng.uniform(-1.0, 1.0)
        jump = rng.random() < 0.05  # speech, a knock, silence
        level = rng.randrange(LEVELS) if jump else max(0, min(127, round(noise + rng.gauss(0, 3))))
        window.add(level, at)
        heard = [(t, x) for t, x in [*heard, (at, level)] if t >= at - 2.0]
        levels = [x for _, x in heard]
        assert len(window) == len(levels)
        for index, percent in enumerate((10, 50, 90)):
            assert window.percentile(index) == counted_percentile(levels, percent)


def test_a_window_of_one_level_is_that_level_at_every_percentile_over_0() -> None:
    window = LevelWindow(1.0, (0, 1, 10, 100))
    window.add(72, 5.0)
    assert [window.percentile(i) for i in range(4)] == [127, 72, 72, 72]


def test_percentiles_outside_0_to_100_are_refused() -> None:
    with pytest.raises(ValueError):
        LevelWindow(1.0, (10, 101))
    with pytest.raises(ValueError):
        VoiceActivityConfig(floor_percentile=95, noise_top_percentile=90)
