"""The waiting room: the leaders hear who knocks, and admit or deny them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import Field

from rooms.command import Command, Events, Handler
from rooms.controls.common import (
    ParticipantId,
    ToTarget,
    find_target,
    not_facilitator,
)
from rooms.errors import Refusal
from rooms.model import (
    Audience,
    DomainEvent,
    Everyone,
    Leaders,
    Participant,
    ParticipantJoined,
    Session,
)

# -- commands -------------------------------------------------------------------------------


class Admit(Command):
    action: Literal["admit"]
    target: ParticipantId


class AdmitAll(Command):
    action: Literal["admit_all"]


class Deny(Command):
    action: Literal["deny"]
    target: ParticipantId
    message: str | None = Field(default=None, max_length=200)


WaitingRoomCommand = Admit | AdmitAll | Deny


# -- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantWaiting:
    participant: dict[str, object]
    name: ClassVar[str] = "participant_waiting"
    audience: ClassVar[Audience] = Leaders()

    def payload(self) -> dict[str, object]:
        return self.participant


@dataclass(frozen=True)
class ParticipantAdmitted:
    participant: Participant
    name: ClassVar[str] = "participant_admitted"
    audience: ClassVar[Audience] = Everyone()  # evaluated after admission: includes them

    def payload(self) -> dict[str, object]:
        return self.participant.public()

    def payload_for(self, viewer: Participant | None) -> dict[str, object]:
        return self.participant.view_for(viewer)


@dataclass(frozen=True)
class ParticipantDenied(ToTarget):
    target: str
    message: str | None
    name: ClassVar[str] = "participant_denied"

    def payload(self) -> dict[str, object]:
        return {"message": self.message}


def events_for_join(session: Session, joined: ParticipantJoined) -> Events:
    """What to announce after `session.join`: the group hears of admitted joiners only; a
    waiting participant is announced to the leaders."""
    if joined.participant.admitted:
        return [joined]
    return [ParticipantWaiting(knock_view(joined.participant))]


def knock_view(person: Participant) -> dict[str, object]:
    """Someone waiting as the leaders see them: a personal link's second device, and a leader's
    link with no account (admitting them makes them a leader), say so."""
    view = person.public()
    # which link knocked: a member's personal invite (by its label) or the general link
    view["invite"] = person.invite_label or None
    if person.another_device_of is not None:
        view["notice"] = f"{person.display_name} is joining again from another device"
    elif person.role.leads:
        view["notice"] = f"{person.display_name} is waiting to join as a co-facilitator"
    return view


# -- handlers -------------------------------------------------------------------------------


def _admit(session: Session, target: Participant) -> DomainEvent:
    session.check_room(target.role, admitted=True)
    target.admitted = True
    if target.rejoin_key_hash is not None:
        session.readmit_keys.add(target.rejoin_key_hash)
    return ParticipantAdmitted(target)


def _on_admit(session: Session, actor: Participant, cmd: Admit, now: float) -> Events:
    return [_admit(session, find_target(session, cmd.target, admitted=False))]


def _on_admit_all(session: Session, actor: Participant, cmd: AdmitAll, now: float) -> Events:
    room = session.max_participants - len(session.admitted())
    waiting = session.waiting()
    if waiting and room <= 0:
        raise Refusal("full", f"this session is full ({session.max_participants} people)")
    return [_admit(session, p) for p in waiting[: max(room, 0)]]


def _on_deny(session: Session, actor: Participant, cmd: Deny, now: float) -> Events:
    target = find_target(session, cmd.target, admitted=None)
    not_facilitator(target)
    if target.admitted:
        raise Refusal("invalid", "that participant is not in the waiting room")
    left = session.leave(target.id, now)
    session.removed.add(target.id)
    assert left is not None
    return [ParticipantDenied(target.id, cmd.message), left]


HANDLERS: dict[type[Command], Handler] = {
    Admit: _on_admit,
    AdmitAll: _on_admit_all,
    Deny: _on_deny,
}
