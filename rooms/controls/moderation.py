"""Moderation by the leaders: microphones and cameras (and the unmute policy), removal,
the session lock, the spotlight, private chat between participants, and ending the session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from rooms.command import Command, Events, Handler
from rooms.controls.common import (
    ParticipantId,
    ToTarget,
    find_target,
    not_facilitator,
    not_self,
)
from rooms.controls.participation import hand_queue_changed
from rooms.errors import Refusal
from rooms.model import (
    Audience,
    Everyone,
    Only,
    Participant,
    ParticipantUpdated,
    Role,
    Session,
)

# -- commands -------------------------------------------------------------------------------


class Mute(Command):
    action: Literal["mute"]
    target: ParticipantId


class MuteAll(Command):
    action: Literal["mute_all"]
    lock: bool = False  # participants may not unmute themselves until allow_unmute


class AllowUnmute(Command):
    action: Literal["allow_unmute"]


class AskUnmute(Command):
    action: Literal["ask_unmute"]
    target: ParticipantId


class StopVideo(Command):
    action: Literal["stop_video"]
    target: ParticipantId


class Remove(Command):
    action: Literal["remove"]
    target: ParticipantId
    block: bool = False  # the personal invite and the page's resume key may not join again
    lock: bool = False  # and lock the session in the same step


class Lock(Command):
    action: Literal["lock"]


class Unlock(Command):
    action: Literal["unlock"]


class Spotlight(Command):
    action: Literal["spotlight"]
    target: ParticipantId | None  # None clears the spotlight


class SetPrivateChat(Command):
    action: Literal["set_private_chat"]
    allowed: bool


class End(Command):
    action: Literal["end"]


ModerationCommand = (
    Mute
    | MuteAll
    | AllowUnmute
    | AskUnmute
    | StopVideo
    | Remove
    | Lock
    | Unlock
    | Spotlight
    | SetPrivateChat
    | End
)
FACILITATOR_COMMANDS = (End,)  # not for cofacilitators


# -- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AudioForcedOff(ToTarget):
    """The server stops forwarding the target's audio at once (not trusting their client)."""

    target: str
    by: str
    name: ClassVar[str] = "audio_forced_off"

    def payload(self) -> dict[str, object]:
        return {"participant_id": self.target, "by": self.by}


@dataclass(frozen=True)
class VideoForcedOff(ToTarget):
    target: str
    by: str
    name: ClassVar[str] = "video_forced_off"

    def payload(self) -> dict[str, object]:
        return {"participant_id": self.target, "by": self.by}


@dataclass(frozen=True)
class UnmuteRequested(ToTarget):
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
class RemovedNotice(ToTarget):
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


@dataclass(frozen=True)
class SessionEnded:
    """To Everyone, and to each waiting participant by Only (they are not in Everyone)."""

    by: str
    at: float
    audience: Audience
    name: ClassVar[str] = "session_ended"

    def payload(self) -> dict[str, object]:
        return {"by": self.by, "at": self.at}


# -- microphones and cameras ----------------------------------------------------------------


def _updates(session: Session, before: dict[str, dict[str, object]]) -> Events:
    """ParticipantUpdated for every admitted participant whose public view changed."""
    return [
        ParticipantUpdated(p)
        for p in session.admitted()
        if p.id in before and p.public() != before[p.id]
    ]


def _publics(session: Session) -> dict[str, dict[str, object]]:
    return {p.id: p.public() for p in session.admitted()}


def _on_mute(session: Session, actor: Participant, cmd: Mute, now: float) -> Events:
    target = find_target(session, cmd.target)
    not_facilitator(target)
    if not target.audio_on:
        raise Refusal("invalid", "already muted")
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


def _on_mute_all(session: Session, actor: Participant, cmd: MuteAll, now: float) -> Events:
    # Leaders keep their microphones: mute_all is for the group, not the people running it.
    group = [p for p in session.admitted() if p.role is Role.PARTICIPANT and p.audio_on]
    allowed = session.participants_may_unmute and not cmd.lock
    return _set_unmute_policy(session, allowed, group, actor.id)


def mute_room(session: Session, room_id: str, by: str) -> Events:
    """Mute the participants of one room (a held group), leaving the unmute policy as it is."""
    group = [
        p
        for p in session.admitted()
        if p.role is Role.PARTICIPANT and p.audio_on and p.room_id == room_id
    ]
    return _set_unmute_policy(session, session.participants_may_unmute, group, by)


