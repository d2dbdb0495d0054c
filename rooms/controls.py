"""Facilitator controls: commands checked against the actor's role and the session's state,
applied as state transitions that produce domain events.

    events = apply(session, actor_id, parse_command(body), now)

A refusal raises ControlError("forbidden" | "invalid" | "not_found", message) before anything
changes: every handler checks first and mutates after, so a refused command leaves the session
exactly as it was.

Audiences: `Everyone` is the admitted participants (the waiting room never hears the group),
`Leaders` the facilitators and cofacilitators, `Only(id)` one person. An event for several
audiences is emitted once per audience (a private chat message is two ChatMessage events,
`Only(sender)` and `Only(recipient)`); `recipients()` resolves an audience to ids.
`Only(id)` may name someone no longer in the session (removed, denied): the server must deliver
it before dropping their connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal, TypeVar

from pydantic import Field, TypeAdapter, ValidationError

from rooms import breakouts
from rooms.command import Command as BaseCommand
from rooms.command import ControlError, MessageText
from rooms.model import (
    MAIN_ROOM,
    PRIVATE_ROOM_PREFIX,
    Audience,
    DomainEvent,
    Everyone,
    Leaders,
    Only,
    Participant,
    ParticipantJoined,
    ParticipantUpdated,
    Role,
    Session,
)
from rooms.validation import describe

__all__ = [
    "REACTIONS",
    "Audience",
    "Command",
    "ControlError",
    "DomainEvent",
    "Everyone",
    "Leaders",
    "Only",
    "apply",
    "events_for_join",
    "leave",
    "parse_command",
    "recipients",
    "snapshot",
]

REACTIONS = ("👍", "👏", "❤️", "😂", "😮", "🙏")
ParticipantId = Annotated[str, Field(min_length=1, max_length=64)]


# -- commands -------------------------------------------------------------------------------


_Command = BaseCommand


class Admit(_Command):
    action: Literal["admit"]
    target: ParticipantId


class AdmitAll(_Command):
    action: Literal["admit_all"]


class Deny(_Command):
    action: Literal["deny"]
    target: ParticipantId
    message: str | None = Field(default=None, max_length=200)


class Mute(_Command):
    action: Literal["mute"]
    target: ParticipantId


class MuteAll(_Command):
    action: Literal["mute_all"]
    lock: bool = False  # participants may not unmute themselves until allow_unmute


class AllowUnmute(_Command):
    action: Literal["allow_unmute"]


class AskUnmute(_Command):
    action: Literal["ask_unmute"]
    target: ParticipantId


class StopVideo(_Command):
    action: Literal["stop_video"]
    target: ParticipantId


class Remove(_Command):
    action: Literal["remove"]
    target: ParticipantId
    block: bool = False  # the participant's personal invite may not join again


class Lock(_Command):
    action: Literal["lock"]


class Unlock(_Command):
    action: Literal["unlock"]


class Spotlight(_Command):
    action: Literal["spotlight"]
    target: ParticipantId | None  # None clears the spotlight


class RaiseHand(_Command):
    action: Literal["raise_hand"]


class LowerHand(_Command):
    action: Literal["lower_hand"]
    target: ParticipantId | None = None  # None: one's own hand


class LowerAllHands(_Command):
    action: Literal["lower_all_hands"]


class React(_Command):
    action: Literal["react"]
    emoji: Literal["👍", "👏", "❤️", "😂", "😮", "🙏"]


class Chat(_Command):
    action: Literal["chat"]
    text: MessageText = Field(min_length=1, max_length=1000)
    to: ParticipantId | None = None  # None: the whole group


class SetPrivateChat(_Command):
    action: Literal["set_private_chat"]
    allowed: bool


class Help(_Command):
    action: Literal["help"]


class HelpResolved(_Command):
    action: Literal["help_resolved"]
    target: ParticipantId


class PrivateRoom(_Command):
    """Take the target (typically someone who asked for help) into a 1:1 room with the actor."""

    action: Literal["private_room"]
    target: ParticipantId


class ReturnToMain(_Command):
    """Close the target's private room: everyone in it goes back to the main room."""

    action: Literal["return_to_main"]
    target: ParticipantId


