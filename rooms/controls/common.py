"""What the control handlers share: the participant id field, the checks on a command's
target, and the base of events meant only for the person they are about."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from rooms.errors import Refusal
from rooms.model import Audience, Only, Participant, Role, Session

ParticipantId = Annotated[str, Field(min_length=1, max_length=64)]


class ToTarget:
    """An event meant only for the participant it is about."""

    target: str

    @property
    def audience(self) -> Audience:
        return Only(self.target)


def find_target(session: Session, target_id: str, *, admitted: bool | None = True) -> Participant:
    """The target in this session; `admitted` None accepts the waiting room too."""
    target = session.participants.get(target_id)
    if target is None:
        if target_id in session.removed:
            raise Refusal("invalid", "that participant was removed")
        raise Refusal("not_found", "no such participant in this session")
    if admitted is not None and target.admitted != admitted:
        state = "is still in the waiting room" if admitted else "is not in the waiting room"
        raise Refusal("invalid", f"that participant {state}")
    return target


def not_facilitator(target: Participant) -> None:
    if target.role is Role.FACILITATOR:
        raise Refusal("forbidden", "nobody can do that to the facilitator")


def not_self(actor: Participant, target: Participant) -> None:
    if actor.id == target.id:
        raise Refusal("forbidden", "you can't do that to yourself")
