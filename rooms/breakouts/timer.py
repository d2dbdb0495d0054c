"""The breakout timer: time up starts the return countdown; its end brings everyone back."""

from __future__ import annotations

from rooms.breakouts.events import state_events
from rooms.command import Events
from rooms.model import MAIN_ROOM, Session


def return_everyone(session: Session, room_ids: set[str]) -> Events:
    """Move everyone in these rooms back to the main room."""
    people = [p for p in session.admitted() if p.room_id in room_ids]
    return session.move(people, MAIN_ROOM) if people else []


def tick(session: Session, now: float) -> Events:
    """Advance the timer: time up starts the return countdown; its end brings everyone back.
    Returns nothing when nothing changed (the server calls this every fraction of a second)."""
    breakouts = session.breakouts
    if not breakouts.is_open:
        return []
    if breakouts.closes_at is None and breakouts.ends_at is not None and now >= breakouts.ends_at:
        breakouts.closes_at = now + breakouts.return_countdown_s
        if breakouts.return_countdown_s > 0:
            return state_events(session, now)
    if breakouts.closes_at is not None and now >= breakouts.closes_at:
        events = return_everyone(session, {r.id for r in breakouts.rooms})
        breakouts.opened_at = breakouts.ends_at = breakouts.closes_at = None
        return events + state_events(session, now)
    return []