class EngagementSettings(_Command):
    """Leaders tune engagement measurement for this session (unset fields stay as they are)."""

    action: Literal["engagement_settings"]
    measuring: bool | None = None
    alerts_enabled: bool | None = None
    dominance_share_pct: float | None = Field(default=None, ge=10, le=100)
    silence_min: float | None = Field(default=None, ge=1, le=240)


class EngagementOptOut(_Command):
    """A participant's own choice: their speaking is not measured (or is again)."""

    action: Literal["engagement_opt_out"]
    opted_out: bool


class End(_Command):
    action: Literal["end"]


class Promote(_Command):
    action: Literal["promote"]
    target: ParticipantId


class Demote(_Command):
    action: Literal["demote"]
    target: ParticipantId


Command = Annotated[
    Admit
    | AdmitAll
    | Deny
    | Mute
    | MuteAll
    | AllowUnmute
    | AskUnmute
    | StopVideo
    | Remove
    | Lock
    | Unlock
    | Spotlight
    | RaiseHand
    | LowerHand
    | LowerAllHands
    | React
    | Chat
    | SetPrivateChat
    | Help
    | HelpResolved
    | PrivateRoom
    | ReturnToMain
    | EngagementSettings
    | EngagementOptOut
    | End
    | Promote
    | Demote
    | breakouts.BreakoutCreate
    | breakouts.BreakoutAssign
    | breakouts.BreakoutAutoAssign
    | breakouts.BreakoutKeepApart
    | breakouts.BreakoutReusePrevious
    | breakouts.BreakoutSetChoose
    | breakouts.BreakoutChoose
    | breakouts.BreakoutOpen
    | breakouts.BreakoutExtend
    | breakouts.BreakoutBroadcast
    | breakouts.BreakoutVisit
    | breakouts.BreakoutMove
    | breakouts.BreakoutCloseRoom
    | breakouts.BreakoutCloseAll
    | breakouts.BreakoutHelp,
    Field(discriminator="action"),
]
_COMMAND: TypeAdapter[Command] = TypeAdapter(Command)


def parse_command(data: object) -> Command:
    """Validate a client body; ControlError("invalid", "<field>: <msg>") names the bad field."""
    if not isinstance(data, dict):
        raise ControlError("invalid", "the command must be an object")
    try:
        return _COMMAND.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "union_tag_not_found":
            raise ControlError("invalid", "action: Field required") from exc
        if first["type"] == "union_tag_invalid":
            raise ControlError("invalid", f"action: unknown action {data['action']!r:.40}") from exc
        # the first element of the location is the action tag
        raise ControlError("invalid", describe(exc, skip_loc=1)) from exc


# -- events ---------------------------------------------------------------------------------
# Payloads are copied when the event is made, so an event describes the moment it happened.


class _ToTarget:
    """An event meant only for the participant it is about."""

    target: str

    @property
    def audience(self) -> Audience:
        return Only(self.target)


@dataclass(frozen=True)
class ParticipantWaiting:
    participant: dict[str, object]
    name: ClassVar[str] = "participant_waiting"
    audience: ClassVar[Audience] = Leaders()

    def payload(self) -> dict[str, object]:
        return self.participant


@dataclass(frozen=True)
class ParticipantAdmitted:
    participant: dict[str, object]
    name: ClassVar[str] = "participant_admitted"
    audience: ClassVar[Audience] = Everyone()  # evaluated after admission: includes them

    def payload(self) -> dict[str, object]:
        return self.participant


@dataclass(frozen=True)
class ParticipantDenied(_ToTarget):
    target: str
    message: str | None
    name: ClassVar[str] = "participant_denied"

    def payload(self) -> dict[str, object]:
        return {"message": self.message}


@dataclass(frozen=True)
class AudioForcedOff(_ToTarget):
    """The server stops forwarding the target's audio at once (not trusting their client)."""

    target: str
    by: str
    name: ClassVar[str] = "audio_forced_off"

    def payload(self) -> dict[str, object]:
        return {"participant_id": self.target, "by": self.by}


@dataclass(frozen=True)
class VideoForcedOff(_ToTarget):
    target: str
    by: str
    name: ClassVar[str] = "video_forced_off"

    def payload(self) -> dict[str, object]:
        return {"participant_id": self.target, "by": self.by}


