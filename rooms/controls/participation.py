"""Taking part: raised hands and their queue, reactions, chat (group and private), and the
private "I need help" signal to the leaders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import Field

from rooms.command import Command, Events, Handler, MessageText
from rooms.controls.common import ParticipantId, find_target, not_self
from rooms.errors import Refusal
from rooms.model import (
    Audience,
    Everyone,
    Leaders,
    Only,
    Participant,
    ParticipantUpdated,
    Session,
)

REACTIONS = ("👍", "👏", "❤️", "😂", "😮", "🙏")


# -- commands -------------------------------------------------------------------------------


class RaiseHand(Command):
    action: Literal["raise_hand"]


class LowerHand(Command):
    action: Literal["lower_hand"]
    target: ParticipantId | None = None  # None: one's own hand


class LowerAllHands(Command):
    action: Literal["lower_all_hands"]


class React(Command):
    action: Literal["react"]
    emoji: Literal["👍", "👏", "❤️", "😂", "😮", "🙏"]


class Chat(Command):
    action: Literal["chat"]
    text: MessageText = Field(min_length=1, max_length=1000)
    to: ParticipantId | None = None  # None: the whole group


class Help(Command):
    action: Literal["help"]


class HelpResolved(Command):
    action: Literal["help_resolved"]
    target: ParticipantId


class StepAway(Command):
    """Step away from the group for a moment (`away`), or come back: only one's own."""

    action: Literal["step_away"]
    away: bool


ParticipationCommand = (
    RaiseHand | LowerHand | LowerAllHands | React | Chat | Help | HelpResolved | StepAway
)
# what anyone admitted may do
PARTICIPANT_COMMANDS = (RaiseHand, LowerHand, React, Chat, Help, StepAway)


# -- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandQueueChanged:
    queue: tuple[str, ...]  # first raised first
    away: frozenset[str] = frozenset()  # raised hands the group does not see (rooms.model.away)
    name: ClassVar[str] = "hand_queue_changed"
    audience: ClassVar[Audience] = Everyone()

    def payload(self) -> dict[str, object]:
        return self.payload_for(None)

    def payload_for(self, viewer: Participant | None) -> dict[str, object]:
        if viewer is not None and viewer.role.leads:
            return {"queue": list(self.queue)}
        own = viewer.id if viewer else None
        return {"queue": [pid for pid in self.queue if pid not in self.away or pid == own]}


def hand_queue_changed(session: Session) -> HandQueueChanged:
    queue = session.hand_queue()
    away = frozenset(pid for pid in queue if session.participants[pid].away)
    return HandQueueChanged(tuple(queue), away)


@dataclass(frozen=True)
class Reaction:
    participant_id: str
    emoji: str
    at: float
    name: ClassVar[str] = "reaction"
    audience: ClassVar[Audience] = Everyone()

    def payload(self) -> dict[str, object]:
        return {"participant_id": self.participant_id, "emoji": self.emoji, "at": self.at}


@dataclass(frozen=True)
class ChatMessage:
    """Group chat: audience Everyone. Private: one event for Only(sender), one for Only(to)."""

    sender: str
    to: str | None
    text: str
    at: float
    audience: Audience
    name: ClassVar[str] = "chat_message"

    def payload(self) -> dict[str, object]:
        return {"from": self.sender, "to": self.to, "text": self.text, "at": self.at}


@dataclass(frozen=True)
class HelpRequested:
    """The private "I need help" signal: leaders only, never the group."""

    participant_id: str
    at: float
    name: ClassVar[str] = "help_requested"
    audience: ClassVar[Audience] = Leaders()

    def payload(self) -> dict[str, object]:
        return {"participant_id": self.participant_id, "at": self.at}


@dataclass(frozen=True)
class HelpResolvedEvent:
    """Sent to Leaders, and to Only(participant) unless they lead (they would get it twice)."""

    participant_id: str
    by: str
    audience: Audience
    name: ClassVar[str] = "help_resolved"

    def payload(self) -> dict[str, object]:
        return {"participant_id": self.participant_id, "by": self.by}


@dataclass(frozen=True)
class AwayChanged:
    """Someone is away from the group now, or back (a step-away of their own, a 1:1 room): the
    media plane stops or resumes sending them to the group; the person is told."""

    participant_id: str
    away: bool
    name: ClassVar[str] = "away_changed"

    @property
    def audience(self) -> Audience:
        return Only(self.participant_id)

    def payload(self) -> dict[str, object]:
        return {"away": self.away}


