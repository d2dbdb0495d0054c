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
   paused `resume_after_s`, twice as long each time it is paused again within `flap_window_s`
   of coming back (up to `resume_after_max_s`): a tile the link cannot keep stops trying.
4. Probing: while something is held back and the budget has not fallen since the previous
   allocation (there is one: the first never probes), every `probe_every_s` the allocation
   asks for a probe (`probe_bps`): `probe_overshoot` times the total rate the first step
   held back (not a tile resting after a pause) needs with its margin, at most
   `probe_max_factor` times the budget. The router sends that much for a moment with padding
   (probe.py), no media changes; the estimate (bandwidth_estimator.py) takes what the link
   delivered, and the next allocation spends it. A sender held back by its own allocation
   sends less than the estimate, so without probes the estimate could never show that the
   link freed up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AllocationConfig:
    audio_bps_per_stream: int = 40_000  # Opus at ~32 kbit/s with RTP, SRTP and UDP headers
    packet_overhead: float = 0.08  # a video layer's payload rate plus RTP, SRTP, UDP, IP headers
    # a layer never measured (paused from the start) is taken to cost this much per pixel
    # (2 bit/s: 640x480 at ~600 kbit/s), and at least idle_layer_min_bps
    idle_layer_bps_per_pixel: float = 2.0
    idle_layer_min_bps: int = 100_000
    up_margin: float = 0.15
    resume_after_s: float = 3.0
    resume_after_max_s: float = 30.0
    flap_window_s: float = 10.0
    probe_every_s: float = 4.0
    probe_max_factor: float = 2.0  # a probe asks the link for at most twice the estimate
    # a probe asks for more than the step needs: the estimate keeps only ~0.9 of what a probe
    # delivered (BandwidthEstimator.on_probe), and the step needs its margin on top
    probe_overshoot: float = 1.25


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
    audio_bps: int = 0  # what the audio is counted at
    probed_at: float | None = None  # when the link was last probed
    probe_bps: int | None = None  # probe the link at this total rate now (padding)
    trace: tuple[str, ...] = field(default=(), compare=False)
    # publisher -> how long its pause lasts, and when it came back, while that matters
    rest_s: dict[str, float] = field(default_factory=dict, compare=False)
    resumed_at: dict[str, float] = field(default_factory=dict, compare=False)


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
    rests: Mapping[str, float] = previous.rest_s if previous else {}
    resumed_before: Mapping[str, float] = previous.resumed_at if previous else {}

    def rest(pub: str) -> float:
        return rests.get(pub, config.resume_after_s)

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
        if since is not None and now - since < rest(pub):
            trace.append(f"{pub}: stays paused ({now - since:.1f} s of {rest(pub)} s)")
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
    probe_bps = None
    resting = {pub for pub, since in paused_before.items() if now - since < rest(pub)}
    held = [
        c
        for c in candidates
        if layers.get(c.publisher, -1) < c.wanted and c.publisher not in resting
    ]
    due = probed_at is None or now - probed_at >= config.probe_every_s
    if previous is not None and budget_bps >= previous.budget_bps and held and due:
        candidate = held[0]
        was = layers.get(candidate.publisher)
        index = 0 if was is None else was + 1
        step = candidate.layer_bps[index] - (0 if was is None else candidate.layer_bps[was])
        needed = audio_bps + used + round(step * (1 + config.up_margin))
        wanted = round(needed * config.probe_overshoot)
        probe_bps = min(wanted, round(budget_bps * config.probe_max_factor))
        probed_at = now
        trace.append(f"{candidate.publisher}: layer {index} needs {needed}: probe at {probe_bps}")
    paused = frozenset(c.publisher for c in candidates if c.publisher not in layers)
    paused_at = {pub: paused_before.get(pub, now) for pub in paused}
    resumed_at = {pub: at for pub, at in resumed_before.items() if now - at < config.flap_window_s}
    resumed_at.update((pub, now) for pub in paused_before if pub in layers)
    rest_s = {pub: rests[pub] for pub in set(paused) | set(resumed_at) if pub in rests}
    for pub in sorted(paused - set(paused_before)):
        flapped = pub in resumed_at
        rest_s[pub] = min(rest(pub) * 2, config.resume_after_max_s) if flapped else rest(pub)
        if not flapped:
            rest_s.pop(pub, None)
        trace.append(f"{pub}: paused for {rest(pub) if not flapped else rest_s[pub]} s")
    trace.append(f"video {used} bps of {room}")
    return Allocation(
        budget_bps,
        layers,
        paused,
        paused_at,
        used,
        audio_bps,
        probed_at,
        probe_bps,
        tuple(trace),
        rest_s,
        resumed_at,
    )
