"""Checks and normal forms both backends apply before they write anything.

What one backend accepts the other must round-trip too, so the rules live here, once.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from server.store.records import (
    AUDIT_OUTCOMES,
    DELETION_REASONS,
    AuditEntry,
    CrisisRecord,
    DeletionEntry,
    Facilitator,
    Group,
    SummaryRecord,
)

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


def check_crisis(record: CrisisRecord) -> None:
    """Reject, before anything is written, a crisis record either backend could not keep."""
    if not record.session_id or not record.crisis_id:
        raise ValueError("a crisis record needs its session and crisis ids")
    if not isinstance(record.data, dict):
        raise ValueError("crisis data must be a JSON object")
    check_json(record.data)
    if not math.isfinite(record.started_at):
        raise ValueError("crisis started_at must be a finite number")


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


def check_live_state(session_id: str, state: dict[str, Any], at: float) -> None:
    """Reject, before anything is written, a live session state either backend could not
    round-trip (the same rules as a summary's data), or a non-finite time."""
    if not isinstance(session_id, str) or not session_id:
        raise ValueError("a live state needs a session id")
    _check_text(session_id, "live state session id")
    if not isinstance(state, dict):
        raise ValueError("a live state must be a JSON object")
    check_json(state, "live state")
    if not isinstance(at, int | float) or isinstance(at, bool) or not math.isfinite(at):
        raise ValueError("live state time must be a finite number")
