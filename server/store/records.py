"""The records the store keeps, and its errors.

Records are frozen dataclasses: callers get values, never handles to mutable store state, so a
change always goes through a store method (and into the persistent copy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

AuditOutcome = Literal["ok", "forbidden", "invalid", "not_found"]
AUDIT_OUTCOMES: tuple[AuditOutcome, ...] = ("ok", "forbidden", "invalid", "not_found")
DetailValue = str | int | float | bool | None
DEFAULT_AUDIT_LIMIT = 100


class StoreError(Exception):
    """Base of the store's own errors (reads never raise for missing ids; they return None)."""


class StoreConflict(StoreError):
    """A unique value is already taken: an id, a facilitator's email or an invite's token id.

    `field` names what collided so the API can say so (HTTP 409) without parsing the message.
    """

    def __init__(self, kind: str, field: str, value: str) -> None:
        super().__init__(f"{kind} with this {field} already exists: {value!r}")
        self.kind = kind
        self.field = field
        self.value = value


@dataclass(frozen=True, slots=True)
class Facilitator:
    """A therapist account. The store keeps `password_hash` as given (argon2, hashed by caller)."""

    id: str
    email: str  # unique case-insensitively; the store keeps it lower-cased
    password_hash: str
    display_name: str
    credentials: str  # shown next to the name, e.g. "LCSW"
    created_at: float  # unix seconds
    # Sign-in cookies carry it; sign-out, a password reset and disabling bump it, so every
    # cookie issued before stops working.
    token_version: int = 0
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class Group:
    """A standing therapy group; `facilitator_ids` always starts with the owner (co-leads after)."""

    id: str
    name: str
    owner_id: str
    facilitator_ids: tuple[str, ...]
    created_at: float


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One meeting. `created_by` is None when it was made with the API key, not by an account."""

    id: str
    title: str
    group_id: str | None
    created_by: str | None
    waiting_room: bool
    scheduled_start: str | None  # ISO 8601 with a zone, as the facilitator entered it
    created_at: float
    ended_at: float | None = None
    # Ask each participant where they are and whom to call at join (docs/crisis.md).
    safety_check: bool = True


@dataclass(frozen=True, slots=True)
class Invite:
    """A participant's standing invitation to a group.

    `token_id` is embedded in every token minted for this invite so the same person is
    recognised across sessions (and can be blocked from rejoining one of them).
    """

    id: str
    group_id: str
    label: str  # how the facilitator knows this participant; never shown to other participants
    token_id: str
    created_at: float
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One action in a session, allowed or refused.

    Build it with `id=0` (the default) and pass it to `Store.append_audit`, which returns a copy
    with the store's id: ids start at 1 and only grow within a store, across restarts too.
    """

    session_id: str
    actor_id: str
    actor_role: str
    action: str
    target_id: str | None
    detail: dict[str, DetailValue] = field(hash=False)
    at: float
    outcome: AuditOutcome
    id: int = 0


@dataclass(frozen=True, slots=True)
class SummaryRecord:
    """A session's engagement summary (built by rooms/summary.py): plain JSON values only."""

    session_id: str
    group_id: str | None
    data: dict[str, Any] = field(hash=False)
    updated_at: float  # unix seconds of the last write; retention counts from it
    final: bool  # False while the session runs ("in progress")


@dataclass(frozen=True, slots=True)
class CrisisRecord:
    """One crisis response in a session (rooms.controls.crisis), as the clinical record keeps
    it: `data` is plain JSON (who, when, the actions, the safety check at the time). Kept with
    the session's audit data: deleted with it, and by retention."""

    session_id: str
    crisis_id: str
    started_at: float
    data: dict[str, Any] = field(hash=False)


DeletionReason = Literal["deleted", "retention"]
DELETION_REASONS: tuple[DeletionReason, ...] = ("deleted", "retention")


@dataclass(frozen=True, slots=True)
class DeletionEntry:
    """A session's data was deleted: kept apart, so the record of it outlives the data."""

    session_id: str
    group_id: str | None
    by: str  # a facilitator id, "api-key" or "retention"
    reason: DeletionReason
    at: float
