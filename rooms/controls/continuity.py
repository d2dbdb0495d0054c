"""Continuity: a participant whose connection drops keeps their place (id, role, room, hand,
mute, help request) for a grace period; coming back in it resumes them, with nothing said to
the group but that they are reconnecting. After it, they have left; a later return with the
same rejoin key or personal invite is the same person again (the same id)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rooms.command import Events
from rooms.controls import crisis
from rooms.controls.delivery import leave
from rooms.model import Audience, Everyone, Participant, Session


@dataclass(frozen=True)
class ParticipantReconnecting:
    """Their connection dropped; their tile says they are reconnecting."""

    participant_id: str
    at: float
    name: ClassVar[str] = "participant_reconnecting"
    audience: ClassVar[Audience] = Everyone()

    def payload(self) -> dict[str, object]:
        return {"participant_id": self.participant_id}


@dataclass(frozen=True)
class ParticipantReconnected:
    """They are connected again, as they were."""

    participant: Participant
    name: ClassVar[str] = "participant_reconnected"
    audience: ClassVar[Audience] = Everyone()

    def payload(self) -> dict[str, object]:
        return self.participant.public()

    def payload_for(self, viewer: Participant | None) -> dict[str, object]:
        return self.participant.view_for(viewer)  # their private room only to whom it concerns


def identities(rejoin_key: str | None, invite_id: str | None) -> list[str]:
    """What recognises a person on their return: their page's key, their personal invite."""
    keys = [f"key:{rejoin_key}"] if rejoin_key else []
    return keys + ([f"invite:{invite_id}"] if invite_id else [])


def returning(session: Session, rejoin_key: str | None, invite_id: str | None) -> str | None:
    """The id of the person these identities belong to: in the session (connected or away)
    or gone earlier; None for someone new. The page's key wins over the invite."""
    for identity in identities(rejoin_key, invite_id):
        for p in session.participants.values():
            if identity in identities(p.rejoin_key, p.invite_id):
                return p.id
        pid = session.returning_ids.get(identity)
        if pid is not None and pid not in session.removed:
            return pid
    return None


def disconnect(session: Session, pid: str, now: float) -> Events:
    """Their connection dropped. Someone still waiting simply leaves; an admitted participant
    keeps their place."""
    person = session.participants.get(pid)
    if person is None:
        return []
    if not person.admitted:
        return depart(session, pid, now)
    if person.disconnected_at is not None:
        return []
    person.disconnected_at = now
    return [
        ParticipantReconnecting(pid, now),
        *crisis.connection_changed(session, pid, "dropped", now),
    ]


def resume(session: Session, pid: str, now: float) -> Events:
    """They are back (a new connection with their key or invite) while still in the session."""
    person = session.participants[pid]
    if person.disconnected_at is None:
        return []
    person.disconnected_at = None
    return [
        ParticipantReconnected(person),
        *crisis.connection_changed(session, pid, "returned", now),
    ]


def lapsed(session: Session, now: float, grace_s: float) -> list[str]:
    """Who has been away longer than the grace period."""
    return [
        p.id
        for p in session.participants.values()
        if p.disconnected_at is not None and now - p.disconnected_at >= grace_s
    ]


def depart(session: Session, pid: str, now: float) -> Events:
    """They have left (by choice, or their place lapsed): remembered for a later return."""
    person = session.participants.get(pid)
    if person is not None and person.admitted and pid not in session.removed:
        for identity in identities(person.rejoin_key, person.invite_id):
            session.returning_ids[identity] = pid
    events = crisis.connection_changed(session, pid, "left", now)
    if crisis.active_crisis(session, pid) is None:
        session.safety.pop(pid, None)  # gone; a return sends it again from their page
    return events + leave(session, pid, now)
