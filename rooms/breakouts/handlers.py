"""The breakout handlers: prepare the plan (rooms, assignment), open it with an optional
timer, and move people while it runs. Each checks everything, then mutates."""

from __future__ import annotations

from rooms.breakouts.assignment import auto_assign
from rooms.breakouts.commands import (
    BreakoutAssign,
    BreakoutAutoAssign,
    BreakoutBroadcast,
    BreakoutChoose,
    BreakoutCloseAll,
    BreakoutCloseRoom,
    BreakoutCreate,
    BreakoutExtend,
    BreakoutHelp,
    BreakoutKeepApart,
    BreakoutMove,
    BreakoutOpen,
    BreakoutReusePrevious,
    BreakoutSetChoose,
    BreakoutVisit,
)
from rooms.breakouts.events import BroadcastMessage, RoomHelpRequested, state_events
from rooms.breakouts.timer import return_everyone, tick
from rooms.command import Command, Events, Handler
from rooms.errors import Refusal
from rooms.model import MAIN_ROOM, BreakoutRoom, Breakouts, Participant, Role, Session

ROOM_PREFIX = "b"  # breakout room ids: b1, b2, ...


def _room(breakouts: Breakouts, room_id: str, *, main_ok: bool = False) -> str:
    if main_ok and room_id == MAIN_ROOM:
        return MAIN_ROOM
    if breakouts.room(room_id) is None:
        raise Refusal("not_found", f"no breakout room {room_id[:40]!r}")
    return room_id


def _member(session: Session, pid: str) -> Participant:
    person = session.participants.get(pid)
    if person is None or not person.admitted:
        raise Refusal("not_found", "no such participant in this session")
    return person


def _require_open(breakouts: Breakouts) -> None:
    if not breakouts.is_open:
        raise Refusal("invalid", "the breakout rooms are not open")


def _require_closed(breakouts: Breakouts) -> None:
    if breakouts.is_open:
        raise Refusal("invalid", "the breakout rooms are open; close them first")


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
        raise Refusal("invalid", "leaders are not assigned; they visit rooms")
    return _place(session, person, room, now)


def _participants_in_main(session: Session) -> list[str]:
    return [p.id for p in session.admitted() if p.role is Role.PARTICIPANT]


def auto(session: Session, actor: Participant, cmd: BreakoutAutoAssign, now: float) -> Events:
    breakouts = session.breakouts
    _require_closed(breakouts)
    if not breakouts.rooms:
        raise Refusal("invalid", "create rooms first")
    seed = cmd.seed if cmd.seed is not None else int(now * 1000)
    breakouts.assignment = auto_assign(
        _participants_in_main(session), [r.id for r in breakouts.rooms], breakouts.keep_apart, seed
    )
    return state_events(session, now)


def keep_apart(session: Session, actor: Participant, cmd: BreakoutKeepApart, now: float) -> Events:
    if cmd.a == cmd.b:
        raise Refusal("invalid", "b: choose two different people")
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
        raise Refusal("invalid", "there is no previous assignment")
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
        raise Refusal("forbidden", "the facilitator assigns the rooms")
    room = _room(breakouts, cmd.room)
    if actor.role is not Role.PARTICIPANT:
        raise Refusal("invalid", "leaders visit rooms instead")
    return _place(session, actor, room, now)


def open_rooms(session: Session, actor: Participant, cmd: BreakoutOpen, now: float) -> Events:
    breakouts = session.breakouts
    _require_closed(breakouts)
    if not breakouts.rooms:
        raise Refusal("invalid", "create at least one room first")
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
    # The rooms' state first: a moved page names its room and its end time on arrival.
    return state_events(session, now) + events


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
        raise Refusal("invalid", "you are already there")
    return session.move([actor], room) + state_events(session, now)


def move(session: Session, actor: Participant, cmd: BreakoutMove, now: float) -> Events:
    _require_open(session.breakouts)
    person = _member(session, cmd.target)
    room = _room(session.breakouts, cmd.room, main_ok=True)
    if person.room_id == room:
        raise Refusal("invalid", "they are already in that room")
    return _place(session, person, room, now)


def close_room(session: Session, actor: Participant, cmd: BreakoutCloseRoom, now: float) -> Events:
    _require_open(session.breakouts)
    room = _room(session.breakouts, cmd.room)
    return return_everyone(session, {room}) + state_events(session, now)


def close_all(session: Session, actor: Participant, cmd: BreakoutCloseAll, now: float) -> Events:
    breakouts = session.breakouts
    _require_open(breakouts)
    if cmd.at_once:
        breakouts.closes_at = now
    elif breakouts.closes_at is not None:
        raise Refusal("invalid", "the rooms are already closing; bring everyone back now instead")
    else:
        breakouts.closes_at = now + breakouts.return_countdown_s
    return tick(session, now) or state_events(session, now)


def help_request(session: Session, actor: Participant, cmd: BreakoutHelp, now: float) -> Events:
    room = session.breakouts.room(actor.room_id)
    if room is None:
        raise Refusal("invalid", "you are not in a breakout room; use the help button")
    return [RoomHelpRequested(actor.id, room.id, room.name, now)]


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
