"""The `Store` protocol and the records it keeps.

Accounts, groups, sessions, invites and the audit log all go through this one interface so the
server never knows whether it runs on the embedded SQLite file or on a shared Redis. Both
implementations must pass tests/store/test_store_contract.py, which is the real specification;
the docstrings here say what that suite checks.

Records are frozen dataclasses: callers get values, never handles to mutable store state, so a
change always goes through a store method (and into the persistent copy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

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


DeletionReason = Literal["deleted", "retention"]


@dataclass(frozen=True, slots=True)
class DeletionEntry:
    """A session's data was deleted: kept apart, so the record of it outlives the data."""

    session_id: str
    group_id: str | None
    by: str  # a facilitator id, "api-key" or "retention"
    reason: DeletionReason
    at: float


MAX_JSON_DEPTH = 64  # far deeper than any summary; msgpack itself gives up near 512
MSGPACK_INT_RANGE = (-(2**63), 2**64 - 1)  # what msgpack can carry; JSON text has no limit


def check_json(value: Any, where: str = "summary", depth: int = 0) -> None:
    """Reject what JSON and msgpack could not both carry faithfully: non-finite numbers, integers
    msgpack cannot hold, strings with lone surrogates (not UTF-8), keys that are not strings,
    nesting deeper than MAX_JSON_DEPTH, objects that are not plain values."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"{where}: nested deeper than {MAX_JSON_DEPTH}")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        _check_text(value, where)
        return
    if isinstance(value, int):
        if not MSGPACK_INT_RANGE[0] <= value <= MSGPACK_INT_RANGE[1]:
            raise ValueError(f"{where}: integer out of the 64-bit range")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: numbers must be finite")
        return
    if isinstance(value, list | tuple):
        for item in value:
            check_json(item, where, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: keys must be strings")
            _check_text(key, where)
            check_json(item, where, depth + 1)
        return
    raise ValueError(f"{where}: {type(value).__name__} is not a JSON value")


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{where}: strings must be valid Unicode (no lone surrogates)") from None


def check_summary(summary: SummaryRecord) -> None:
    """Reject, before anything is written, a summary either backend could not round-trip."""
    if not isinstance(summary.data, dict):
        raise ValueError("summary data must be a JSON object")
    check_json(summary.data)
    if not math.isfinite(summary.updated_at):
        raise ValueError("summary updated_at must be a finite number")


DELETION_REASONS: tuple[DeletionReason, ...] = ("deleted", "retention")


def check_deletion_entry(entry: DeletionEntry) -> None:
    """Reject a deletion record the log could not be read back by (reason, time)."""
    if entry.reason not in DELETION_REASONS:
        raise ValueError(f"unknown deletion reason {entry.reason!r}")
    if not math.isfinite(entry.at):
        raise ValueError("deletion time must be a finite number")


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively, so the stored and looked-up forms are lower-cased."""
    return email.strip().lower()


def normalized_facilitator(facilitator: Facilitator) -> Facilitator:
    return replace(facilitator, email=normalize_email(facilitator.email))


def normalized_group(group: Group) -> Group:
    """Owner first, then co-leads in the given order, each once: `groups_of` relies on it."""
    ids = dict.fromkeys((group.owner_id, *group.facilitator_ids))
    return replace(group, facilitator_ids=tuple(ids))


def check_audit_entry(entry: AuditEntry) -> None:
    """Reject what neither backend could round-trip faithfully, before anything is written."""
    if entry.outcome not in AUDIT_OUTCOMES:
        raise ValueError(f"unknown audit outcome {entry.outcome!r}")
    for key, value in entry.detail.items():
        if not isinstance(key, str) or not isinstance(value, str | int | float | bool | None):
            raise ValueError(f"audit detail {key!r} must map str to str/int/float/bool/None")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"audit detail {key!r} must be a finite number")


