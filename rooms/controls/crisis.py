"""Crisis readiness: the safety check a participant gives at join (seen by leaders only, on
request), and the crisis response: one click takes the person into a 1:1 room with the leader
who pressed it, shows that leader where they are and whom to call, starts a timestamped record,
and holds the group (a co-leader is handed it, or the group sees a calm message and may be
muted together). Nothing the group receives says who is in crisis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import Field

from rooms.command import Command, Events, Handler, MessageText
from rooms.controls.common import ParticipantId, find_target
from rooms.controls.moderation import mute_room
from rooms.controls.private_rooms import check_aside, take_aside
from rooms.crisis_state import HOLDING_MESSAGE, Crisis, Holding, SafetyInfo
from rooms.emergency import numbers_for
from rooms.errors import Refusal
from rooms.model import MAIN_ROOM, Audience, Everyone, Leaders, Only, Participant, Session
from rooms.validation import clean_text

LEADING_MESSAGE = "You are now leading the group"

# -- commands (all for leaders only: none is in PARTICIPANT_COMMANDS) ---------------------------


class SafetyView(Command):
    """Show the actor a participant's safety check (audited like every control)."""

    action: Literal["safety_view"]
    target: ParticipantId


class CrisisStart(Command):
    action: Literal["crisis_start"]
    target: ParticipantId
    # with no co-leader to hand the group to: what the group sees meanwhile, and whether the
    # group is muted together
    hold_message: MessageText | None = Field(default=None, max_length=300)
    mute_group: bool = False


class CrisisNote(Command):
    action: Literal["crisis_note"]
    target: ParticipantId  # the person the crisis response is for
    kind: Literal["note", "called_emergency", "contacted_contact"] = "note"
    note: str = Field(default="", max_length=2000)


class CrisisEnd(Command):
    action: Literal["crisis_end"]
    target: ParticipantId
    note: str = Field(default="", max_length=2000)


CrisisCommand = SafetyView | CrisisStart | CrisisNote | CrisisEnd

# -- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SafetyShown:
    """A participant's safety check, to the one leader who asked (or started a response)."""

    viewer: str
    participant_id: str
    info: SafetyInfo | None
    name: ClassVar[str] = "safety_info"

    @property
    def audience(self) -> Audience:
        return Only(self.viewer)

    def payload(self) -> dict[str, object]:
        given = self.info is not None
        info = self.info or SafetyInfo("")
        return {
            "participant_id": self.participant_id,
            "given": given,
            **info.payload(),
            **numbers_for(info.location),
        }


@dataclass(frozen=True)
class CrisisChanged:
    """A crisis record as it is now, to the leaders (emit at once: read from the live one)."""

    crisis: Crisis
    name: ClassVar[str] = "crisis_updated"
    audience: ClassVar[Audience] = Leaders()

    def payload(self) -> dict[str, object]:
        return self.crisis.payload()


@dataclass(frozen=True)
class GroupHandedOver:
    """To the co-leader who now leads the group while the crisis response goes on."""

    target: str
    by: str
    name: ClassVar[str] = "group_handed_over"

    @property
    def audience(self) -> Audience:
        return Only(self.target)

    def payload(self) -> dict[str, object]:
        return {"by": self.by, "message": LEADING_MESSAGE}


@dataclass(frozen=True)
class GroupHeld:
    """The group's holding message (None: the facilitator is back). Names nobody."""

    message: str | None
    since: float | None
    name: ClassVar[str] = "group_held"
    audience: ClassVar[Audience] = Everyone()

    def payload(self) -> dict[str, object]:
        return {"message": self.message, "since": self.since}


@dataclass(frozen=True)
class CrisisAlert:
    """A member in a crisis response dropped (or left): where they were and whom to call."""

    participant_id: str
    kind: str  # "dropped" or "left"
    at: float
    info: SafetyInfo | None
    name: ClassVar[str] = "crisis_alert"
    audience: ClassVar[Audience] = Leaders()

    def payload(self) -> dict[str, object]:
        info = self.info or SafetyInfo("")
        return {
            "participant_id": self.participant_id,
            "kind": self.kind,
            "at": self.at,
            **info.payload(),
        }


# -- the safety check -----------------------------------------------------------------------


def give_safety(
    session: Session, pid: str, location: str, name: str, phone: str, now: float
) -> Events:
    """Keep what a participant gave at join (in memory only), cleaned and bounded; nothing
    when they gave nothing (leaders then see "not given" and can ask). During their crisis
    response the answers the leaders act on stay: a different one is a new entry in the
    record (`safety_updated`), never a silent replacement."""
    if not session.safety_check or pid not in session.participants:
        return []
    info = SafetyInfo(
        clean_text(location)[:300], clean_text(name)[:100], clean_text(phone)[:40], now
    )
    if not (info.location or info.contact_name or info.contact_phone):
        return []
    crisis, held = active_crisis(session, pid), session.safety.get(pid)
    if crisis is None or held is None:
        session.safety[pid] = info
        return []
    if (held.location, held.contact_name, held.contact_phone) == (
        info.location,
        info.contact_name,
        info.contact_phone,
    ):
        return []
    # the entry says that they changed, the answers go to the record (saved state never has them)
    session.safety_updates.setdefault(pid, []).append(info)
    crisis.note(now, "safety_updated")
    return [CrisisChanged(crisis)]


