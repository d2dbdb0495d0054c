"""Breakout rooms: prepare a plan (rooms, assignment), open it with an optional timer, move
people while it runs, and bring everyone back after a return countdown everyone sees.

Commands are part of rooms.controls' `control` action set (they are authorized there) and
handled here; `tick(session, now)` is called periodically by the server and returns the timer's
events. Rooms only say who receives whose media: moving someone never touches a connection.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import Field, field_validator, model_validator

from rooms.command import Command, ControlError, MessageText
from rooms.model import (
    MAIN_ROOM,
    Audience,
    BreakoutRoom,
    Breakouts,
    DomainEvent,
    Everyone,
    Leaders,
    Participant,
    Role,
    Session,
)

MAX_ROOMS = 50
ROOM_PREFIX = "b"  # breakout room ids: b1, b2, ...
Events = list[DomainEvent]
RoomRef = Annotated[str, Field(min_length=1, max_length=64)]


# -- commands (part of the Command union in rooms.controls, which authorizes them) ---------


class BreakoutCreate(Command):
    """Make the rooms: `count` numbered rooms, or one per name. Replaces an unopened plan."""

    action: Literal["breakout_create"]
    count: int | None = Field(default=None, ge=1, le=MAX_ROOMS)
    names: list[Annotated[str, Field(min_length=1, max_length=60)]] | None = Field(
        default=None, min_length=1, max_length=MAX_ROOMS
    )

    @model_validator(mode="after")
    def _one_of(self) -> BreakoutCreate:
        if (self.count is None) == (self.names is None):
            raise ValueError("give either count or names")
        return self


class BreakoutAssign(Command):
    """Put someone in a room (None: the main room). While open, they move at once."""

    action: Literal["breakout_assign"]
    target: RoomRef
    room: RoomRef | None


class BreakoutAutoAssign(Command):
    """Balanced random assignment of the participants, honouring keep-apart pairs."""

    action: Literal["breakout_auto_assign"]
    seed: int | None = None


class BreakoutKeepApart(Command):
    action: Literal["breakout_keep_apart"]
    a: RoomRef
    b: RoomRef
    apart: bool = True  # False forgets the pair


class BreakoutReusePrevious(Command):
    action: Literal["breakout_reuse_previous"]


class BreakoutSetChoose(Command):
    action: Literal["breakout_set_choose"]
    allowed: bool


class BreakoutChoose(Command):
    """A participant picks their room (when the leaders allow it)."""

    action: Literal["breakout_choose"]
    room: RoomRef


class BreakoutOpen(Command):
    action: Literal["breakout_open"]
    duration_s: int | None = Field(default=None, ge=30, le=4 * 3600)
    return_countdown_s: int = Field(default=60, ge=0, le=600)


class BreakoutExtend(Command):
    """Add (or, negative, take away) time while the rooms run."""

    action: Literal["breakout_extend"]
    seconds: int = Field(ge=-4 * 3600, le=4 * 3600)

    @field_validator("seconds")
    @classmethod
    def _not_zero(cls, seconds: int) -> int:
        if seconds == 0:
            raise ValueError("must not be 0")
        return seconds


class BreakoutBroadcast(Command):
    action: Literal["breakout_broadcast"]
    text: MessageText = Field(min_length=1, max_length=500)


class BreakoutVisit(Command):
    """A leader goes to a room (or back to "main"); heard and seen only there."""

    action: Literal["breakout_visit"]
    room: RoomRef


class BreakoutMove(Command):
    action: Literal["breakout_move"]
    target: RoomRef
    room: RoomRef  # a breakout room id or "main"


class BreakoutCloseRoom(Command):
    """Send one room's people back to the main room now."""

    action: Literal["breakout_close_room"]
    room: RoomRef


class BreakoutCloseAll(Command):
    """Start the return countdown for every room (at once when it is 0)."""

    action: Literal["breakout_close_all"]


class BreakoutHelp(Command):
    """Someone in a breakout room asks the leaders to come."""

    action: Literal["breakout_help"]


