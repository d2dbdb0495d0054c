"""The `Store` protocol (and, re-exported, the records it keeps and the checks on them).

Accounts, groups, sessions, invites and the audit log all go through this one interface so the
server never knows whether it runs on the embedded SQLite file or on a shared Redis. Both
implementations must pass tests/store/test_store_contract.py, which is the real specification;
the docstrings here say what that suite checks.

The records live in server/store/records.py, the checks both backends apply before writing in
server/store/validation.py; everything is importable from here as before.
"""

from __future__ import annotations

from typing import Any, Protocol

from server.store.records import (
    AUDIT_OUTCOMES,
    DEFAULT_AUDIT_LIMIT,
    DELETION_REASONS,
    AuditEntry,
    AuditOutcome,
    CrisisRecord,
    DeletionEntry,
    DeletionReason,
    DetailValue,
    Facilitator,
    Group,
    Invite,
    SessionRecord,
    StoreConflict,
    StoreError,
    SummaryRecord,
)
from server.store.validation import (
    MAX_JSON_DEPTH,
    MSGPACK_INT_RANGE,
    check_audit_entry,
    check_crisis,
    check_deletion_entry,
    check_json,
    check_live_state,
    check_summary,
    normalize_email,
    normalized_facilitator,
    normalized_group,
)

__all__ = [
    "AUDIT_OUTCOMES",
    "DEFAULT_AUDIT_LIMIT",
    "DELETION_REASONS",
    "MAX_JSON_DEPTH",
    "MSGPACK_INT_RANGE",
    "AuditEntry",
    "AuditOutcome",
    "CrisisRecord",
    "DeletionEntry",
    "DeletionReason",
    "DetailValue",
    "Facilitator",
    "Group",
    "Invite",
    "SessionRecord",
    "Store",
    "StoreConflict",
    "StoreError",
    "SummaryRecord",
    "check_audit_entry",
    "check_crisis",
    "check_deletion_entry",
    "check_json",
    "check_live_state",
    "check_summary",
    "normalize_email",
    "normalized_facilitator",
    "normalized_group",
]


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

    async def update_facilitator_access(
        self, facilitator_id: str, *, password_hash: str | None = None, disabled: bool | None = None
    ) -> Facilitator | None:
        """Bump the token version (every cookie issued before stops working), setting a new
        password hash or the disabled flag if given; None when there is no such account."""
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

    async def put_crisis(self, record: CrisisRecord) -> None:
        """Insert or replace one crisis record (by session and crisis id). Data that is not
        plain JSON, empty ids or a non-finite `started_at` are refused (ValueError) before any
        write. Deleted with the session's data (delete_session_data, purge_summaries)."""
        ...

    async def crises_of_session(self, session_id: str) -> list[CrisisRecord]:
        """The session's crisis records, by `started_at` then crisis id."""
        ...

    async def put_summary(self, summary: SummaryRecord) -> None:
        """Insert or replace a session's summary; the newest stands (a write older than the
        stored one, say a flush that raced the session's end, is ignored), so a session that
        goes on after a final summary replaces it with the merged one. Data that is not plain
        JSON (see `check_json`), or a non-finite `updated_at`, is refused (ValueError) before
        any write."""
        ...

    async def get_summary(self, session_id: str) -> SummaryRecord | None: ...

    async def summaries_of_group(self, group_id: str) -> list[SummaryRecord]:
        """The summaries now filed under the group, oldest first by their session's
        `created_at` (by the summary's `updated_at` when the session record is gone), ties by
        session id."""
        ...

    async def put_live_state(self, session_id: str, state: dict[str, Any], at: float) -> None:
        """Insert or replace a running session's state (rooms.persistence.session_state) as of
        `at`. Data that is not plain JSON (see `check_json`), an empty session id or a
        non-finite `at` is refused (ValueError) before any write."""
        ...

    async def get_live_state(self, session_id: str) -> dict[str, Any] | None: ...

    async def live_states(self) -> list[tuple[str, dict[str, Any]]]:
        """Every stored live state, by session id (what the server restores at start-up)."""
        ...

    async def delete_live_state(self, session_id: str) -> None:
        """Forget a session's live state (no-op when there is none)."""
        ...

    async def delete_session_data(self, session_id: str) -> bool:
        """Delete the session's summary, audit log, crisis records, invite blocks, live state and
        record; True if any existed."""
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

    async def ping(self) -> None:
        """Return once the store answers; raise (StoreError, RedisError, OSError, ...) when
        it cannot be reached."""
        ...

    async def close(self) -> None: ...
