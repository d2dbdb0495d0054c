"""The conversation as turns: utterances, presence as on/off intervals, and the floor's
dynamics (overlaps, interruptions, who follows whom) and balance. Pure functions over turns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Utterance:
    start: float
    end: float
    room: str

    @property
    def duration(self) -> float:
        return self.end - self.start


class Intervals:
    """On/off over time: total on-time up to `now`."""

    def __init__(self) -> None:
        self.spans: list[list[float]] = []  # [start, end]; end == inf while on

    @property
    def on(self) -> bool:
        return bool(self.spans) and math.isinf(self.spans[-1][1])

    def set(self, on: bool, at: float) -> None:
        if on and not self.on:
            self.spans.append([at, math.inf])
        elif not on and self.on:
            self.spans[-1][1] = at

    def total(self, now: float) -> float:
        return sum(max(0.0, min(end, now) - start) for start, end in self.spans)

    def since(self) -> float | None:
        return self.spans[-1][0] if self.on else None

    def without(self, holes: Intervals) -> list[list[float]]:
        """These spans with the time of `holes` cut out (end inf while on)."""
        out: list[list[float]] = []
        for start, end in self.spans:
            cursor = start
            for hole_start, hole_end in holes.spans:
                if hole_end <= cursor or hole_start >= end:
                    continue
                if hole_start > cursor:
                    out.append([cursor, hole_start])
                cursor = max(cursor, hole_end)
            if cursor < end:
                out.append([cursor, end])
        return out


# -- floor dynamics: overlaps, interruptions, who follows whom ------------------------------


@dataclass
class Floor:
    overlap_s: dict[str, float] = field(default_factory=dict)
    overlaps: dict[str, int] = field(default_factory=dict)  # own turns that overlapped someone
    interruptions: dict[str, int] = field(default_factory=dict)
    interrupted: dict[str, int] = field(default_factory=dict)
    follows: dict[str, dict[str, int]] = field(default_factory=dict)  # from -> to -> count


def floor_dynamics(speech: dict[str, list[Utterance]], takeover_s: float) -> Floor:
    """Overlaps, interruptions (a takeover within `takeover_s`) and who follows whom, per room."""
    floor = Floor()
    by_room: dict[str, list[tuple[Utterance, str]]] = {}
    for pid, turns in speech.items():
        for u in turns:
            by_room.setdefault(u.room, []).append((u, pid))
    for room_turns in by_room.values():
        room_turns.sort(key=lambda t: (t[0].start, t[1]))
        previous: str | None = None
        active: list[int] = []  # earlier turns still running at the current start
        overlapped: set[int] = set()
        for i, (u, pid) in enumerate(room_turns):
            active = [j for j in active if room_turns[j][0].end > u.start]
            for j in active:
                v, other = room_turns[j]
                if other == pid:
                    continue
                shared = min(u.end, v.end) - u.start
                floor.overlap_s[pid] = floor.overlap_s.get(pid, 0.0) + shared
                floor.overlap_s[other] = floor.overlap_s.get(other, 0.0) + shared
                overlapped.update((i, j))
                # started while the other spoke, and took the floor: they stopped soon after
                if v.start < u.start and v.end - u.start <= takeover_s and u.end > v.end:
                    floor.interruptions[pid] = floor.interruptions.get(pid, 0) + 1
                    floor.interrupted[other] = floor.interrupted.get(other, 0) + 1
            active.append(i)
            if previous is not None and previous != pid:
                row = floor.follows.setdefault(previous, {})
                row[pid] = row.get(pid, 0) + 1
            previous = pid
        for i in overlapped:
            pid = room_turns[i][1]
            floor.overlaps[pid] = floor.overlaps.get(pid, 0) + 1
    return floor


def balance_index(talk: list[float]) -> float | None:
    """Normalised Shannon entropy of talk shares: 1.0 when everyone present talks equally,
    towards 0 when one person does all the talking. None under two people or no talk."""
    total = sum(talk)
    if len(talk) < 2 or total <= 0:
        return None
    entropy = -sum((t / total) * math.log(t / total) for t in talk if t > 0)
    return round(entropy / math.log(len(talk)), 3)


def clipped_total(turns: list[Utterance], start: float, end: float) -> float:
    return sum(max(0.0, min(u.end, end) - max(u.start, start)) for u in turns)