def away_events(session: Session, people: list[Participant], before: dict[str, bool]) -> Events:
    """What changes for the group when people's `away` may have changed (it was `before`): the
    media plane is told, and raised hands of those away leave the group's view of the queue."""
    changed = [p for p in people if p.away != before[p.id]]
    events: Events = [AwayChanged(p.id, p.away) for p in changed]
    if any(p.hand_raised_at is not None for p in changed):
        events.append(hand_queue_changed(session))
    return events


# -- handlers -------------------------------------------------------------------------------


def _hand_events(session: Session, changed: list[Participant]) -> Events:
    return [
        *(ParticipantUpdated(p) for p in changed),
        hand_queue_changed(session),
    ]


def _on_raise_hand(session: Session, actor: Participant, cmd: RaiseHand, now: float) -> Events:
    if actor.hand_raised_at is not None:
        raise Refusal("invalid", "your hand is already raised")
    actor.hand_raised_at = now
    return _hand_events(session, [actor])


def _on_lower_hand(session: Session, actor: Participant, cmd: LowerHand, now: float) -> Events:
    target = actor
    if cmd.target is not None and cmd.target != actor.id:
        if not actor.role.leads:
            raise Refusal("forbidden", "you can only lower your own hand")
        target = find_target(session, cmd.target)
    if target.hand_raised_at is None:
        raise Refusal("invalid", "that hand is not raised")
    target.hand_raised_at = None
    return _hand_events(session, [target])


def _on_lower_all(session: Session, actor: Participant, cmd: LowerAllHands, now: float) -> Events:
    raised = [p for p in session.admitted() if p.hand_raised_at is not None]
    if not raised:
        return []
    for p in raised:
        p.hand_raised_at = None
    return _hand_events(session, raised)


def _on_react(session: Session, actor: Participant, cmd: React, now: float) -> Events:
    return [Reaction(actor.id, cmd.emoji, now)]


def _on_chat(session: Session, actor: Participant, cmd: Chat, now: float) -> Events:
    if cmd.to is None:
        return [ChatMessage(actor.id, None, cmd.text, now, Everyone())]
    recipient = find_target(session, cmd.to)
    not_self(actor, recipient)
    # Anyone may reach a leader privately and leaders may reach anyone; between two
    # participants only while the leaders allow it.
    if not (actor.role.leads or recipient.role.leads or session.private_chat_allowed):
        raise Refusal("forbidden", "private messages between participants are off")
    return [
        ChatMessage(actor.id, recipient.id, cmd.text, now, Only(actor.id)),
        ChatMessage(actor.id, recipient.id, cmd.text, now, Only(recipient.id)),
    ]


def _on_help(session: Session, actor: Participant, cmd: Help, now: float) -> Events:
    # Asking again is not an error (someone in distress may press twice): it alerts the
    # leaders again, with the time of the first request.
    if actor.help_requested_at is None:
        actor.help_requested_at = now
    return [HelpRequested(actor.id, actor.help_requested_at)]


def _on_help_resolved(
    session: Session, actor: Participant, cmd: HelpResolved, now: float
) -> Events:
    target = find_target(session, cmd.target)
    if target.help_requested_at is None:
        raise Refusal("invalid", "that participant has not asked for help")
    return resolve_help(target, actor)


def resolve_help(target: Participant, actor: Participant) -> Events:
    """Clear the target's help request; tell the leaders, and the target unless they lead."""
    target.help_requested_at = None
    events: Events = [HelpResolvedEvent(target.id, actor.id, Leaders())]
    if not target.role.leads:
        events.append(HelpResolvedEvent(target.id, actor.id, Only(target.id)))
    return events


def _on_step_away(session: Session, actor: Participant, cmd: StepAway, now: float) -> Events:
    if actor.stepped_away == cmd.away:
        raise Refusal("invalid", "you have already stepped away" if cmd.away else "you are here")
    before = {actor.id: actor.away}
    actor.stepped_away = cmd.away
    return [ParticipantUpdated(actor), *away_events(session, [actor], before)]


HANDLERS: dict[type[Command], Handler] = {
    RaiseHand: _on_raise_hand,
    LowerHand: _on_lower_hand,
    LowerAllHands: _on_lower_all,
    React: _on_react,
    Chat: _on_chat,
    Help: _on_help,
    HelpResolved: _on_help_resolved,
    StepAway: _on_step_away,
}
