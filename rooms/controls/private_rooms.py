"""Private rooms: a leader takes a participant (typically someone who asked for help) into a
1:1 room, and nobody is ever left behind in one."""

from __future__ import annotations

from typing import Literal

from rooms.command import Command, Events, Handler
from rooms.controls.common import ParticipantId, find_target, not_self
from rooms.controls.participation import away_events, resolve_help
from rooms.errors import Refusal
from rooms.model import MAIN_ROOM, PRIVATE_ROOM_PREFIX, Participant, Session


class PrivateRoom(Command):
    """Take the target (typically someone who asked for help) into a 1:1 room with the actor."""

    action: Literal["private_room"]
    target: ParticipantId


class ReturnToMain(Command):
    """Close the target's private room: everyone in it goes back to the main room. A leader may
    close any; the member it is for may end their own (one click back to the group)."""

    action: Literal["return_to_main"]
    target: ParticipantId


PrivateRoomCommand = PrivateRoom | ReturnToMain
PARTICIPANT_COMMANDS = (ReturnToMain,)  # checked again in the handler: only one's own


def _inside(session: Session, room_id: str) -> list[Participant]:
    return [p for p in session.admitted() if p.room_id == room_id]


def _move(session: Session, people: list[Participant], room_id: str) -> Events:
    """`session.move`, and what entering or leaving a 1:1 room changes for the group."""
    before = {p.id: p.away for p in people}
    return session.move(people, room_id) + away_events(session, people, before)


def _on_private_room(session: Session, actor: Participant, cmd: PrivateRoom, now: float) -> Events:
    target = find_target(session, cmd.target)
    check_aside(actor, target)
    room_id = PRIVATE_ROOM_PREFIX + target.id
    if target.room_id == room_id and actor.room_id == room_id:
        raise Refusal("invalid", "you are already in a private room with them")
    return take_aside(session, actor, target)


def check_aside(actor: Participant, target: Participant) -> None:
    """May `actor` take `target` into a 1:1 room (refused before anything changes)."""
    not_self(actor, target)
    if target.role.leads:
        raise Refusal("invalid", "private rooms are for participants")


def take_aside(session: Session, actor: Participant, target: Participant) -> Events:
    """The target and the actor into the target's 1:1 room (nothing when already there)."""
    room_id = PRIVATE_ROOM_PREFIX + target.id
    if target.room_id == room_id and actor.room_id == room_id:
        return []
    events = _move(session, [target, actor], room_id)
    if target.help_requested_at is not None:  # answering the call resolves it
        events += resolve_help(target, actor)
    return events


def _on_return_to_main(
    session: Session, actor: Participant, cmd: ReturnToMain, now: float
) -> Events:
    target = find_target(session, cmd.target)
    if not actor.role.leads and target.id != actor.id:
        raise Refusal("forbidden", "only facilitators can do that")
    room_id = PRIVATE_ROOM_PREFIX + target.id
    inside = _inside(session, room_id)
    if not inside:
        raise Refusal("invalid", "that participant is not in a private room")
    return _move(session, inside, MAIN_ROOM)


def after_leaving(session: Session, room_id: str) -> Events:
    """Someone left from `room_id`: if it was a 1:1 room, whoever stayed goes back to main."""
    if not room_id.startswith(PRIVATE_ROOM_PREFIX):
        return []
    return _move(session, _inside(session, room_id), MAIN_ROOM)


HANDLERS: dict[type[Command], Handler] = {
    PrivateRoom: _on_private_room,
    ReturnToMain: _on_return_to_main,
}