@dataclass(frozen=True)
class UnmuteRequested(_ToTarget):
    """Only a request: nobody's microphone is ever turned on remotely."""

    target: str
    by: str
    name: ClassVar[str] = "unmute_requested"

    def payload(self) -> dict[str, object]:
        return {"by": self.by}


@dataclass(frozen=True)
class ParticipantRemoved:
    target: str
    blocked: bool
    name: ClassVar[str] = "participant_removed"
    audience: ClassVar[Audience] = Everyone()

    def payload(self) -> dict[str, object]:
        return {"participant_id": self.target, "blocked": self.blocked}


@dataclass(frozen=True)
class RemovedNotice(_ToTarget):
    target: str
    blocked: bool
    name: ClassVar[str] = "removed"

    def payload(self) -> dict[str, object]:
        return {"blocked": self.blocked}


@dataclass(frozen=True)
class SessionLockChanged:
    locked: bool
    by: str
    name: ClassVar[str] = "session_lock_changed"
    audience: ClassVar[Audience] = Everyone()

    def payload(self) -> dict[str, object]:
        return {"locked": self.locked, "by": self.by}


@dataclass(frozen=True)
class SpotlightChanged:
    participant_id: str | None
    name: ClassVar[str] = "spotlight_changed"
    audience: ClassVar[Audience] = Everyone()

    def payload(self) -> dict[str, object]:
        return {"participant_id": self.participant_id}


@dataclass(frozen=True)
class HandQueueChanged:
    queue: tuple[str, ...]  # first raised first
    name: ClassVar[str] = "hand_queue_changed"
    audience: ClassVar[Audience] = Everyone()

    def payload(self) -> dict[str, object]:
        return {"queue": list(self.queue)}


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
class EngagementSettingsChanged:
    """Only the fields that were set; the engagement engine applies them."""

    changes: dict[str, float | bool]
    by: str
    name: ClassVar[str] = "engagement_settings_changed"
    audience: ClassVar[Audience] = Leaders()

    def payload(self) -> dict[str, object]:
        return {**self.changes, "by": self.by}


@dataclass(frozen=True)
class EngagementOptOutChanged(_ToTarget):
    target: str
    opted_out: bool
    name: ClassVar[str] = "engagement_opt_out_changed"

    def payload(self) -> dict[str, object]:
        return {"opted_out": self.opted_out}


@dataclass(frozen=True)
class SessionEnded:
    """To Everyone, and to each waiting participant by Only (they are not in Everyone)."""

    by: str
    at: float
    audience: Audience
    name: ClassVar[str] = "session_ended"

    def payload(self) -> dict[str, object]:
        return {"by": self.by, "at": self.at}


@dataclass(frozen=True)
class RoleChanged:
    participant_id: str
    role: Role
    by: str
    name: ClassVar[str] = "role_changed"
    audience: ClassVar[Audience] = Everyone()

    def payload(self) -> dict[str, object]:
        return {"participant_id": self.participant_id, "role": self.role.value, "by": self.by}


@dataclass(frozen=True)
class PolicyChanged:
    participants_may_unmute: bool
    private_chat_allowed: bool
    name: ClassVar[str] = "policy_changed"
    audience: ClassVar[Audience] = Everyone()

    def payload(self) -> dict[str, object]:
        return {
            "participants_may_unmute": self.participants_may_unmute,
            "private_chat_allowed": self.private_chat_allowed,
        }


# -- authorization --------------------------------------------------------------------------

# what anyone admitted may do
_PARTICIPANT_ACTIONS = (
    RaiseHand,
    LowerHand,
    React,
    Chat,
    Help,
    EngagementOptOut,
    *breakouts.PARTICIPANT_COMMANDS,
)
_FACILITATOR_ACTIONS = (Promote, Demote, End)


def _actor(session: Session, actor_id: str) -> Participant:
    actor = session.participants.get(actor_id)
    # Unknown, removed, or still waiting: may do nothing at all (and learn nothing from why).
    if actor is None or not actor.admitted:
        raise ControlError("forbidden", "you are not in this session")
    return actor


def _authorize(actor: Participant, command: Command) -> None:
    if isinstance(command, _FACILITATOR_ACTIONS):
        if actor.role is not Role.FACILITATOR:
            raise ControlError("forbidden", "only the facilitator can do that")
    elif not isinstance(command, _PARTICIPANT_ACTIONS) and not actor.role.leads:
        raise ControlError("forbidden", "only facilitators can do that")


