"""Who hears what: an audience resolved to participant ids, and what a departure changes for
everyone else."""

from __future__ import annotations

from rooms.command import Events
from rooms.controls.moderation import departure_effects
from rooms.controls.private_rooms import after_leaving
from rooms.model import Audience, Leaders, Only, Session


def recipients(session: Session, audience: Audience) -> list[str]:
    """The participant ids an audience stands for, now."""
    if isinstance(audience, Only):
        return [audience.participant_id]
    admitted = session.admitted()
    if isinstance(audience, Leaders):
        return [p.id for p in admitted if p.role.leads]
    return [p.id for p in admitted]


def leave(session: Session, participant_id: str, now: float) -> Events:
    """`session.leave` plus what it changes for everyone else (spotlight, hand queue)."""
    spotlight, queue = session.spotlight, session.hand_queue()
    leaving = session.participants.get(participant_id)
    left = session.leave(participant_id, now)
    if left is None or leaving is None:
        return []
    events: Events = [left, *departure_effects(session, spotlight, queue)]
    return events + after_leaving(session, leaving.room_id)  # nobody stays behind in a 1:1 room
