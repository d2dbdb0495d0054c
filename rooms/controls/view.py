"""The session as one participant may see it."""

from __future__ import annotations

from rooms import breakouts
from rooms.controls import crisis, participation
from rooms.controls.waiting_room import knock_view
from rooms.model import Session


def snapshot(session: Session, viewer_id: str, now: float) -> dict[str, object]:
    """The session as one participant may see it: for the join reply, on admission and on
    promotion. Leaders also see the waiting room, open help requests and the breakout plan."""
    viewer = session.participants.get(viewer_id)
    state: dict[str, object] = {
        "session": {"id": session.id, "title": session.title},
        "participants": [p.view_for(viewer) for p in session.admitted()],
        "hand_queue": participation.hand_queue_changed(session).payload_for(viewer)["queue"],
        "spotlight": session.spotlight,
        "locked": session.locked,
        "participants_may_unmute": session.participants_may_unmute,
        "private_chat_allowed": session.private_chat_allowed,
        "ended": session.ended_at is not None,
        "breakouts": breakouts.public_view(session.breakouts, now),
        **crisis.view(session, viewer),
    }
    if viewer is not None and viewer.role.leads:
        state["waiting"] = [knock_view(p) for p in session.waiting()]
        state["help_requests"] = [
            {"participant_id": p.id, "at": p.help_requested_at}
            for p in session.participants.values()
            if p.help_requested_at is not None
        ]
        state["breakout_plan"] = breakouts.plan_view(session, now)
    return state