def _target(session: Session, target_id: str, *, admitted: bool | None = True) -> Participant:
    """The target in this session; `admitted` None accepts the waiting room too."""
    target = session.participants.get(target_id)
    if target is None:
        if target_id in session.removed:
            raise ControlError("invalid", "that participant was removed")
        raise ControlError("not_found", "no such participant in this session")
    if admitted is not None and target.admitted != admitted:
        state = "is still in the waiting room" if admitted else "is not in the waiting room"
        raise ControlError("invalid", f"that participant {state}")
    return target


def _not_facilitator(target: Participant) -> None:
    if target.role is Role.FACILITATOR:
        raise ControlError("forbidden", "nobody can do that to the facilitator")


def _not_self(actor: Participant, target: Participant) -> None:
    if actor.id == target.id:
        raise ControlError("forbidden", "you can't do that to yourself")


# -- handlers: check everything, then mutate -----------------------------------------------

Events = list[DomainEvent]
C = TypeVar("C", bound=_Command)
_Handler = Callable[[Session, Participant, C, float], Events]
_HANDLERS: dict[type[_Command], _Handler[_Command]] = {}


def _handles(kind: type[C]) -> Callable[[_Handler[C]], _Handler[C]]:
    def register(handler: _Handler[C]) -> _Handler[C]:
        _HANDLERS[kind] = handler  # type: ignore[assignment]  # dispatch is by exact type
        return handler

    return register


_HANDLERS.update(breakouts.HANDLERS)


def _admit(session: Session, target: Participant) -> DomainEvent:
    target.admitted = True
    if target.rejoin_key is not None:
        session.readmit_keys.add(target.rejoin_key)
    return ParticipantAdmitted(target.public())


@_handles(Admit)
def _on_admit(session: Session, actor: Participant, cmd: Admit, now: float) -> Events:
    return [_admit(session, _target(session, cmd.target, admitted=False))]


@_handles(AdmitAll)
def _on_admit_all(session: Session, actor: Participant, cmd: AdmitAll, now: float) -> Events:
    return [_admit(session, p) for p in session.waiting()]


@_handles(Deny)
def _on_deny(session: Session, actor: Participant, cmd: Deny, now: float) -> Events:
    target = _target(session, cmd.target, admitted=None)
    _not_facilitator(target)
    if target.admitted:
        raise ControlError("invalid", "that participant is not in the waiting room")
    left = session.leave(target.id, now)
    session.removed.add(target.id)
    assert left is not None
    return [ParticipantDenied(target.id, cmd.message), left]


def _updates(session: Session, before: dict[str, dict[str, object]]) -> Events:
    """ParticipantUpdated for every admitted participant whose public view changed."""
    return [
        ParticipantUpdated(p)
        for p in session.admitted()
        if p.id in before and p.public() != before[p.id]
    ]


def _publics(session: Session) -> dict[str, dict[str, object]]:
    return {p.id: p.public() for p in session.admitted()}


@_handles(Mute)
def _on_mute(session: Session, actor: Participant, cmd: Mute, now: float) -> Events:
    target = _target(session, cmd.target)
    _not_facilitator(target)
    if not target.audio_on:
        raise ControlError("invalid", "already muted")
    target.audio_on = False
    session.sync_audio_lock(target)  # under a locked policy, a mute also revokes ask_unmute
    return [AudioForcedOff(target.id, actor.id), ParticipantUpdated(target)]


def _set_unmute_policy(
    session: Session, allowed: bool, forced_off: list[Participant], by: str
) -> Events:
    """Mute `forced_off`, apply the unmute policy to everyone (this also revokes ask_unmute
    grants), and report what changed."""
    before = _publics(session)
    changed = session.participants_may_unmute != allowed
    session.participants_may_unmute = allowed
    for p in forced_off:
        p.audio_on = False
    for p in session.participants.values():
        session.sync_audio_lock(p)
    events: Events = [AudioForcedOff(p.id, by) for p in forced_off]
    if changed:
        events.append(PolicyChanged(allowed, session.private_chat_allowed))
    return events + _updates(session, before)


