"""Balanced random assignment of people to breakout rooms, honouring keep-apart pairs."""

from __future__ import annotations

import random
from collections.abc import Callable


def auto_assign(
    people: list[str], room_ids: list[str], keep_apart: set[frozenset[str]], seed: int
) -> dict[str, str]:
    """Balanced random assignment: room sizes differ by at most one, always; keep-apart pairs
    are separated whenever a swap between rooms can do it. The same inputs and seed give the
    same result."""
    if not room_ids:
        return {}
    rng = random.Random(seed)
    order = sorted(people)
    rng.shuffle(order)
    degree = {p: sum(1 for pair in keep_apart if p in pair) for p in order}
    order.sort(key=lambda p: -degree[p])  # constrained people first (stable: shuffle breaks ties)
    rooms: dict[str, list[str]] = {r: [] for r in room_ids}

    def conflicts(person: str, members: list[str]) -> int:
        return sum(1 for other in members if frozenset((person, other)) in keep_apart)

    for person in order:
        smallest = min(len(members) for members in rooms.values())
        candidates = [r for r, members in rooms.items() if len(members) == smallest]
        least = min(conflicts(person, rooms[r]) for r in candidates)
        choice = rng.choice([r for r in candidates if conflicts(person, rooms[r]) == least])
        rooms[choice].append(person)
    while _improving_swap(rooms, conflicts):
        pass
    return {person: room for room, members in rooms.items() for person in members}


def _improving_swap(
    rooms: dict[str, list[str]], conflicts: Callable[[str, list[str]], int]
) -> bool:
    """Swap two people between rooms (sizes unchanged) if that lowers the number of
    kept-apart pairs sharing a room; False when no swap does."""

    def cost(person: str, members: list[str]) -> int:
        return conflicts(person, [m for m in members if m != person])

    for a_room in rooms.values():
        for a in [p for p in a_room if cost(p, a_room) > 0]:
            for b_room in rooms.values():
                if b_room is a_room:
                    continue
                for b in b_room:
                    a_after = [m for m in a_room if m != a] + [b]
                    b_after = [m for m in b_room if m != b] + [a]
                    before = cost(a, a_room) + cost(b, b_room)
                    if cost(b, a_after) + cost(a, b_after) < before:
                        a_room[a_room.index(a)] = b
                        b_room[b_room.index(b)] = a
                        return True
    return False
