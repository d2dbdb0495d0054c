"""Which video each subscriber gets, at which simulcast layer, and which layers nobody watches.
Pure: the page's tiles, the active speaker, link levels and the time come in as values.

- Last-N: a subscriber gets video only for the tiles its page shows (audio is not chosen here:
  everyone gets everyone's audio).
- Layer: the smallest layer covering the tile's device pixels; the spotlight and the active
  speaker at the top layer; one layer lower on a poor downstream link, no video on a lost one;
  then, if the subscriber's bandwidth estimate is given, `allocation.allocate` spends it: audio
  first, lower layers before pausing tiles, the spotlight, the speaker and the largest tiles
  first, with hysteresis and probing (its trace says why).
- Switching: each (subscriber, publisher) pair has a `Switch`: the layer forwarded now and the
  layer wanted. Simulcast layers are independent streams, so a switch to another layer (or from
  no video) takes effect only at a keyframe of the wanted layer; turning video off is at once.
- Pausing: a publisher's layers that no subscriber forwards or waits for are paused at the
  publisher, so a large room sends and forwards only what is watched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from rooms.quality import Level
from server.media.allocation import Allocation, AllocationConfig, Candidate, allocate


@dataclass(frozen=True)
class Layer:
    """One simulcast encoding of a publisher's camera ("q", "h", "f": quarter, half, full)."""

    rid: str
    width: int
    height: int
    bitrate_bps: int


@dataclass(frozen=True)
class Tile:
    """A tile a subscriber's page shows, at its size in device pixels."""

    publisher: str
    width: int
    height: int


@dataclass(frozen=True)
class View:
    """What one subscriber's page shows and how its downstream link fares."""

    subscriber: str
    tiles: tuple[Tile, ...]
    downstream: Level | None = None  # None: not judged yet, treated as good
    budget_bps: int | None = None  # the downstream bandwidth estimate, when there is one
    audio_streams: int = 0  # the audio forwarded to it, which the budget carries first


@dataclass(frozen=True)
class SelectionConfig:
    keyframe_retry_s: float = 1.0  # ask again when a wanted layer's keyframe has not come
    allocation: AllocationConfig = field(default_factory=AllocationConfig)  # spending budgets


def ordered(layers: Sequence[Layer]) -> list[Layer]:
    """Lowest resolution first; layers of one resolution in the order given (a browser's, low
    to high: at start-up Chromium may send its top layer at the lower one's size)."""
    return sorted(layers, key=lambda layer: layer.width * layer.height)


def fitting_layer(layers: Sequence[Layer], tile: Tile) -> int:
    """Index (in `ordered` layers) of the smallest layer covering the tile in both dimensions;
    the top layer when none does."""
    for index, layer in enumerate(layers):
        if layer.width >= tile.width and layer.height >= tile.height:
            return index
    return len(layers) - 1


def layer_cost_bps(layer: Layer, config: AllocationConfig) -> int:
    """What forwarding `layer` takes: the rate it sends at, with the packets' headers; while it
    sends nothing (paused at the publisher, or just started) a guess from its size."""
    if layer.bitrate_bps > 0:
        return round(layer.bitrate_bps * (1 + config.packet_overhead))
    pixels = layer.width * layer.height
    return max(config.idle_layer_min_bps, round(pixels * config.idle_layer_bps_per_pixel))


def choose_layers(
    view: View,
    speaker: str | None,
    layers: Mapping[str, Sequence[Layer]],
    spotlight: str | None = None,
) -> dict[str, str]:
    """Publisher -> rid of the layer this subscriber should get; publishers left out get no
    video. `layers` holds each publisher's available (not failed) layers."""
    return plan_view(view, speaker, layers, spotlight, None, 0.0)[0]


def plan_view(
    view: View,
    speaker: str | None,
    layers: Mapping[str, Sequence[Layer]],
    spotlight: str | None,
    previous: Allocation | None,
    now: float,
    config: AllocationConfig | None = None,
) -> tuple[dict[str, str], Allocation | None]:
    """`choose_layers`, with the subscriber's budget (when it has one) spent by `allocate`
    over its tiles in priority order: the spotlight, the active speaker, then by size."""
    if view.downstream == Level.LOST:
        return {}, None
    picks: dict[str, tuple[list[Layer], int]] = {}  # publisher -> (its layers, chosen index)
    for tile in view.tiles:
        available = ordered(layers.get(tile.publisher, ()))
        if tile.publisher == view.subscriber or not available or tile.publisher in picks:
            continue
        top = tile.publisher in (speaker, spotlight)
        index = len(available) - 1 if top else fitting_layer(available, tile)
        if view.downstream == Level.POOR:
            index = max(0, index - 1)
        picks[tile.publisher] = (available, index)
    if view.budget_bps is None:
        return {pub: available[index].rid for pub, (available, index) in picks.items()}, None
    areas = {tile.publisher: tile.width * tile.height for tile in view.tiles}

    def priority(pub: str) -> tuple[bool, bool, int]:
        return (pub != spotlight, pub != speaker, -areas.get(pub, 0))

    cost = config or AllocationConfig()
    candidates = [
        Candidate(pub, tuple(layer_cost_bps(layer, cost) for layer in available), index)
        for pub, (available, index) in sorted(picks.items(), key=lambda item: priority(item[0]))
    ]
    allocation = allocate(view.budget_bps, view.audio_streams, candidates, previous, now, cost)
    chosen = {pub: picks[pub][0][index].rid for pub, index in allocation.layers.items()}
    return chosen, allocation