@_handles(MuteAll)
def _on_mute_all(session: Session, actor: Participant, cmd: MuteAll, now: float) -> Events:
    # Leaders keep their microphones: mute_all is for the group, not the people running it.
    group = [p for p in session.admitted() if p.role is Role.PARTICIPANT and p.audio_on]
    allowed = session.participants_may_unmute and not cmd.lock
    return _set_unmute_policy(session, allowed, group, actor.id)


@_handles(AllowUnmute)
def _on_allow_unmute(session: Session, actor: Participant, cmd: AllowUnmute, now: float) -> Events:
    return _set_unmute_policy(session, True, [], actor.id)


@_handles(AskUnmute)
def _on_ask_unmute(session: Session, actor: Participant, cmd: AskUnmute, now: float) -> Events:
    target = _target(session, cmd.target)
    if target.audio_on:
        raise ControlError("invalid", "already unmuted")
    events: Events = [UnmuteRequested(target.id, actor.id)]
    if target.audio_locked:
        # Asking is permission for this one person, even while the group is locked.
        target.audio_locked = False
        events.append(ParticipantUpdated(target))
    return events


@_handles(StopVideo)
def _on_stop_video(session: Session, actor: Participant, cmd: StopVideo, now: float) -> Events:
    target = _target(session, cmd.target)
    _not_facilitator(target)
    if not target.video_on:
        raise ControlError("invalid", "video is already off")
    target.video_on = False
    return [VideoForcedOff(target.id, actor.id), ParticipantUpdated(target)]


def _departure_effects(session: Session, spotlight: str | None, queue: list[str]) -> Events:
    """Spotlight and hand queue events after someone left, given their values before."""
    events: Events = []
    if session.spotlight != spotlight:
        events.append(SpotlightChanged(session.spotlight))
    if session.hand_queue() != queue:
        events.append(HandQueueChanged(tuple(session.hand_queue())))
    return events


@_handles(Remove)
def _on_remove(session: Session, actor: Participant, cmd: Remove, now: float) -> Events:
    target = _target(session, cmd.target)  # someone waiting is denied, not removed
    _not_facilitator(target)
    _not_self(actor, target)
    spotlight, queue = session.spotlight, session.hand_queue()
    session.leave(target.id, now)
    session.removed.add(target.id)
    session.readmit_keys.discard(target.rejoin_key or "")  # back only through the waiting room
    blocked = cmd.block and target.invite_id is not None
    if blocked:
        assert target.invite_id is not None
        session.blocked_invites.add(target.invite_id)
    return [
        ParticipantRemoved(target.id, blocked),
        RemovedNotice(target.id, blocked),
        *_departure_effects(session, spotlight, queue),
    ]


def _set_locked(session: Session, actor: Participant, locked: bool) -> Events:
    if session.locked == locked:
        return []  # session-wide switches are idempotent: two leaders may click at once
    session.locked = locked
    return [SessionLockChanged(locked, actor.id)]


@_handles(Lock)
def _on_lock(session: Session, actor: Participant, cmd: Lock, now: float) -> Events:
    return _set_locked(session, actor, True)


@_handles(Unlock)
def _on_unlock(session: Session, actor: Participant, cmd: Unlock, now: float) -> Events:
    return _set_locked(session, actor, False)


@_handles(Spotlight)
def _on_spotlight(session: Session, actor: Participant, cmd: Spotlight, now: float) -> Events:
    if cmd.target is not None:
        _target(session, cmd.target)
    if session.spotlight == cmd.target:
        return []
    session.spotlight = cmd.target
    return [SpotlightChanged(cmd.target)]


def _hand_events(session: Session, changed: list[Participant]) -> Events:
    return [
        *(ParticipantUpdated(p) for p in changed),
        HandQueueChanged(tuple(session.hand_queue())),
    ]


@_handles(RaiseHand)
def _on_raise_hand(session: Session, actor: Participant, cmd: RaiseHand, now: float) -> Events:
    if actor.hand_raised_at is not None:
        raise ControlError("invalid", "your hand is already raised")
    actor.hand_raised_at = now
    return _hand_events(session, [actor])


@_handles(LowerHand)
def _on_lower_hand(session: Session, actor: Participant, cmd: LowerHand, now: float) -> Events:
    target = actor
    if cmd.target is not None and cmd.target != actor.id:
        if not actor.role.leads:
            raise ControlError("forbidden", "you can only lower your own hand")
        target = _target(session, cmd.target)
    if target.hand_raised_at is None:
        raise ControlError("invalid", "that hand is not raised")
    target.hand_raised_at = None
    return _hand_events(session, [target])


