"""Roles: the facilitator promotes a participant to cofacilitator, or demotes one back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from rooms.command import Command, Events, Handler
from rooms.controls.common import ParticipantId, find_target, not_facilitator, not_self
from rooms.errors import Refusal
from rooms.model import Audience, Everyone, Participant, ParticipantUpdated, Role, Session


class Promote(Command):
    action: Literal["promote"]
    target: ParticipantId


class Demote(Command):
    action: Literal["demote"]
    target: ParticipantId


RoleCommand = Promote | Demote
FACILITATOR_COMMANDS = (Promote, Demote)  # not for cofacilitators


@dataclass(frozen=True)
class RoleChanged:
    participant_id: str
    role: Role
    by: str
    name: ClassVar[str] = "role_changed"
    audience: ClassVar[Audience] = Everyone()

    def payload(self) -> dict[str, object]:
        return {"participant_id": self.participant_id, "role": self.role.value, "by": self.by}


def _on_promote(session: Session, actor: Participant, cmd: Promote, now: float) -> Events:
    target = find_target(session, cmd.target)
    if target.role is not Role.PARTICIPANT:
        raise Refusal("invalid", "already a facilitator or cofacilitator")
    return _set_role(session, actor, target, Role.COFACILITATOR)


def _on_demote(session: Session, actor: Participant, cmd: Demote, now: float) -> Events:
    target = find_target(session, cmd.target)
    not_facilitator(target)
    not_self(actor, target)
    if target.role is not Role.COFACILITATOR:
        raise Refusal("invalid", "not a cofacilitator")
    return _set_role(session, actor, target, Role.PARTICIPANT)


def _set_role(session: Session, actor: Participant, target: Participant, role: Role) -> Events:
    target.role = role
    session.sync_audio_lock(target)
    return [RoleChanged(target.id, role, actor.id), ParticipantUpdated(target)]


HANDLERS: dict[type[Command], Handler] = {
    Promote: _on_promote,
    Demote: _on_demote,
}
