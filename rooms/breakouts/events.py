"""What the breakout rooms tell people: the public view and the leaders' plan (sent whole on
every change), broadcasts, and calls for help from a room."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rooms.command import Events
from rooms.model import Audience, Breakouts, Everyone, Leaders, Session


def _remaining(at: float | None, now: float) -> float | None:
    return None if at is None else max(0.0, round(at - now, 3))


def public_view(breakouts: Breakouts, now: float) -> dict[str, object]:
    """What everyone may know: the rooms, whether they run, and the countdowns."""
    return {
        "rooms": [{"id": r.id, "name": r.name} for r in breakouts.rooms],
        "open": breakouts.is_open,
        "participants_choose": breakouts.participants_choose,
        "remaining_s": _remaining(breakouts.ends_at, now),
        "closing_in_s": _remaining(breakouts.closes_at, now),
    }


def plan_view(session: Session, now: float) -> dict[str, object]:
    """What leaders see: the public view, the plan, and who is in each room now."""
    breakouts = session.breakouts
    members: dict[str, list[str]] = {}
    for p in session.admitted():
        members.setdefault(p.room_id, []).append(p.id)
    return {
        **public_view(breakouts, now),
        "assignment": dict(breakouts.assignment),
        "keep_apart": sorted(sorted(pair) for pair in breakouts.keep_apart),
        "has_previous": bool(breakouts.previous),
        "members": members,
    }


@dataclass(frozen=True)
class BreakoutsChanged:
    """The public state, to everyone (timer and room list)."""

    view: dict[str, object]
    name: ClassVar[str] = "breakouts"
    audience: ClassVar[Audience] = Everyone()

    def payload(self) -> dict[str, object]:
        return self.view


@dataclass(frozen=True)
class BreakoutPlanChanged:
    """The whole plan and who is where, to leaders (the overview)."""

    view: dict[str, object]
    name: ClassVar[str] = "breakout_plan"
    audience: ClassVar[Audience] = Leaders()

    def payload(self) -> dict[str, object]:
        return self.view


@dataclass(frozen=True)
class BroadcastMessage:
    sender: str
    text: str
    at: float
    name: ClassVar[str] = "breakout_broadcast"
    audience: ClassVar[Audience] = Everyone()

    def payload(self) -> dict[str, object]:
        return {"from": self.sender, "text": self.text, "at": self.at}


@dataclass(frozen=True)
class RoomHelpRequested:
    participant_id: str
    room_id: str
    room_name: str
    at: float
    name: ClassVar[str] = "breakout_help_requested"
    audience: ClassVar[Audience] = Leaders()

    def payload(self) -> dict[str, object]:
        return {
            "participant_id": self.participant_id,
            "room": self.room_id,
            "room_name": self.room_name,
            "at": self.at,
        }


def state_events(session: Session, now: float) -> Events:
    return [
        BreakoutsChanged(public_view(session.breakouts, now)),
        BreakoutPlanChanged(plan_view(session, now)),
    ]
