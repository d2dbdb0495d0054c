"""Facilitator controls: commands checked against the actor's role and the session's state,
applied as state transitions that produce domain events.

    events = apply(session, actor_id, parse_command(body), now)

A refusal raises Refusal("forbidden" | "invalid" | "not_found", message) before anything
changes: every handler checks first and mutates after, so a refused command leaves the session
exactly as it was.

Audiences: `Everyone` is the admitted participants (the waiting room never hears the group),
`Leaders` the facilitators and cofacilitators, `Only(id)` one person. An event for several
audiences is emitted once per audience (a private chat message is two ChatMessage events,
`Only(sender)` and `Only(recipient)`); `recipients()` resolves an audience to ids and
`deliveries()` to what each recipient gets (a private 1:1 room shows only to the leaders and
to the person in it: `Participant.view_for`).
`Only(id)` may name someone no longer in the session (removed, denied): the server must deliver
it before dropping their connection.

One module a feature, each with its commands, events and a table of handlers: waiting_room,
moderation, participation (hands, reactions, chat, help), private_rooms, roles, engagement,
crisis (the safety check and crisis responses), and rooms.breakouts. dispatch parses and
authorizes commands and picks the handler; delivery and view are what the server tells people
outside of commands.
"""

from __future__ import annotations

from rooms.command import Events
from rooms.controls.common import ParticipantId
from rooms.controls.crisis import (
    CrisisAlert,
    CrisisChanged,
    CrisisEnd,
    CrisisNote,
    CrisisStart,
    GroupHandedOver,
    GroupHeld,
    SafetyShown,
    SafetyView,
)
from rooms.controls.delivery import deliveries, leave, recipients
from rooms.controls.dispatch import ACTIONS, Command, apply, audit_action, parse_command
from rooms.controls.engagement import (
    EngagementOptOut,
    EngagementOptOutChanged,
    EngagementSettings,
    EngagementSettingsChanged,
)
from rooms.controls.moderation import (
    AllowUnmute,
    AskUnmute,
    AudioForcedOff,
    End,
    Lock,
    Mute,
    MuteAll,
    ParticipantRemoved,
    PolicyChanged,
    Remove,
    RemovedNotice,
    SessionEnded,
    SessionLockChanged,
    SetPrivateChat,
    Spotlight,
    SpotlightChanged,
    StopVideo,
    Unlock,
    UnmuteRequested,
    VideoForcedOff,
)
from rooms.controls.participation import (
    REACTIONS,
    AwayChanged,
    Chat,
    ChatMessage,
    HandQueueChanged,
    Help,
    HelpRequested,
    HelpResolved,
    HelpResolvedEvent,
    LowerAllHands,
    LowerHand,
    RaiseHand,
    React,
    Reaction,
)
from rooms.controls.private_rooms import PrivateRoom, ReturnToMain
from rooms.controls.roles import Demote, Promote, RoleChanged
from rooms.controls.view import snapshot
from rooms.controls.waiting_room import (
    Admit,
    AdmitAll,
    Deny,
    ParticipantAdmitted,
    ParticipantDenied,
    ParticipantWaiting,
    events_for_join,
)
from rooms.model import Audience, DomainEvent, Everyone, Leaders, Only

__all__ = [
    "ACTIONS",
    "REACTIONS",
    "Admit",
    "AdmitAll",
    "AllowUnmute",
    "AskUnmute",
    "Audience",
    "AudioForcedOff",
    "AwayChanged",
    "Chat",
    "ChatMessage",
    "Command",
    "CrisisAlert",
    "CrisisChanged",
    "CrisisEnd",
    "CrisisNote",
    "CrisisStart",
    "Demote",
    "Deny",
    "DomainEvent",
    "End",
    "EngagementOptOut",
    "EngagementOptOutChanged",
    "EngagementSettings",
    "EngagementSettingsChanged",
    "Events",
    "Everyone",
    "GroupHandedOver",
    "GroupHeld",
    "HandQueueChanged",
    "Help",
    "HelpRequested",
    "HelpResolved",
    "HelpResolvedEvent",
    "Leaders",
    "Lock",
    "LowerAllHands",
    "LowerHand",
    "Mute",
    "MuteAll",
    "Only",
    "ParticipantAdmitted",
    "ParticipantDenied",
    "ParticipantId",
    "ParticipantRemoved",
    "ParticipantWaiting",
    "PolicyChanged",
    "PrivateRoom",
    "Promote",
    "RaiseHand",
    "React",
    "Reaction",
    "Remove",
    "RemovedNotice",
    "ReturnToMain",
    "RoleChanged",
    "SafetyShown",
    "SafetyView",
    "SessionEnded",
    "SessionLockChanged",
    "SetPrivateChat",
    "Spotlight",
    "SpotlightChanged",
    "StopVideo",
    "Unlock",
    "UnmuteRequested",
    "VideoForcedOff",
    "apply",
    "audit_action",
    "deliveries",
    "events_for_join",
    "leave",
    "parse_command",
    "recipients",
    "snapshot",
]
