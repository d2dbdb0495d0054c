"""Session, Room, Participant and Role, and the events their changes produce.

Every event has a `name` (the socket.io event the server emits), an `audience` (who receives
it) and a `payload()` of plain JSON/msgpack values."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Protocol, runtime_checkable

from rooms.crisis_state import Crisis, Holding, SafetyInfo
from rooms.errors import Refusal
from rooms.validation import clean_text

MAIN_ROOM = "main"
PRIVATE_ROOM_PREFIX = "private-"  # + the participant id: a leader's 1:1 room with them


class Role(StrEnum):
    FACILITATOR = "facilitator"
    COFACILITATOR = "cofacilitator"
    PARTICIPANT = "participant"

    @property
    def leads(self) -> bool:
        return self is not Role.PARTICIPANT


# -- audiences ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Everyone:
    """Every admitted participant of the session (never the waiting room)."""


@dataclass(frozen=True)
class Leaders:
    """Facilitators and cofacilitators only."""


@dataclass(frozen=True)
class Only:
    """One participant; may be someone just removed or denied, whom the server still reaches."""

    participant_id: str


Audience = Everyone | Leaders | Only


class DomainEvent(Protocol):
    name: ClassVar[str]

    @property
    def audience(self) -> Audience: ...

    def payload(self) -> dict[str, object]: ...


@runtime_checkable
class PerViewer(Protocol):
    """An event whose payload depends on who receives it (a participant's private room is
    told to the leaders and to the person only); `payload()` is the group's view."""

    def payload_for(self, viewer: Participant | None) -> dict[str, object]: ...


# -- participants ---------------------------------------------------------------------------


@dataclass
class Participant:
    id: str
    display_name: str
    role: Role
    joined_at: float
    room_id: str = MAIN_ROOM
    audio_on: bool = True
    video_on: bool = True
    admitted: bool = True  # False while in the waiting room
    invite_id: str | None = None  # the personal invite they joined with, if any
    invite_label: str = ""  # that invite's label, as the facilitator named it (leaders see it)
    credentials: str = ""  # a leader's professional credentials, e.g. "LCSW", from their profile
    # The hash of the rejoin key the server gave this seat's page (never the key itself): once
    # admitted, a page that drops and reconnects with it comes straight back in.
    rejoin_key_hash: str | None = None
    # The link the seat was made with (role and invite, general link or account): the key
    # resumes the seat only through that same link.
    link: str = ""
    # A knock from a personal link whose seat is taken: that seat's id (the leaders are told the
    # person is joining again from another device).
    another_device_of: str | None = None
    hand_raised_at: float | None = None
    help_requested_at: float | None = None
    # May not unmute themselves. Kept by Session from its policy (`participants_may_unmute`),
    # the role (leaders are never locked) and per-person `ask_unmute` grants.
    audio_locked: bool = False
    # Their connection dropped at this time: they keep their place (room, role, hand, ...)
    # until they come back or the session's reconnect grace runs out.
    disconnected_at: float | None = None
    # Stepped away on their own (to take a call, answer the door): the group neither sees nor
    # hears them until they come back. A private talk looks exactly the same to the group.
    stepped_away: bool = False

    @property
    def in_private_room(self) -> bool:
        return self.room_id.startswith(PRIVATE_ROOM_PREFIX)

    @property
    def away(self) -> bool:
        """Away from the group: stepped away on their own, or in a 1:1 room."""
        return self.stepped_away or self.in_private_room

    def public(self) -> dict[str, object]:
        """What every member of the session may see of this participant. A 1:1 room is
        private: the group sees both its people in the main room as stepped away, exactly as
        anyone who steps away on their own (nothing of their microphone, camera or hand), never
        who is with whom."""
        if self.away:
            hidden = {"audio": False, "video": False, "hand": False}
        else:
            hidden = {
                "audio": self.audio_on,
                "video": self.video_on,
                "hand": self.hand_raised_at is not None,
            }
        return {
            "id": self.id,
            "name": self.display_name,
            "credentials": self.credentials,
            "role": self.role.value,
            "room": MAIN_ROOM if self.in_private_room else self.room_id,
            "away": self.away,
            **hidden,
            "admitted": self.admitted,
            "audio_locked": self.audio_locked,
            "reconnecting": self.disconnected_at is not None,
        }

    def full(self) -> dict[str, object]:
        """What the leaders, the person themselves and whoever shares their 1:1 room see: the
        real room, microphone, camera and hand; `away` only for a step-away of their own."""
        return {
            **self.public(),
            "room": self.room_id,
            "away": self.stepped_away,
            "audio": self.audio_on,
            "video": self.video_on,
            "hand": self.hand_raised_at is not None,
        }

    def view_for(self, viewer: Participant | None) -> dict[str, object]:
        """This participant as `viewer` may see them (None: someone outside the session)."""
        if viewer is not None and (
            viewer.id == self.id
            or viewer.role.leads
            or (self.in_private_room and viewer.room_id == self.room_id)
        ):
            return self.full()
        return self.public()


