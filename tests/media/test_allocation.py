"""A subscriber's allocation (server/media/allocation.py) as traces: audio first, lower layers
before pausing, priority order, hysteresis against flapping, probing to climb back."""

from __future__ import annotations

import pytest

from server.media.allocation import Allocation, AllocationConfig, Candidate, allocate

pytestmark = pytest.mark.unit

CONFIG = AllocationConfig(
    audio_bps_per_stream=40_000,
    up_margin=0.15,
    resume_after_s=3.0,
    probe_every_s=4.0,
    probe_max_factor=2.0,
    probe_overshoot=1.25,
)
QHF = (150_000, 400_000, 1_200_000)  # q, h, f
SPEAKER = Candidate("speaker", QHF, wanted=2)
TILES = [Candidate(f"t{i}", QHF, wanted=1) for i in range(4)]


def run(budget: int, previous: Allocation | None = None, now: float = 0.0) -> Allocation:
    return allocate(budget, 5, [SPEAKER, *TILES], previous, now, CONFIG)


def test_audio_of_everyone_comes_before_any_video() -> None:
    alloc = run(200_000)  # 5 x 40 k of audio leaves nothing for video
    assert alloc.layers == {} and alloc.paused == {"speaker", "t0", "t1", "t2", "t3"}
    assert "video 0" in alloc.trace[0]


def test_lower_layers_for_everyone_before_a_tile_is_paused_and_priority_climbs_first() -> None:
    alloc = run(200_000 + 5 * 150_000)
    assert alloc.layers == {"speaker": 0, "t0": 0, "t1": 0, "t2": 0, "t3": 0}
    alloc = run(200_000 + 4 * 150_000)
    assert alloc.layers == {"speaker": 0, "t0": 0, "t1": 0, "t2": 0}
    assert alloc.paused == {"t3"}  # the last in priority, only when the lowest layers do not fit
    alloc = run(2_900_000)  # room for the speaker's f first, then the tiles' h
    assert alloc.layers == {"speaker": 2, "t0": 1, "t1": 1, "t2": 1, "t3": 0}
    assert alloc.video_bps <= 2_900_000 - 200_000
    assert any("t3: layer 0 of wanted 1" in line for line in alloc.trace)


def test_a_budget_wavering_near_a_step_does_not_flap() -> None:
    start = run(200_000 + 5 * 150_000)
    assert start.layers["t3"] == 0
    low = run(200_000 + 5 * 150_000 - 10_000, start, now=1.0)
    assert "t3" in low.paused  # down at once
    back = run(200_000 + 5 * 150_000 + 10_000, low, now=2.0)
    assert "t3" in back.paused  # paused for at least 3 s
    later = run(200_000 + 5 * 150_000 + 10_000, back, now=4.5)
    assert "t3" in later.paused  # and back only with 15 % room over its cost
    roomy = run(200_000 + 4 * 150_000 + round(150_000 * 1.15), later, now=5.0)
    assert roomy.layers.get("t3") == 0 and not roomy.paused


def test_while_something_is_held_back_the_link_is_probed_every_few_seconds() -> None:
    budget = 200_000 + 5 * 150_000 + 100_000  # the speaker's h (+250 k) does not fit
    first = run(budget)
    assert first.probe_bps is None  # nothing measured yet: no probe
    probe = run(budget, first, now=1.0)
    # what the speaker's h needs in all: audio, the video sent, its step with the margin
    assert probe.probe_bps == round((200_000 + 5 * 150_000 + round(250_000 * 1.15)) * 1.25)
    assert probe.layers == first.layers  # the probe is padding: no media changes
    assert any("speaker: layer 1 needs" in line for line in probe.trace)
    assert run(budget, probe, now=4.0).probe_bps is None  # not again before 4 s
    again = run(budget, probe, now=5.0)
    assert again.probe_bps is not None
    assert run(budget - 50_000, probe, now=5.0).probe_bps is None  # the estimate fell: no
    resumed = run(budget + 300_000, again, now=5.5)  # it climbed with the probe: spent
    assert resumed.layers["speaker"] == 1
    # a probe asks for at most twice the estimate (to climb further, the next probe)
    big = [Candidate("big", (1_200_000,), wanted=0)]
    starved = allocate(300_000, 5, big, allocate(300_000, 5, big, None, 0.0, CONFIG), 3.5, CONFIG)
    assert starved.layers == {} and starved.probe_bps == 2 * 300_000


def test_a_tile_the_link_cannot_keep_rests_longer_each_time_it_comes_back_and_fails() -> None:
    fits = 200_000 + 5 * 150_000  # every tile's lowest layer, exactly
    short = fits - 10_000  # t3 does not fit
    roomy = fits + 50_000  # t3 back, with its margin
    alloc = run(fits)
    rests = []
    now = 0.0
    for _ in range(4):  # back, then gone again at once: the link cannot keep it
        alloc = run(short, alloc, now)
        since = now
        while "t3" in alloc.paused:
            now += 0.5
            alloc = run(roomy, alloc, now)
        rests.append(now - since)
        now += 1.0
    assert rests == [3.0, 6.0, 12.0, 24.0]
    steady = run(roomy, alloc, now + 10.0)  # kept 10 s: the next pause is short again
    paused = run(short, steady, now + 10.5)
    back = run(roomy, paused, now + 13.5)
    assert "t3" in paused.paused and back.layers.get("t3") == 0