BreakoutCommand = (
    BreakoutCreate
    | BreakoutAssign
    | BreakoutAutoAssign
    | BreakoutKeepApart
    | BreakoutReusePrevious
    | BreakoutSetChoose
    | BreakoutChoose
    | BreakoutOpen
    | BreakoutExtend
    | BreakoutBroadcast
    | BreakoutVisit
    | BreakoutMove
    | BreakoutCloseRoom
    | BreakoutCloseAll
    | BreakoutHelp
)
COMMANDS: tuple[type[Command], ...] = get_args(BreakoutCommand)
PARTICIPANT_COMMANDS = (BreakoutChoose, BreakoutHelp)


# -- events ---------------------------------------------------------------------------------


def _remaining(at: float | None, now: float) -> float | None:
    return None if at is None else max(0.0, round(at - now, 3))


def public_view(breakouts: Breakouts, now: float) -> dict[str, object]:
    """What everyone may know: the rooms, whether they run, and the countdowns."""
    return {
        "rooms": [{"id": r.id, "name": r.name} for r in breakouts.rooms],
        "open": breakouts.is_open,
        "participants_choose": breakouts.participants_choose,
        "remaining_s": _remaining(breakouts.ends_at, now),
        "closing_in_s": _remaining(breakouts.closes_at, now),
    }


def plan_view(session: Session, now: float) -> dict[str, object]:
    """What leaders see: the public view, the plan, and who is in each room now."""
    breakouts = session.breakouts
    members: dict[str, list[str]] = {}
    for p in session.admitted():
        members.setdefault(p.room_id, []).append(p.id)
    return {
        **public_view(breakouts, now),
        "assignment": dict(breakouts.assignment),
        "keep_apart": sorted(sorted(pair) for pair in breakouts.keep_apart),
        "has_previous": bool(breakouts.previous),
        "members": members,
    }


@dataclass(frozen=True)
class BreakoutsChanged:
    """The public state, to everyone (timer and room list)."""

    view: dict[str, object]
    name: ClassVar[str] = "breakouts"
    audience: ClassVar[Audience] = Everyone()

    def payload(self) -> dict[str, object]:
        return self.view


@dataclass(frozen=True)
class BreakoutPlanChanged:
    """The whole plan and who is where, to leaders (the overview)."""

    view: dict[str, object]
    name: ClassVar[str] = "breakout_plan"
    audience: ClassVar[Audience] = Leaders()

    def payload(self) -> dict[str, object]:
        return self.view


@dataclass(frozen=True)
class BroadcastMessage:
    sender: str
    text: str
    at: float
    name: ClassVar[str] = "breakout_broadcast"
    audience: ClassVar[Audience] = Everyone()

    def payload(self) -> dict[str, object]:
        return {"from": self.sender, "text": self.text, "at": self.at}


@dataclass(frozen=True)
class RoomHelpRequested:
    participant_id: str
    room_id: str
    room_name: str
    at: float
    name: ClassVar[str] = "breakout_help_requested"
    audience: ClassVar[Audience] = Leaders()

    def payload(self) -> dict[str, object]:
        return {
            "participant_id": self.participant_id,
            "room": self.room_id,
            "room_name": self.room_name,
            "at": self.at,
        }


def state_events(session: Session, now: float) -> Events:
    return [
        BreakoutsChanged(public_view(session.breakouts, now)),
        BreakoutPlanChanged(plan_view(session, now)),
    ]


# -- assignment -----------------------------------------------------------------------------


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


# -- handlers: check everything, then mutate -----------------------------------------------


def _room(breakouts: Breakouts, room_id: str, *, main_ok: bool = False) -> str:
    if main_ok and room_id == MAIN_ROOM:
        return MAIN_ROOM
    if breakouts.room(room_id) is None:
        raise ControlError("not_found", f"no breakout room {room_id[:40]!r}")
    return room_id


def _member(session: Session, pid: str) -> Participant:
    person = session.participants.get(pid)
    if person is None or not person.admitted:
        raise ControlError("not_found", "no such participant in this session")
    return person


def _require_open(breakouts: Breakouts) -> None:
    if not breakouts.is_open:
        raise ControlError("invalid", "the breakout rooms are not open")


def _require_closed(breakouts: Breakouts) -> None:
    if breakouts.is_open:
        raise ControlError("invalid", "the breakout rooms are open; close them first")