# -- the session's own events ---------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantJoined:
    """An admitted participant joined (see rooms.controls.events_for_join for the waiting room)."""

    participant: Participant
    name: ClassVar[str] = "participant_joined"

    @property
    def audience(self) -> Audience:
        return Everyone()

    def payload(self) -> dict[str, object]:
        return self.participant.public()

    def payload_for(self, viewer: Participant | None) -> dict[str, object]:
        return self.participant.view_for(viewer)


@dataclass(frozen=True)
class ParticipantLeft:
    participant_id: str
    at: float
    admitted: bool = True  # a waiting participant's leaving concerns only the leaders
    name: ClassVar[str] = "participant_left"

    @property
    def audience(self) -> Audience:
        return Everyone() if self.admitted else Leaders()

    def payload(self) -> dict[str, object]:
        return {"participant_id": self.participant_id}


@dataclass(frozen=True)
class ParticipantUpdated:
    """Emit at once: the payload is read from the live participant."""

    participant: Participant
    name: ClassVar[str] = "participant_updated"

    @property
    def audience(self) -> Audience:
        return Everyone() if self.participant.admitted else Leaders()

    def payload(self) -> dict[str, object]:
        return self.participant.public()

    def payload_for(self, viewer: Participant | None) -> dict[str, object]:
        return self.participant.view_for(viewer)


@dataclass(frozen=True)
class RoomChanged:
    """Tells the moved participant where they are now and who else is there."""

    target: str
    room_id: str
    with_ids: tuple[str, ...]
    name: ClassVar[str] = "room_changed"

    @property
    def audience(self) -> Audience:
        return Only(self.target)

    def payload(self) -> dict[str, object]:
        return {"room": self.room_id, "with": list(self.with_ids)}


Event = ParticipantJoined | ParticipantLeft | ParticipantUpdated | RoomChanged


@dataclass
class BreakoutRoom:
    id: str
    name: str


@dataclass
class Breakouts:
    """The breakout plan and, while open, its timer (logic: rooms.breakouts)."""

    rooms: list[BreakoutRoom] = field(default_factory=list)
    assignment: dict[str, str] = field(default_factory=dict)  # participant id -> room id
    previous: dict[str, str] = field(default_factory=dict)  # the last opened assignment
    keep_apart: set[frozenset[str]] = field(default_factory=set)  # pairs of participant ids
    participants_choose: bool = False
    opened_at: float | None = None
    ends_at: float | None = None  # None: no time limit
    closes_at: float | None = None  # set: the return countdown runs until then
    return_countdown_s: float = 60.0

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def room(self, room_id: str) -> BreakoutRoom | None:
        return next((r for r in self.rooms if r.id == room_id), None)