@dataclass(frozen=True)
class Switch:
    """One subscriber's video from one publisher: the layer forwarded now and the one wanted
    (None: no video). While they differ, `current` keeps flowing until a keyframe of `wanted`."""

    current: str | None = None
    wanted: str | None = None
    keyframe_asked_at: float | None = None  # when a keyframe of `wanted` was last requested

    @property
    def pending(self) -> bool:
        return self.wanted != self.current


def want(switch: Switch, rid: str | None) -> Switch:
    """Aim at layer `rid`. Turning video off, or back to the layer flowing, settles at once."""
    if rid == switch.wanted and switch.pending:
        return switch  # already waiting for that keyframe
    if rid is None or rid == switch.current:
        return Switch(current=rid, wanted=rid)
    return Switch(current=switch.current, wanted=rid)


def on_packet(switch: Switch, rid: str, keyframe: bool) -> Switch:
    """A packet of layer `rid` arrived (`keyframe`: it starts a keyframe): the pending switch
    takes effect when it is the wanted layer's keyframe."""
    if switch.pending and rid == switch.wanted and keyframe:
        return Switch(current=rid, wanted=rid)
    return switch


def forwards(switch: Switch, rid: str) -> bool:
    """Whether a packet of layer `rid` goes to this subscriber (after `on_packet`)."""
    return switch.current == rid


def keyframe_due(switch: Switch, now: float, config: SelectionConfig) -> bool:
    """A pending switch whose keyframe was never asked for, or not for `keyframe_retry_s`."""
    if not switch.pending or switch.wanted is None:
        return False
    asked = switch.keyframe_asked_at
    return asked is None or now - asked >= config.keyframe_retry_s


@dataclass
class RoomPlan:
    """The outcome of `plan_room`."""

    switches: dict[tuple[str, str], Switch]  # (subscriber, publisher) -> switch
    paused: dict[str, frozenset[str]]  # publisher -> rids to pause at the publisher
    keyframes: set[tuple[str, str]] = field(default_factory=set)  # (publisher, rid) to request
    allocations: dict[str, Allocation] = field(default_factory=dict)  # subscriber -> its budget's


def unwatched_layers(
    layers: Mapping[str, Sequence[Layer]], switches: Iterable[tuple[tuple[str, str], Switch]]
) -> dict[str, frozenset[str]]:
    """Publisher -> its layers that no subscriber gets now or waits for."""
    in_use: dict[str, set[str]] = {}
    for (_, publisher), switch in switches:
        for rid in (switch.current, switch.wanted):
            if rid is not None:
                in_use.setdefault(publisher, set()).add(rid)
    return {
        publisher: frozenset(layer.rid for layer in available) - in_use.get(publisher, set())
        for publisher, available in layers.items()
    }


def plan_room(
    views: Iterable[View],
    speakers: Mapping[str, str],
    layers: Mapping[str, Sequence[Layer]],
    switches: Mapping[tuple[str, str], Switch],
    now: float,
    config: SelectionConfig,
    spotlight: str | None = None,
    allocations: Mapping[str, Allocation] | None = None,
) -> RoomPlan:
    """Every subscriber's wanted layers from its view (`speakers`: subscriber -> the active
    speaker of its room), the layers to pause and the keyframes to ask for (every switch
    waiting for one is marked as asked at `now`). Pairs that end with no video either way are
    dropped from the switches."""
    chosen: dict[tuple[str, str], str] = {}
    allocated: dict[str, Allocation] = {}
    for view in views:
        speaker = speakers.get(view.subscriber)
        previous = (allocations or {}).get(view.subscriber)
        picks, allocation = plan_view(
            view, speaker, layers, spotlight, previous, now, config.allocation
        )
        if allocation is not None:
            allocated[view.subscriber] = allocation
        for publisher, rid in picks.items():
            chosen[(view.subscriber, publisher)] = rid
    updated: dict[tuple[str, str], Switch] = {}
    for pair in set(switches) | set(chosen):
        switch = want(switches.get(pair, Switch()), chosen.get(pair))
        if switch.current is not None or switch.wanted is not None:
            updated[pair] = switch
    keyframes: set[tuple[str, str]] = set()
    for (_, publisher), switch in updated.items():
        if keyframe_due(switch, now, config) and switch.wanted is not None:
            keyframes.add((publisher, switch.wanted))
    for pair, switch in updated.items():  # one request serves everyone waiting for it
        if switch.pending and (pair[1], switch.wanted) in keyframes:
            updated[pair] = replace(switch, keyframe_asked_at=now)
    return RoomPlan(updated, unwatched_layers(layers, updated.items()), keyframes, allocated)