def create(session: Session, actor: Participant, cmd: BreakoutCreate, now: float) -> Events:
    breakouts = session.breakouts
    _require_closed(breakouts)
    names = cmd.names or [f"Room {i}" for i in range(1, (cmd.count or 0) + 1)]
    breakouts.rooms = [
        BreakoutRoom(f"{ROOM_PREFIX}{i}", " ".join(name.split()) or f"Room {i}")
        for i, name in enumerate(names, start=1)
    ]
    breakouts.assignment = {
        pid: room for pid, room in breakouts.assignment.items() if breakouts.room(room)
    }
    return state_events(session, now)


def _place(session: Session, person: Participant, room_id: str, now: float) -> Events:
    """Assign; while open, move them now (rooms are only ever entered from the main room or
    another breakout room, never from a private conversation)."""
    breakouts = session.breakouts
    if room_id == MAIN_ROOM:
        breakouts.assignment.pop(person.id, None)
    else:
        breakouts.assignment[person.id] = room_id
    events: Events = []
    if breakouts.is_open and person.room_id != room_id:
        events += session.move([person], room_id)
    return events + state_events(session, now)


def assign(session: Session, actor: Participant, cmd: BreakoutAssign, now: float) -> Events:
    person = _member(session, cmd.target)
    room = _room(session.breakouts, cmd.room or MAIN_ROOM, main_ok=True)
    if person.role is not Role.PARTICIPANT:
        raise ControlError("invalid", "leaders are not assigned; they visit rooms")
    return _place(session, person, room, now)


def _participants_in_main(session: Session) -> list[str]:
    return [p.id for p in session.admitted() if p.role is Role.PARTICIPANT]


def auto(session: Session, actor: Participant, cmd: BreakoutAutoAssign, now: float) -> Events:
    breakouts = session.breakouts
    _require_closed(breakouts)
    if not breakouts.rooms:
        raise ControlError("invalid", "create rooms first")
    seed = cmd.seed if cmd.seed is not None else int(now * 1000)
    breakouts.assignment = auto_assign(
        _participants_in_main(session), [r.id for r in breakouts.rooms], breakouts.keep_apart, seed
    )
    return state_events(session, now)


def keep_apart(session: Session, actor: Participant, cmd: BreakoutKeepApart, now: float) -> Events:
    if cmd.a == cmd.b:
        raise ControlError("invalid", "b: choose two different people")
    _member(session, cmd.a)
    _member(session, cmd.b)
    pair = frozenset((cmd.a, cmd.b))
    if cmd.apart:
        session.breakouts.keep_apart.add(pair)
    else:
        session.breakouts.keep_apart.discard(pair)
    return state_events(session, now)


def reuse(session: Session, actor: Participant, cmd: BreakoutReusePrevious, now: float) -> Events:
    breakouts = session.breakouts
    _require_closed(breakouts)
    if not breakouts.previous:
        raise ControlError("invalid", "there is no previous assignment")
    present = set(_participants_in_main(session))
    breakouts.assignment = {
        pid: room
        for pid, room in breakouts.previous.items()
        if pid in present and breakouts.room(room)
    }
    return state_events(session, now)


def set_choose(session: Session, actor: Participant, cmd: BreakoutSetChoose, now: float) -> Events:
    session.breakouts.participants_choose = cmd.allowed
    return state_events(session, now)


def choose(session: Session, actor: Participant, cmd: BreakoutChoose, now: float) -> Events:
    breakouts = session.breakouts
    if not breakouts.participants_choose:
        raise ControlError("forbidden", "the facilitator assigns the rooms")
    room = _room(breakouts, cmd.room)
    if actor.role is not Role.PARTICIPANT:
        raise ControlError("invalid", "leaders visit rooms instead")
    return _place(session, actor, room, now)


def open_rooms(session: Session, actor: Participant, cmd: BreakoutOpen, now: float) -> Events:
    breakouts = session.breakouts
    _require_closed(breakouts)
    if not breakouts.rooms:
        raise ControlError("invalid", "create at least one room first")
    breakouts.opened_at = now
    breakouts.ends_at = now + cmd.duration_s if cmd.duration_s is not None else None
    breakouts.closes_at = None
    breakouts.return_countdown_s = float(cmd.return_countdown_s)
    breakouts.previous = dict(breakouts.assignment)
    events: Events = []
    for room in breakouts.rooms:
        people = [
            p
            for p in session.admitted()
            if breakouts.assignment.get(p.id) == room.id and p.room_id == MAIN_ROOM
        ]
        if people:
            events += session.move(people, room.id)
    return events + state_events(session, now)


