"""What a crisis response keeps in the session: the safety check a participant gave at join
(held in memory only, never saved with the live state), the crisis records, and the message
that holds the group while its facilitator is away (logic: rooms.controls.crisis)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# what a crisis record's actions may be: the leader's (typed notes and the three buttons) and
# what the server notes by itself (the group handed over or held, a drop and a return)
CrisisActionKind = Literal[
    "started",
    "note",
    "called_emergency",
    "contacted_contact",
    "group_handed_over",
    "group_held",
    "dropped",
    "returned",
    "safety_updated",  # given again during the response: a new entry, the answers kept
    "left",
    "resolved",
    "session_ended",
]

HOLDING_MESSAGE = "The facilitator stepped away for a moment; please take a few minutes to reflect."


@dataclass
class SafetyInfo:
    """Where the participant is now and whom to call: seen by leaders only, on request."""

    location: str
    contact_name: str = ""
    contact_phone: str = ""
    given_at: float = 0.0

    @classmethod
    def from_payload(cls, data: dict[str, object]) -> SafetyInfo:
        """Back from `payload` (a crisis record keeps it)."""
        given_at = data.get("given_at")
        return cls(
            str(data.get("location", "")),
            str(data.get("contact_name", "")),
            str(data.get("contact_phone", "")),
            float(given_at) if isinstance(given_at, int | float) else 0.0,
        )

    def payload(self) -> dict[str, object]:
        return {
            "location": self.location,
            "contact_name": self.contact_name,
            "contact_phone": self.contact_phone,
            "given_at": self.given_at,
        }


@dataclass
class CrisisAction:
    at: float
    kind: str  # a CrisisActionKind (a plain str: rooms.persistence carries no Literal)
    by: str = ""  # the leader's participant id; "" for what the server noted itself
    note: str = ""


@dataclass
class Crisis:
    """One crisis response: for `participant_id`, started by the leader `leader_id`."""

    id: str
    participant_id: str
    leader_id: str
    started_at: float
    ended_at: float | None = None
    group_lead: str | None = None  # the co-leader who was handed the group, if any
    participant_name: str = ""  # as they were called when it started: the record outlives them
    actions: list[CrisisAction] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.ended_at is None

    def note(self, at: float, kind: CrisisActionKind, by: str = "", note: str = "") -> None:
        self.actions.append(CrisisAction(at, kind, by, note))

    def close(self, at: float, kind: CrisisActionKind, by: str = "", note: str = "") -> None:
        self.note(at, kind, by, note)
        self.ended_at = at

    def payload(self) -> dict[str, object]:
        return {
            "id": self.id,
            "participant_id": self.participant_id,
            "leader_id": self.leader_id,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "group_lead": self.group_lead,
            "actions": [
                {"at": a.at, "kind": a.kind, "by": a.by, "note": a.note} for a in self.actions
            ],
        }


@dataclass
class Holding:
    """The group is held: no leader in the main room; everyone there sees this message."""

    message: str
    since: float
