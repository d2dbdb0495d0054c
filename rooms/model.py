"""Session, Room, Participant and Role, and the events their changes produce."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

MAIN_ROOM = "main"


class Role(StrEnum):
    FACILITATOR = "facilitator"
    COFACILITATOR = "cofacilitator"
    PARTICIPANT = "participant"

    @property
    def leads(self) -> bool:
        return self is not Role.PARTICIPANT


@dataclass
class Participant:
    id: str
    display_name: str
    role: Role
    joined_at: float
    room_id: str = MAIN_ROOM
    audio_on: bool = True
    video_on: bool = True

    def public(self) -> dict[str, object]:
        """What every member of the session may see of this participant."""
        return {
            "id": self.id,
            "name": self.display_name,
            "role": self.role.value,
            "room": self.room_id,
            "audio": self.audio_on,
            "video": self.video_on,
        }


@dataclass(frozen=True)
class ParticipantJoined:
    participant: Participant


@dataclass(frozen=True)
class ParticipantLeft:
    participant_id: str
    at: float


@dataclass(frozen=True)
class ParticipantUpdated:
    participant: Participant


Event = ParticipantJoined | ParticipantLeft | ParticipantUpdated


class SessionError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Session:
    id: str
    title: str
    created_at: float
    max_participants: int = 16
    participants: dict[str, Participant] = field(default_factory=dict)

    def join(self, pid: str, display_name: str, role: Role, now: float) -> ParticipantJoined:
        if pid in self.participants:
            raise SessionError("invalid", "already joined")
        if len(self.participants) >= self.max_participants:
            raise SessionError("full", f"this session is full ({self.max_participants} people)")
        name = " ".join(display_name.split())
        if not name:
            raise SessionError("invalid", "a name is required")
        participant = Participant(pid, name, role, joined_at=now)
        self.participants[pid] = participant
        return ParticipantJoined(participant)

    def leave(self, pid: str, now: float) -> ParticipantLeft | None:
        if self.participants.pop(pid, None) is None:
            return None
        return ParticipantLeft(pid, now)

    def set_media_state(
        self, pid: str, audio: bool | None, video: bool | None
    ) -> ParticipantUpdated:
        participant = self.participants.get(pid)
        if participant is None:
            raise SessionError("not_found", "not in this session")
        if audio is not None:
            participant.audio_on = audio
        if video is not None:
            participant.video_on = video
        return ParticipantUpdated(participant)