def extend(session: Session, actor: Participant, cmd: BreakoutExtend, now: float) -> Events:
    breakouts = session.breakouts
    _require_open(breakouts)
    base = (
        breakouts.ends_at if breakouts.ends_at is not None and breakouts.closes_at is None else now
    )
    breakouts.ends_at = max(now, base + cmd.seconds)
    breakouts.closes_at = None  # more time also calls off a return countdown
    return state_events(session, now) + tick(session, now)


def broadcast(session: Session, actor: Participant, cmd: BreakoutBroadcast, now: float) -> Events:
    _require_open(session.breakouts)
    return [BroadcastMessage(actor.id, cmd.text, now)]


def visit(session: Session, actor: Participant, cmd: BreakoutVisit, now: float) -> Events:
    breakouts = session.breakouts
    _require_open(breakouts)
    room = _room(breakouts, cmd.room, main_ok=True)
    if actor.room_id == room:
        raise ControlError("invalid", "you are already there")
    return session.move([actor], room) + state_events(session, now)


def move(session: Session, actor: Participant, cmd: BreakoutMove, now: float) -> Events:
    _require_open(session.breakouts)
    person = _member(session, cmd.target)
    room = _room(session.breakouts, cmd.room, main_ok=True)
    if person.room_id == room:
        raise ControlError("invalid", "they are already in that room")
    return _place(session, person, room, now)


def _return_everyone(session: Session, room_ids: set[str]) -> Events:
    people = [p for p in session.admitted() if p.room_id in room_ids]
    return session.move(people, MAIN_ROOM) if people else []


def close_room(session: Session, actor: Participant, cmd: BreakoutCloseRoom, now: float) -> Events:
    _require_open(session.breakouts)
    room = _room(session.breakouts, cmd.room)
    return _return_everyone(session, {room}) + state_events(session, now)


def close_all(session: Session, actor: Participant, cmd: BreakoutCloseAll, now: float) -> Events:
    breakouts = session.breakouts
    _require_open(breakouts)
    if breakouts.closes_at is not None:
        raise ControlError("invalid", "the rooms are already closing")
    breakouts.closes_at = now + breakouts.return_countdown_s
    return tick(session, now) or state_events(session, now)


def help_request(session: Session, actor: Participant, cmd: BreakoutHelp, now: float) -> Events:
    room = session.breakouts.room(actor.room_id)
    if room is None:
        raise ControlError("invalid", "you are not in a breakout room; use the help button")
    return [RoomHelpRequested(actor.id, room.id, room.name, now)]


Handler = Callable[[Session, Participant, Any, float], Events]
HANDLERS: dict[type[Command], Handler] = {
    BreakoutCreate: create,
    BreakoutAssign: assign,
    BreakoutAutoAssign: auto,
    BreakoutKeepApart: keep_apart,
    BreakoutReusePrevious: reuse,
    BreakoutSetChoose: set_choose,
    BreakoutChoose: choose,
    BreakoutOpen: open_rooms,
    BreakoutExtend: extend,
    BreakoutBroadcast: broadcast,
    BreakoutVisit: visit,
    BreakoutMove: move,
    BreakoutCloseRoom: close_room,
    BreakoutCloseAll: close_all,
    BreakoutHelp: help_request,
}


# -- the timer ------------------------------------------------------------------------------


def tick(session: Session, now: float) -> Events:
    """Advance the timer: time up starts the return countdown; its end brings everyone back.
    Returns nothing when nothing changed (the server calls this every fraction of a second)."""
    breakouts = session.breakouts
    if not breakouts.is_open:
        return []
    if breakouts.closes_at is None and breakouts.ends_at is not None and now >= breakouts.ends_at:
        breakouts.closes_at = now + breakouts.return_countdown_s
        if breakouts.return_countdown_s > 0:
            return state_events(session, now)
    if breakouts.closes_at is not None and now >= breakouts.closes_at:
        events = _return_everyone(session, {r.id for r in breakouts.rooms})
        breakouts.opened_at = breakouts.ends_at = breakouts.closes_at = None
        return events + state_events(session, now)
    return []
