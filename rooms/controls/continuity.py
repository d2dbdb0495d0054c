"""Continuity: a participant whose connection drops keeps their place (id, role, room, hand,
mute, help request) for a grace period; coming back in it resumes them, with nothing said to
the group but that they are reconnecting. After it, they have left; a later return with the
same rejoin key (through the same link) or personal invite is the same person again (the same
id). Only the page's key resumes a seat someone is in: the invite alone is another device."""

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


def identities(key_hash: str | None, invite_id: str | None, link: str) -> list[str]:
    """What recognises a person on their return: their page's key (only through the link the
    seat was made with), their personal invite."""
    keys = [f"key:{link}:{key_hash}"] if key_hash else []
    return keys + ([f"invite:{invite_id}"] if invite_id else [])


@dataclass(frozen=True)
class Seat:
    """Whose seat a join claims, and how it was recognised."""

    participant_id: str
    present: bool  # in the session now (connected or away); False: gone earlier
    by_key: bool  # by the page's key through the same link: the same device


def recognise(
    session: Session, key_hash: str | None, invite_id: str | None, link: str
) -> Seat | None:
    """The seat these identities belong to: in the session (connected or away) or gone
    earlier; None for someone new. The page's key wins over the invite."""
    for identity in identities(key_hash, invite_id, link):
        by_key = identity.startswith("key:")
        for p in session.participants.values():
            if identity in identities(p.rejoin_key_hash, p.invite_id, p.link):
                return Seat(p.id, present=True, by_key=by_key)
        pid = session.returning_ids.get(identity)
        if pid is not None and pid not in session.removed:
            return Seat(pid, present=pid in session.participants, by_key=by_key)
    return None


def claimed_elsewhere(session: Session, key_hash: str | None, link: str) -> bool:
    """Whether the key is a seat's made with another link (a participant link presenting a
    leader's key, a general invite presenting a personal one's)."""
    if key_hash is None:
        return False
    seats = [p for p in session.participants.values() if p.rejoin_key_hash == key_hash]
    gone = [i for i in session.returning_ids if i.startswith("key:") and i.endswith(key_hash)]
    return any(p.link != link for p in seats) or any(i != f"key:{link}:{key_hash}" for i in gone)


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
        for identity in identities(person.rejoin_key_hash, person.invite_id, person.link):
            session.returning_ids[identity] = pid
    events = crisis.connection_changed(session, pid, "left", now)
    if crisis.active_crisis(session, pid) is None:
        session.safety.pop(pid, None)  # gone; a return sends it again from their page
    return events + leave(session, pid, now)
