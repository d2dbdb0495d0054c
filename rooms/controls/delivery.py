"""Who hears what: an audience resolved to participant ids, and what a departure changes for
everyone else."""

from __future__ import annotations

from rooms.command import Events
from rooms.controls.moderation import departure_effects
from rooms.controls.private_rooms import after_leaving
from rooms.model import Audience, DomainEvent, Leaders, Only, PerViewer, Session


def recipients(session: Session, audience: Audience) -> list[str]:
    """The participant ids an audience stands for, now."""
    if isinstance(audience, Only):
        return [audience.participant_id]
    admitted = session.admitted()
    if isinstance(audience, Leaders):
        return [p.id for p in admitted if p.role.leads]
    return [p.id for p in admitted]


def deliveries(session: Session, event: DomainEvent) -> list[tuple[str, dict[str, object]]]:
    """Who receives an event and what each of them gets: an event about a participant shows
    their private room only to the leaders and to themselves (rooms.model.PerViewer)."""
    ids = recipients(session, event.audience)
    if not isinstance(event, PerViewer):
        payload = event.payload()
        return [(pid, payload) for pid in ids]
    return [(pid, event.payload_for(session.participants.get(pid))) for pid in ids]


def leave(session: Session, participant_id: str, now: float) -> Events:
    """`session.leave` plus what it changes for everyone else (spotlight, hand queue)."""
    spotlight, queue = session.spotlight, session.hand_queue()
    leaving = session.participants.get(participant_id)
    left = session.leave(participant_id, now)
    if left is None or leaving is None:
        return []
    events: Events = [left, *departure_effects(session, spotlight, queue)]
    return events + after_leaving(session, leaving.room_id)  # nobody stays behind in a 1:1 room
