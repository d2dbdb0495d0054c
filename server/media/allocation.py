"""How one subscriber's downlink estimate is spent (after Jitsi Videobridge's allocation and
LiveKit's stream allocator). Pure: the estimate, the candidates, the previous allocation and
the time come in as values; every decision is written to the allocation's `trace`.

1. Audio first: every audio stream forwarded to the subscriber is counted before any video.
2. Video in priority order (the caller orders the candidates: spotlight, active speaker, then
   tiles by size): each gets its lowest layer while the budget allows, then, in the same
   order, steps up towards the layer its tile wants. Lower layers come before pausing a tile:
   a tile is paused only when its lowest layer does not fit.
3. Hysteresis: going down is at once; going up from the previous allocation (a higher layer,
   or a paused tile back) needs `up_margin` of room over its cost, and a paused tile stays
   paused `resume_after_s`.
4. Probing: while something is held back and the budget has not fallen since the previous
   allocation (there is one: the first never probes), every `probe_every_s` the first step
   held back (not a tile resting after a pause) is allowed if it exceeds the budget by at most
   `probe_headroom`, for `probe_hold_s`: the extra media is the probe, and the estimate
   (bandwidth_estimator.py) either climbs with it or falls, which ends it at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AllocationConfig:
    audio_bps_per_stream: int = 40_000  # Opus at ~32 kbit/s with RTP, SRTP and UDP headers
    up_margin: float = 0.15
    resume_after_s: float = 3.0
    probe_every_s: float = 4.0
    probe_hold_s: float = 2.0  # a probe lasts this long unless the estimate falls
    probe_headroom: float = 0.35


@dataclass(frozen=True)
class Candidate:
    """A video the subscriber's page shows: the bitrates of the publisher's available layers,
    lowest first, and the index of the layer its tile wants."""

    publisher: str
    layer_bps: tuple[int, ...]
    wanted: int


@dataclass(frozen=True)
class Allocation:
    budget_bps: int
    layers: dict[str, int]  # publisher -> index of the layer it gets (absent: no video)
    paused: frozenset[str]  # candidates with no video, for the budget
    paused_at: dict[str, float]  # publisher -> when it was paused (kept while paused)
    video_bps: int = 0  # what the allocated layers add up to
    probed_at: float | None = None  # when a probe step was last allowed
    probing: str | None = None  # the publisher whose step up is this allocation's probe
    trace: tuple[str, ...] = field(default=(), compare=False)


def allocate(
    budget_bps: int,
    audio_streams: int,
    candidates: Sequence[Candidate],
    previous: Allocation | None,
    now: float,
    config: AllocationConfig,
) -> Allocation:
    """Layer indexes for `candidates` within `budget_bps` (see the module's rules)."""
    trace: list[str] = []
    before: Mapping[str, int] = previous.layers if previous else {}
    paused_before: Mapping[str, float] = previous.paused_at if previous else {}
    audio_bps = audio_streams * config.audio_bps_per_stream
    room = budget_bps - audio_bps
    each = config.audio_bps_per_stream
    trace.append(f"budget {budget_bps} bps, audio {audio_streams} x {each}: video {room}")
    layers: dict[str, int] = {}
    used = 0

    def cost_up(candidate: Candidate, index: int) -> int:
        """What moving to `index` costs, with the margin when it is a step up from before."""
        extra = candidate.layer_bps[index] - (candidate.layer_bps[index - 1] if index else 0)
        was = before.get(candidate.publisher)
        climbing = candidate.publisher in paused_before or (was is not None and index > was)
        return round(extra * (1 + config.up_margin)) if climbing else extra

    for candidate in candidates:
        pub = candidate.publisher
        since = paused_before.get(pub)
        if since is not None and now - since < config.resume_after_s:
            trace.append(f"{pub}: stays paused ({now - since:.1f} s of {config.resume_after_s} s)")
            continue
        if used + cost_up(candidate, 0) <= room:
            layers[pub] = 0
            used += candidate.layer_bps[0]
        else:
            trace.append(
                f"{pub}: lowest layer ({candidate.layer_bps[0]}) does not fit in {room - used}"
            )
    for candidate in candidates:
        pub = candidate.publisher
        if pub not in layers:
            continue
        while layers[pub] < candidate.wanted and used + cost_up(candidate, layers[pub] + 1) <= room:
            index = layers[pub]
            used += candidate.layer_bps[index + 1] - candidate.layer_bps[index]
            layers[pub] = index + 1
        if layers[pub] < candidate.wanted:
            trace.append(f"{pub}: layer {layers[pub]} of wanted {candidate.wanted}")
    probed_at = previous.probed_at if previous else None
    probing = None
    resting = {pub for pub, since in paused_before.items() if now - since < config.resume_after_s}
    held = [
        c
        for c in candidates
        if layers.get(c.publisher, -1) < c.wanted and c.publisher not in resting
    ]
    probe: tuple[Candidate, int] | None = None
    if previous is not None and budget_bps >= previous.budget_bps and held:
        last = previous.probing
        if last is not None and probed_at is not None and now - probed_at < config.probe_hold_s:
            # the probe goes on while the estimate holds, so that it can show
            kept = next((c for c in held if c.publisher == last), None)
            if kept is not None and previous.layers.get(last, -1) > layers.get(last, -1):
                probe = (kept, previous.layers[last])
        elif probed_at is None or now - probed_at >= config.probe_every_s:
            probe = (held[0], layers.get(held[0].publisher, -1) + 1)
            probed_at = now
    if probe is not None:
        candidate, index = probe
        pub = candidate.publisher
        was = layers.get(pub)
        step = candidate.layer_bps[index] - (0 if was is None else candidate.layer_bps[was])
        if used + step <= room + budget_bps * config.probe_headroom:
            layers[pub] = index
            used += step
            probing = pub
            trace.append(f"{pub}: probe to layer {index} (+{step} bps)")
    paused = frozenset(c.publisher for c in candidates if c.publisher not in layers)
    paused_at = {pub: paused_before.get(pub, now) for pub in paused}
    for pub in sorted(paused - set(paused_before)):
        trace.append(f"{pub}: paused")
    trace.append(f"video {used} bps of {room}")
    return Allocation(budget_bps, layers, paused, paused_at, used, probed_at, probing, tuple(trace))