@dataclass
class Session:
    id: str
    title: str
    created_at: float
    max_participants: int = 16
    participants: dict[str, Participant] = field(default_factory=dict)
    # DESIGN.md wants the waiting room on by default; the server passes it explicitly. The
    # dataclass default stays off until the server handles waiting participants.
    waiting_room: bool = False
    locked: bool = False  # nobody (leaders included) may join
    spotlight: str | None = None
    participants_may_unmute: bool = True
    # Participant-to-participant private chat: off in group therapy unless the facilitator
    # turns it on (leaders are always reachable, and always reach anyone).
    private_chat_allowed: bool = False
    blocked_invites: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)  # ids removed or denied by a leader
    # Rejoin keys by their hashes only (the keys themselves are never kept): of people admitted,
    readmit_keys: set[str] = field(default_factory=set)
    # Who left, by what identifies them on a return (key hash and link, personal invite): a
    # person who comes back after their place has lapsed is still the same person (same id).
    returning_ids: dict[str, str] = field(default_factory=dict)
    knock_keys: set[str] = field(default_factory=set)  # of the removed: they knock again
    blocked_keys: set[str] = field(default_factory=set)  # of the removed and blocked
    max_waiting: int = 32  # the waiting room's own cap: knocks never fill the session
    breakouts: Breakouts = field(default_factory=Breakouts)
    ended_at: float | None = None
    # Crisis readiness (rooms.controls.crisis): the safety check at join, each participant's
    # answer (in memory only: `persist` False keeps it out of the saved live state), the
    # crisis responses, and the message holding the group while no leader is in it.
    safety_check: bool = True
    safety: dict[str, SafetyInfo] = field(default_factory=dict, metadata={"persist": False})
    # Answers a person gave again during their crisis response (a new entry, never a silent
    # replacement): for the crisis record only, like `safety` never in the saved state.
    safety_updates: dict[str, list[SafetyInfo]] = field(
        default_factory=dict, metadata={"persist": False}
    )
    crises: list[Crisis] = field(default_factory=list)
    holding: Holding | None = None

    def join(
        self,
        pid: str,
        display_name: str,
        role: Role,
        now: float,
        *,
        invite_id: str | None = None,
        invite_label: str = "",
        credentials: str = "",
        rejoin_key_hash: str | None = None,
        link: str = "",
        knock: bool = False,
        another_device_of: str | None = None,
    ) -> ParticipantJoined:
        """`knock`: to the waiting room whatever the role and the session's setting (a seat
        claimed from another link or device, a co-lead link without an account)."""
        if pid in self.participants:
            raise Refusal("invalid", "already joined")
        if pid in self.removed:
            raise Refusal("invalid", "this participant was removed from the session")
        if self.ended_at is not None:
            raise Refusal("ended", "this session has ended")
        if self.locked:
            raise Refusal("locked", "this session is locked; nobody else can join")
        key = rejoin_key_hash
        if (invite_id is not None and invite_id in self.blocked_invites) or (
            key is not None and key in self.blocked_keys
        ):
            raise Refusal("blocked", "this invite can no longer join the session")
        admitted = not knock and (
            role.leads
            or key in self.readmit_keys
            or (not self.waiting_room and key not in self.knock_keys)
        )
        self.check_room(role, admitted)
        name = clean_text(display_name)
        if not name:
            raise Refusal("invalid", "a name is required")
        participant = Participant(
            pid,
            name,
            role,
            joined_at=now,
            admitted=admitted,
            invite_id=invite_id,
            invite_label=clean_text(invite_label)[:80],
            credentials=" ".join(credentials.split()),
            rejoin_key_hash=key,
            link=link,
            another_device_of=another_device_of,
        )
        if participant.admitted and key is not None:
            self.readmit_keys.add(key)
        self.sync_audio_lock(participant)
        if participant.audio_locked:
            participant.audio_on = False  # joining during a locked mute: come in muted
        self.participants[pid] = participant
        return ParticipantJoined(participant)

    def leave(self, pid: str, now: float) -> ParticipantLeft | None:
        participant = self.participants.pop(pid, None)
        if participant is None:
            return None
        if self.spotlight == pid:
            self.spotlight = None
        return ParticipantLeft(pid, now, admitted=participant.admitted)

    def set_media_state(
        self, pid: str, audio: bool | None, video: bool | None
    ) -> ParticipantUpdated:
        participant = self.participants.get(pid)
        if participant is None:
            raise Refusal("not_found", "not in this session")
        if audio and not participant.audio_on and participant.audio_locked:
            raise Refusal("forbidden", "a facilitator has muted you; raise your hand to speak")
        if audio is not None:
            participant.audio_on = audio
        if video is not None:
            participant.video_on = video
        return ParticipantUpdated(participant)

    def move(self, people: list[Participant], room_id: str) -> list[DomainEvent]:
        """Put people in a room; each is told where they are and with whom (media follows)."""
        for p in people:
            p.room_id = room_id
        together = tuple(p.id for p in self.admitted() if p.room_id == room_id)
        return [
            *(ParticipantUpdated(p) for p in people),
            *(RoomChanged(p.id, room_id, tuple(i for i in together if i != p.id)) for p in people),
        ]

    # -- queries and invariants used by rooms.controls --------------------------------------

    def admitted(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.admitted]

    def waiting(self) -> list[Participant]:
        return [p for p in self.participants.values() if not p.admitted]

    def hand_queue(self) -> list[str]:
        """Raised hands, first raised first (ties: join order, then id, to stay stable)."""
        raised = [p for p in self.admitted() if p.hand_raised_at is not None]
        raised.sort(key=lambda p: (p.hand_raised_at, p.joined_at, p.id))
        return [p.id for p in raised]

    def check_room(self, role: Role, admitted: bool) -> None:
        """Only admitted people count against the size, leaders always get in, and the
        waiting room has its own cap."""
        if role.leads:
            return
        if admitted and len(self.admitted()) >= self.max_participants:
            raise Refusal("full", f"this session is full ({self.max_participants} people)")
        if not admitted and len(self.waiting()) >= self.max_waiting:
            raise Refusal("full", "the waiting room is full; try again in a moment")

    def sync_audio_lock(self, participant: Participant) -> None:
        """Apply the session's unmute policy to one participant (leaders are never locked)."""
        participant.audio_locked = not self.participants_may_unmute and not participant.role.leads
