"""Which video each subscriber gets, at which simulcast layer, and which layers nobody watches.
Pure: the page's tiles, the active speaker, link levels and the time come in as values.

- Last-N: a subscriber gets video only for the tiles its page shows (audio is not chosen here:
  everyone gets everyone's audio).
- Layer: the smallest layer covering the tile's device pixels; the active speaker at the top
  layer; one layer lower on a poor downstream link, no video on a lost one; then, if the
  subscriber's bandwidth estimate is given, layers step down (largest tiles first, the speaker
  last) and finally tiles go dark until the rest fits.
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


@dataclass(frozen=True)
class SelectionConfig:
    keyframe_retry_s: float = 1.0  # ask again when a wanted layer's keyframe has not come


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


def choose_layers(
    view: View, speaker: str | None, layers: Mapping[str, Sequence[Layer]]
) -> dict[str, str]:
    """Publisher -> rid of the layer this subscriber should get; publishers left out get no
    video. `layers` holds each publisher's available (not failed) layers."""
    if view.downstream == Level.LOST:
        return {}
    picks: dict[str, tuple[list[Layer], int]] = {}  # publisher -> (its layers, chosen index)
    for tile in view.tiles:
        available = ordered(layers.get(tile.publisher, ()))
        if tile.publisher == view.subscriber or not available or tile.publisher in picks:
            continue
        index = len(available) - 1 if tile.publisher == speaker else fitting_layer(available, tile)
        if view.downstream == Level.POOR:
            index = max(0, index - 1)
        picks[tile.publisher] = (available, index)
    if view.budget_bps is not None:
        _fit_budget(picks, speaker, view.budget_bps)
    return {pub: available[index].rid for pub, (available, index) in picks.items()}


def _fit_budget(
    picks: dict[str, tuple[list[Layer], int]], speaker: str | None, budget_bps: int
) -> None:
    """Step the largest non-speaker layers down, then the speaker's, then drop non-speaker
    tiles (the last shown first) until the sum of bitrates fits."""

    def total() -> int:
        return sum(available[index].bitrate_bps for available, index in picks.values())

    while total() > budget_bps:
        lowerable = [pub for pub, (_, index) in picks.items() if index > 0]
        others = [pub for pub in lowerable if pub != speaker]
        if lowerable:
            pub = max(others or lowerable, key=lambda p: picks[p][0][picks[p][1]].bitrate_bps)
            available, index = picks[pub]
            picks[pub] = (available, index - 1)
            continue
        droppable = [pub for pub in picks if pub != speaker]
        if not droppable:
            return  # the speaker's lowest layer alone: keep it rather than show nothing
        del picks[droppable[-1]]


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
) -> RoomPlan:
    """Every subscriber's wanted layers from its view (`speakers`: subscriber -> the active
    speaker of its room), the layers to pause and the keyframes to ask for (every switch
    waiting for one is marked as asked at `now`). Pairs that end with no video either way are
    dropped from the switches."""
    chosen: dict[tuple[str, str], str] = {}
    for view in views:
        speaker = speakers.get(view.subscriber)
        for publisher, rid in choose_layers(view, speaker, layers).items():
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
    return RoomPlan(updated, unwatched_layers(layers, updated.items()), keyframes)