def active_crisis(session: Session, pid: str) -> Crisis | None:
    return next((c for c in session.crises if c.active and c.participant_id == pid), None)


def _crisis_of(session: Session, pid: str) -> Crisis:
    crisis = active_crisis(session, pid)
    if crisis is None:
        raise Refusal("invalid", "there is no crisis response for that participant")
    return crisis


# -- handlers -------------------------------------------------------------------------------


def _on_safety_view(session: Session, actor: Participant, cmd: SafetyView, now: float) -> Events:
    target = find_target(session, cmd.target, admitted=None)
    return [SafetyShown(actor.id, target.id, session.safety.get(target.id))]


def _hold_group(
    session: Session, actor: Participant, cmd: CrisisStart, crisis: Crisis, now: float
) -> Events:
    """A co-leader in the main room is handed the group; else the group is held."""
    co_leader = next(
        (
            p
            for p in session.admitted()
            if p.role.leads
            and p.id != actor.id
            and p.room_id == MAIN_ROOM
            and p.disconnected_at is None
        ),
        None,
    )
    if co_leader is not None:
        crisis.group_lead = co_leader.id
        crisis.note(now, "group_handed_over", actor.id)
        return [GroupHandedOver(co_leader.id, actor.id)]
    message = cmd.hold_message or HOLDING_MESSAGE
    session.holding = Holding(message, now)
    crisis.note(now, "group_held", actor.id, message)
    events: Events = [GroupHeld(message, now)]
    if cmd.mute_group:
        events += mute_room(session, MAIN_ROOM, actor.id)
    return events


def _on_crisis_start(session: Session, actor: Participant, cmd: CrisisStart, now: float) -> Events:
    target = find_target(session, cmd.target)
    check_aside(actor, target)
    if active_crisis(session, target.id) is not None:
        raise Refusal("invalid", "a crisis response for them is already under way")
    crisis = Crisis(f"c{len(session.crises) + 1}", target.id, actor.id, now)
    crisis.participant_name = target.display_name
    crisis.note(now, "started", actor.id)
    session.crises.append(crisis)
    events = take_aside(session, actor, target)
    if session.holding is None:
        events += _hold_group(session, actor, cmd, crisis, now)
    return [
        SafetyShown(actor.id, target.id, session.safety.get(target.id)),
        *events,
        CrisisChanged(crisis),
    ]


def _on_crisis_note(session: Session, actor: Participant, cmd: CrisisNote, now: float) -> Events:
    crisis = _crisis_of(session, cmd.target)
    note = clean_text(cmd.note)
    if cmd.kind == "note" and not note:
        raise Refusal("invalid", "note: write what happened")
    crisis.note(now, cmd.kind, actor.id, note)
    return [CrisisChanged(crisis)]


def _on_crisis_end(session: Session, actor: Participant, cmd: CrisisEnd, now: float) -> Events:
    crisis = _crisis_of(session, cmd.target)
    crisis.close(now, "resolved", actor.id, clean_text(cmd.note))
    events: Events = [CrisisChanged(crisis)]
    if session.holding is not None and not any(c.active for c in session.crises):
        session.holding = None
        events.append(GroupHeld(None, None))
    return events


# -- what continuity tells the crisis record ------------------------------------------------


def connection_changed(
    session: Session, pid: str, kind: Literal["dropped", "returned", "left"], now: float
) -> Events:
    """`kind` "dropped", "returned" or "left": noted in their crisis record, if any; a drop or
    a departure alerts the leaders at once with where they were and whom to call."""
    crisis = active_crisis(session, pid)
    if crisis is None:
        return []
    crisis.note(now, kind)
    events: Events = [CrisisChanged(crisis)]
    if kind != "returned":
        events.insert(0, CrisisAlert(pid, kind, now, session.safety.get(pid)))
    return events


def view(session: Session, viewer: Participant | None) -> dict[str, object]:
    """The crisis part of a snapshot: the holding message for everyone, records for leaders."""
    held = session.holding
    state: dict[str, object] = {
        "holding": {"message": held.message, "since": held.since} if held else None,
    }
    if viewer is not None and viewer.role.leads:
        state["crises"] = [c.payload() for c in session.crises]
    return state


HANDLERS: dict[type[Command], Handler] = {
    SafetyView: _on_safety_view,
    CrisisStart: _on_crisis_start,
    CrisisNote: _on_crisis_note,
    CrisisEnd: _on_crisis_end,
}