@_handles(LowerAllHands)
def _on_lower_all(session: Session, actor: Participant, cmd: LowerAllHands, now: float) -> Events:
    raised = [p for p in session.admitted() if p.hand_raised_at is not None]
    if not raised:
        return []
    for p in raised:
        p.hand_raised_at = None
    return _hand_events(session, raised)


@_handles(React)
def _on_react(session: Session, actor: Participant, cmd: React, now: float) -> Events:
    return [Reaction(actor.id, cmd.emoji, now)]


@_handles(Chat)
def _on_chat(session: Session, actor: Participant, cmd: Chat, now: float) -> Events:
    if cmd.to is None:
        return [ChatMessage(actor.id, None, cmd.text, now, Everyone())]
    recipient = _target(session, cmd.to)
    _not_self(actor, recipient)
    # Anyone may reach a leader privately and leaders may reach anyone; between two
    # participants only while the leaders allow it.
    if not (actor.role.leads or recipient.role.leads or session.private_chat_allowed):
        raise ControlError("forbidden", "private messages between participants are off")
    return [
        ChatMessage(actor.id, recipient.id, cmd.text, now, Only(actor.id)),
        ChatMessage(actor.id, recipient.id, cmd.text, now, Only(recipient.id)),
    ]


@_handles(SetPrivateChat)
def _on_set_private_chat(
    session: Session, actor: Participant, cmd: SetPrivateChat, now: float
) -> Events:
    if session.private_chat_allowed == cmd.allowed:
        return []
    session.private_chat_allowed = cmd.allowed
    return [PolicyChanged(session.participants_may_unmute, cmd.allowed)]


@_handles(Help)
def _on_help(session: Session, actor: Participant, cmd: Help, now: float) -> Events:
    # Asking again is not an error (someone in distress may press twice): it alerts the
    # leaders again, with the time of the first request.
    if actor.help_requested_at is None:
        actor.help_requested_at = now
    return [HelpRequested(actor.id, actor.help_requested_at)]


@_handles(HelpResolved)
def _on_help_resolved(
    session: Session, actor: Participant, cmd: HelpResolved, now: float
) -> Events:
    target = _target(session, cmd.target)
    if target.help_requested_at is None:
        raise ControlError("invalid", "that participant has not asked for help")
    target.help_requested_at = None
    events: Events = [HelpResolvedEvent(target.id, actor.id, Leaders())]
    if not target.role.leads:
        events.append(HelpResolvedEvent(target.id, actor.id, Only(target.id)))
    return events


@_handles(PrivateRoom)
def _on_private_room(session: Session, actor: Participant, cmd: PrivateRoom, now: float) -> Events:
    target = _target(session, cmd.target)
    _not_self(actor, target)
    room_id = PRIVATE_ROOM_PREFIX + target.id
    if target.room_id == room_id and actor.room_id == room_id:
        raise ControlError("invalid", "you are already in a private room with them")
    if target.role.leads:
        raise ControlError("invalid", "private rooms are for participants")
    events = session.move([target, actor], room_id)
    if target.help_requested_at is not None:  # answering the call resolves it
        target.help_requested_at = None
        events += [
            HelpResolvedEvent(target.id, actor.id, Leaders()),
            HelpResolvedEvent(target.id, actor.id, Only(target.id)),
        ]
    return events


@_handles(ReturnToMain)
def _on_return_to_main(
    session: Session, actor: Participant, cmd: ReturnToMain, now: float
) -> Events:
    room_id = PRIVATE_ROOM_PREFIX + _target(session, cmd.target).id
    inside = [p for p in session.admitted() if p.room_id == room_id]
    if not inside:
        raise ControlError("invalid", "that participant is not in a private room")
    return session.move(inside, MAIN_ROOM)


@_handles(EngagementSettings)
def _on_engagement_settings(
    session: Session, actor: Participant, cmd: EngagementSettings, now: float
) -> Events:
    changes = cmd.model_dump(exclude={"action"}, exclude_none=True)
    if not changes:
        raise ControlError("invalid", "nothing to change")
    return [EngagementSettingsChanged(changes, actor.id)]