def _on_allow_unmute(session: Session, actor: Participant, cmd: AllowUnmute, now: float) -> Events:
    return _set_unmute_policy(session, True, [], actor.id)


def _on_ask_unmute(session: Session, actor: Participant, cmd: AskUnmute, now: float) -> Events:
    target = find_target(session, cmd.target)
    if target.audio_on:
        raise Refusal("invalid", "already unmuted")
    events: Events = [UnmuteRequested(target.id, actor.id)]
    if target.audio_locked:
        # Asking is permission for this one person, even while the group is locked.
        target.audio_locked = False
        events.append(ParticipantUpdated(target))
    return events


def _on_stop_video(session: Session, actor: Participant, cmd: StopVideo, now: float) -> Events:
    target = find_target(session, cmd.target)
    not_facilitator(target)
    if not target.video_on:
        raise Refusal("invalid", "video is already off")
    target.video_on = False
    return [VideoForcedOff(target.id, actor.id), ParticipantUpdated(target)]


# -- the room -------------------------------------------------------------------------------


def departure_effects(session: Session, spotlight: str | None, queue: list[str]) -> Events:
    """Spotlight and hand queue events after someone left, given their values before."""
    events: Events = []
    if session.spotlight != spotlight:
        events.append(SpotlightChanged(session.spotlight))
    if session.hand_queue() != queue:
        events.append(hand_queue_changed(session))
    return events


def _on_remove(session: Session, actor: Participant, cmd: Remove, now: float) -> Events:
    target = find_target(session, cmd.target)  # someone waiting is denied, not removed
    not_facilitator(target)
    not_self(actor, target)
    spotlight, queue = session.spotlight, session.hand_queue()
    session.leave(target.id, now)
    session.removed.add(target.id)
    if target.rejoin_key_hash is not None:  # back only through the waiting room, or never
        session.readmit_keys.discard(target.rejoin_key_hash)
        session.knock_keys.add(target.rejoin_key_hash)
        if cmd.block:
            session.blocked_keys.add(target.rejoin_key_hash)
    blocked = cmd.block and (target.invite_id is not None or target.rejoin_key_hash is not None)
    if cmd.block and target.invite_id is not None:
        session.blocked_invites.add(target.invite_id)
    return [
        ParticipantRemoved(target.id, blocked),
        RemovedNotice(target.id, blocked),
        *departure_effects(session, spotlight, queue),
        *(_set_locked(session, actor, True) if cmd.lock else []),
    ]


def _set_locked(session: Session, actor: Participant, locked: bool) -> Events:
    if session.locked == locked:
        return []  # session-wide switches are idempotent: two leaders may click at once
    session.locked = locked
    return [SessionLockChanged(locked, actor.id)]


def _on_lock(session: Session, actor: Participant, cmd: Lock, now: float) -> Events:
    return _set_locked(session, actor, True)


def _on_unlock(session: Session, actor: Participant, cmd: Unlock, now: float) -> Events:
    return _set_locked(session, actor, False)


def _on_spotlight(session: Session, actor: Participant, cmd: Spotlight, now: float) -> Events:
    if cmd.target is not None:
        find_target(session, cmd.target)
    if session.spotlight == cmd.target:
        return []
    session.spotlight = cmd.target
    return [SpotlightChanged(cmd.target)]


def _on_set_private_chat(
    session: Session, actor: Participant, cmd: SetPrivateChat, now: float
) -> Events:
    if session.private_chat_allowed == cmd.allowed:
        return []
    session.private_chat_allowed = cmd.allowed
    return [PolicyChanged(session.participants_may_unmute, cmd.allowed)]


def _on_end(session: Session, actor: Participant, cmd: End, now: float) -> Events:
    session.ended_at = now
    for crisis in session.crises:  # an open response ends with the session, on its record
        if crisis.active:
            crisis.close(now, "session_ended", actor.id)
    return [
        SessionEnded(actor.id, now, Everyone()),
        *(SessionEnded(actor.id, now, Only(p.id)) for p in session.waiting()),
    ]


HANDLERS: dict[type[Command], Handler] = {
    Mute: _on_mute,
    MuteAll: _on_mute_all,
    AllowUnmute: _on_allow_unmute,
    AskUnmute: _on_ask_unmute,
    StopVideo: _on_stop_video,
    Remove: _on_remove,
    Lock: _on_lock,
    Unlock: _on_unlock,
    Spotlight: _on_spotlight,
    SetPrivateChat: _on_set_private_chat,
    End: _on_end,
}