class Store(Protocol):
    """Everything Circle keeps between restarts.

    Reads of unknown ids return None (or an empty list); adds of a taken id or unique value raise
    `StoreConflict`. Lists come oldest first (by `created_at`, ties by id). The store does not
    check references between records (a session's group, an invite's group): the caller does,
    because it must also check who may see them.
    """

    async def add_facilitator(self, facilitator: Facilitator) -> Facilitator:
        """Store a new account; returns it as stored (email lower-cased)."""
        ...

    async def get_facilitator(self, facilitator_id: str) -> Facilitator | None: ...

    async def find_facilitator_by_email(self, email: str) -> Facilitator | None: ...

    async def update_facilitator_profile(
        self, facilitator_id: str, display_name: str, credentials: str
    ) -> Facilitator | None:
        """Change what participants see of a facilitator; None when there is no such account."""
        ...

    async def add_group(self, group: Group) -> Group:
        """Store a new group; returns it as stored (owner first in `facilitator_ids`)."""
        ...

    async def get_group(self, group_id: str) -> Group | None: ...

    async def groups_of(self, facilitator_id: str) -> list[Group]:
        """Groups the facilitator owns or co-leads."""
        ...

    async def add_group_facilitator(self, group_id: str, facilitator_id: str) -> Group | None:
        """Add a co-lead (no-op when already there); None when there is no such group."""
        ...

    async def add_session(self, session: SessionRecord) -> SessionRecord: ...

    async def get_session(self, session_id: str) -> SessionRecord | None: ...

    async def sessions_of_group(self, group_id: str) -> list[SessionRecord]: ...

    async def sessions_created_by(self, facilitator_id: str) -> list[SessionRecord]: ...

    async def end_session(self, session_id: str, at: float) -> SessionRecord | None:
        """Mark the session ended; the first end time is kept if it was already ended."""
        ...

    async def add_invite(self, invite: Invite) -> Invite: ...

    async def get_invite(self, invite_id: str) -> Invite | None: ...

    async def invites_of_group(self, group_id: str) -> list[Invite]:
        """All of the group's invites, revoked ones included (marked)."""
        ...

    async def get_invite_by_token_id(self, token_id: str) -> Invite | None:
        """The invite behind a token, revoked or not: the caller decides what revoked means."""
        ...

    async def revoke_invite(self, invite_id: str) -> Invite | None: ...

    async def block_invite(self, session_id: str, token_id: str) -> None:
        """Keep this invite's holder out of this session ("removed, block rejoin")."""
        ...

    async def unblock_invite(self, session_id: str, token_id: str) -> None: ...

    async def is_invite_blocked(self, session_id: str, token_id: str) -> bool: ...

    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        """Store the entry under a new id (the given id is ignored) and return it with that id."""
        ...

    async def audit_of_session(
        self, session_id: str, limit: int = DEFAULT_AUDIT_LIMIT
    ) -> list[AuditEntry]:
        """The session's latest `limit` entries, oldest first."""
        ...

    async def put_summary(self, summary: SummaryRecord) -> None:
        """Insert or replace a session's summary; a final one is never replaced by one still
        in progress. Data that is not plain JSON (see `check_json`), or a non-finite
        `updated_at`, is refused (ValueError) before any write."""
        ...

    async def get_summary(self, session_id: str) -> SummaryRecord | None: ...

    async def summaries_of_group(self, group_id: str) -> list[SummaryRecord]:
        """The summaries now filed under the group, oldest first by their session's
        `created_at` (by the summary's `updated_at` when the session record is gone), ties by
        session id."""
        ...

    async def delete_session_data(self, session_id: str) -> bool:
        """Delete the session's summary, audit log, invite blocks and record; True if any
        existed."""
        ...

    async def purge_summaries(self, older_than: float) -> list[str]:
        """Retention: delete the data (as delete_session_data) of every session whose summary
        was last written before `older_than`; their ids, oldest first."""
        ...

    async def append_deletion(self, entry: DeletionEntry) -> None:
        """Log a deletion apart from the data, so the log outlives it; an unknown `reason` is
        refused (ValueError)."""
        ...

    async def deletions(self, limit: int = DEFAULT_AUDIT_LIMIT) -> list[DeletionEntry]:
        """The latest `limit` deletions, oldest first."""
        ...

    async def close(self) -> None: ...