@_handles(EngagementOptOut)
def _on_engagement_opt_out(
    session: Session, actor: Participant, cmd: EngagementOptOut, now: float
) -> Events:
    return [EngagementOptOutChanged(actor.id, cmd.opted_out)]


@_handles(End)
def _on_end(session: Session, actor: Participant, cmd: End, now: float) -> Events:
    session.ended_at = now
    return [
        SessionEnded(actor.id, now, Everyone()),
        *(SessionEnded(actor.id, now, Only(p.id)) for p in session.waiting()),
    ]


@_handles(Promote)
def _on_promote(session: Session, actor: Participant, cmd: Promote, now: float) -> Events:
    target = _target(session, cmd.target)
    if target.role is not Role.PARTICIPANT:
        raise ControlError("invalid", "already a facilitator or cofacilitator")
    return _set_role(session, actor, target, Role.COFACILITATOR)


@_handles(Demote)
def _on_demote(session: Session, actor: Participant, cmd: Demote, now: float) -> Events:
    target = _target(session, cmd.target)
    _not_facilitator(target)
    _not_self(actor, target)
    if target.role is not Role.COFACILITATOR:
        raise ControlError("invalid", "not a cofacilitator")
    return _set_role(session, actor, target, Role.PARTICIPANT)


def _set_role(session: Session, actor: Participant, target: Participant, role: Role) -> Events:
    target.role = role
    session.sync_audio_lock(target)
    return [RoleChanged(target.id, role, actor.id), ParticipantUpdated(target)]


# -- entry points ---------------------------------------------------------------------------


def apply(session: Session, actor_id: str, command: Command, now: float) -> Events:
    """Check and apply one command; raise ControlError with the session unchanged."""
    actor = _actor(session, actor_id)
    _authorize(actor, command)
    if session.ended_at is not None:
        raise ControlError("invalid", "the session has ended")
    return _HANDLERS[type(command)](session, actor, command, now)


def events_for_join(session: Session, joined: ParticipantJoined) -> Events:
    """What to announce after `session.join`: the group hears of admitted joiners only; a
    waiting participant is announced to the leaders."""
    if joined.participant.admitted:
        return [joined]
    return [ParticipantWaiting(joined.participant.public())]


def leave(session: Session, participant_id: str, now: float) -> Events:
    """`session.leave` plus what it changes for everyone else (spotlight, hand queue)."""
    spotlight, queue = session.spotlight, session.hand_queue()
    leaving = session.participants.get(participant_id)
    left = session.leave(participant_id, now)
    if left is None or leaving is None:
        return []
    events: Events = [left, *_departure_effects(session, spotlight, queue)]
    if leaving.room_id.startswith(PRIVATE_ROOM_PREFIX):  # nobody stays behind in a 1:1 room
        events += session.move(
            [p for p in session.admitted() if p.room_id == leaving.room_id], MAIN_ROOM
        )
    return events


def recipients(session: Session, audience: Audience) -> list[str]:
    """The participant ids an audience stands for, now."""
    if isinstance(audience, Only):
        return [audience.participant_id]
    admitted = session.admitted()
    if isinstance(audience, Leaders):
        return [p.id for p in admitted if p.role.leads]
    return [p.id for p in admitted]


def snapshot(session: Session, viewer_id: str, now: float) -> dict[str, object]:
    """The session as one participant may see it: for the join reply, on admission and on
    promotion. Leaders also see the waiting room, open help requests and the breakout plan."""
    viewer = session.participants.get(viewer_id)
    state: dict[str, object] = {
        "session": {"id": session.id, "title": session.title},
        "participants": [p.public() for p in session.admitted()],
        "hand_queue": session.hand_queue(),
        "spotlight": session.spotlight,
        "locked": session.locked,
        "participants_may_unmute": session.participants_may_unmute,
        "private_chat_allowed": session.private_chat_allowed,
        "ended": session.ended_at is not None,
        "breakouts": breakouts.public_view(session.breakouts, now),
    }
    if viewer is not None and viewer.role.leads:
        state["waiting"] = [p.public() for p in session.waiting()]
        state["help_requests"] = [
            {"participant_id": p.id, "at": p.help_requested_at}
            for p in session.participants.values()
            if p.help_requested_at is not None
        ]
        state["breakout_plan"] = breakouts.plan_view(session, now)
    return state
