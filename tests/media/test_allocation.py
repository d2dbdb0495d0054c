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
    probe_headroom=0.35,
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


def test_a_held_back_step_is_probed_every_few_seconds_while_the_budget_holds() -> None:
    budget = 200_000 + 5 * 150_000 + 100_000  # the speaker's h (+250 k) does not fit
    first = run(budget)
    assert first.probing is None  # nothing measured yet: no probe
    probe = run(budget, first, now=1.0)
    assert probe.probing == "speaker" and probe.layers["speaker"] == 1
    assert any("speaker: probe to layer 1" in line for line in probe.trace)
    held = run(budget, probe, now=2.5)  # it lasts 2 s while the estimate holds
    assert held.probing == "speaker" and held.layers["speaker"] == 1
    settled = run(budget, held, now=3.0)  # the estimate did not climb: back down
    assert settled.probing is None and settled.layers["speaker"] == 0
    assert run(budget, settled, now=4.0).probing is None
    again = run(budget, settled, now=5.0)
    assert again.probing == "speaker"
    fallen = run(budget - 50_000, again, now=5.5)
    assert fallen.probing is None and fallen.layers["speaker"] == 0  # the link is full: cut
    climbed = run(budget + 300_000, again, now=5.5)  # it climbed with the probe: kept
    assert climbed.layers["speaker"] == 1 and climbed.probing is None
