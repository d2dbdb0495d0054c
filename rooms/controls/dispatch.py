"""The `control` command set: parsing a client body, checking the actor may send it, and the
table from command type to the feature handler that applies it."""

from __future__ import annotations

from typing import Annotated, get_args

from pydantic import Field, TypeAdapter, ValidationError

from rooms import breakouts
from rooms.command import Command as BaseCommand
from rooms.command import Events, Handler
from rooms.controls import (
    crisis,
    engagement,
    moderation,
    participation,
    private_rooms,
    roles,
    waiting_room,
)
from rooms.errors import Refusal
from rooms.model import Participant, Role, Session
from rooms.validation import describe

Command = Annotated[
    waiting_room.WaitingRoomCommand
    | moderation.ModerationCommand
    | participation.ParticipationCommand
    | private_rooms.PrivateRoomCommand
    | engagement.EngagementCommand
    | roles.RoleCommand
    | crisis.CrisisCommand
    | breakouts.BreakoutCommand,
    Field(discriminator="action"),
]
_COMMAND: TypeAdapter[Command] = TypeAdapter(Command)

HANDLERS: dict[type[BaseCommand], Handler] = {
    **waiting_room.HANDLERS,
    **moderation.HANDLERS,
    **participation.HANDLERS,
    **private_rooms.HANDLERS,
    **engagement.HANDLERS,
    **roles.HANDLERS,
    **crisis.HANDLERS,
    **breakouts.HANDLERS,
}

# what anyone admitted may do; everything else is for leaders, and these for the facilitator
PARTICIPANT_COMMANDS = (
    *participation.PARTICIPANT_COMMANDS,
    *private_rooms.PARTICIPANT_COMMANDS,
    *engagement.PARTICIPANT_COMMANDS,
    *breakouts.PARTICIPANT_COMMANDS,
)
FACILITATOR_COMMANDS = (*roles.FACILITATOR_COMMANDS, *moderation.FACILITATOR_COMMANDS)


ACTIONS = frozenset(
    str(action) for kind in HANDLERS for action in get_args(kind.model_fields["action"].annotation)
)


def audit_action(action: object) -> str:
    """The action as the audit log names it: a client's unknown string is never stored."""
    return action if isinstance(action, str) and action in ACTIONS else "unknown"


def parse_command(data: object) -> Command:
    """Validate a client body; Refusal("invalid", "<field>: <msg>") names the bad field."""
    if not isinstance(data, dict):
        raise Refusal("invalid", "the command must be an object")
    try:
        return _COMMAND.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "union_tag_not_found":
            raise Refusal("invalid", "action: Field required") from exc
        if first["type"] == "union_tag_invalid":
            raise Refusal("invalid", f"action: unknown action {data['action']!r:.40}") from exc
        # the first element of the location is the action tag
        raise Refusal("invalid", describe(exc, skip_loc=1)) from exc


def _actor(session: Session, actor_id: str) -> Participant:
    actor = session.participants.get(actor_id)
    # Unknown, removed, or still waiting: may do nothing at all (and learn nothing from why).
    if actor is None or not actor.admitted:
        raise Refusal("forbidden", "you are not in this session")
    return actor


def _authorize(actor: Participant, command: Command) -> None:
    if isinstance(command, FACILITATOR_COMMANDS):
        if actor.role is not Role.FACILITATOR:
            raise Refusal("forbidden", "only the facilitator can do that")
    elif not isinstance(command, PARTICIPANT_COMMANDS) and not actor.role.leads:
        raise Refusal("forbidden", "only facilitators can do that")


def apply(session: Session, actor_id: str, command: Command, now: float) -> Events:
    """Check and apply one command; raise Refusal with the session unchanged."""
    actor = _actor(session, actor_id)
    _authorize(actor, command)
    if session.ended_at is not None:
        raise Refusal("invalid", "the session has ended")
    return HANDLERS[type(command)](session, actor, command, now)
