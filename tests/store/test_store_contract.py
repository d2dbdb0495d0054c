"""The `Store` contract: every test here runs on SQLite and on Redis (see conftest.py).

A backend is right when it passes this file unchanged; backend-specific checks (file location,
key layout) are at the end and say so.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import msgpack
import pytest

from server.store import (
    SQLITE_FILE_NAME,
    AuditEntry,
    DeletionEntry,
    Facilitator,
    Group,
    Invite,
    RedisStore,
    SessionRecord,
    SQLiteStore,
    Store,
    StoreConflict,
    SummaryRecord,
    open_store,
)
from server.store.sqlite import MIGRATIONS, SCHEMA_VERSION
from tests.store.conftest import Backend, RedisServer, StoreConfig

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"  # shape only


def facilitator(n: int = 1, email: str | None = None, at: float = 1000.0) -> Facilitator:
    return Facilitator(
        id=f"fac-{n}",
        email=email or f"therapist{n}@example.org",
        password_hash=HASH,
        display_name=f"Dr. Therapist {n}",
        credentials="LCSW",
        created_at=at,
    )


def group(gid: str, owner: str = "fac-1", at: float = 2000.0, *co: str) -> Group:
    return Group(id=gid, name=f"Group {gid}", owner_id=owner, facilitator_ids=co, created_at=at)


def session(
    sid: str, group_id: str | None = "g-1", by: str | None = "fac-1", at: float = 3000.0
) -> SessionRecord:
    return SessionRecord(
        id=sid,
        title=f"Session {sid}",
        group_id=group_id,
        created_by=by,
        waiting_room=True,
        scheduled_start="2031-03-04T18:30:00-05:00",
        created_at=at,
    )


def invite(iid: str, token_id: str, group_id: str = "g-1", at: float = 4000.0) -> Invite:
    return Invite(id=iid, group_id=group_id, label=f"P. {iid}", token_id=token_id, created_at=at)


def audit(session_id: str, action: str, at: float = 5000.0) -> AuditEntry:
    return AuditEntry(
        session_id=session_id,
        actor_id="fac-1",
        actor_role="facilitator",
        action=action,
        target_id="p-7",
        detail={"reason": "disruptive", "count": 3, "ratio": 0.5, "block": True, "note": None},
        at=at,
        outcome="ok",
    )


# facilitators


async def test_ping_answers_while_the_backend_is_up(store: Store) -> None:
    assert await store.ping() is None  # /readyz's probe: it raises when unreachable


async def test_facilitator_round_trip_lower_cases_the_email(store: Store) -> None:
    stored = await store.add_facilitator(facilitator(1, email="  Dana.Lee@Example.ORG "))

    assert stored == replace(facilitator(1), email="dana.lee@example.org")
    assert await store.get_facilitator("fac-1") == stored
    assert await store.find_facilitator_by_email("DANA.LEE@example.org") == stored
    assert await store.find_facilitator_by_email("dana.lee@example.org") == stored
    assert await store.find_facilitator_by_email("other@example.org") is None


async def test_email_is_unique_whatever_its_case(store: Store) -> None:
    first = await store.add_facilitator(facilitator(1, email="dana@example.org"))

    with pytest.raises(StoreConflict) as conflict:
        await store.add_facilitator(facilitator(2, email="DANA@Example.org"))
    assert conflict.value.field == "email"
    with pytest.raises(StoreConflict) as conflict:
        await store.add_facilitator(facilitator(1, email="someone.else@example.org"))
    assert conflict.value.field == "id"

    assert await store.get_facilitator("fac-2") is None
    assert await store.find_facilitator_by_email("someone.else@example.org") is None
    assert await store.find_facilitator_by_email("dana@example.org") == first


async def test_concurrent_signups_with_one_email_leave_one_account(store: Store) -> None:
    attempts = [facilitator(n, email="same@example.org") for n in range(8)]

    results = await asyncio.gather(
        *(store.add_facilitator(f) for f in attempts), return_exceptions=True
    )

    created = [r for r in results if isinstance(r, Facilitator)]
    assert len(created) == 1
    assert all(isinstance(r, StoreConflict) for r in results if r not in created)
    assert await store.find_facilitator_by_email("same@example.org") == created[0]


async def test_profile_update_changes_only_the_profile(store: Store) -> None:
    await store.add_facilitator(facilitator(1))

    updated = await store.update_facilitator_profile("fac-1", "Dana Lee", "LMFT")

    assert updated == replace(facilitator(1), display_name="Dana Lee", credentials="LMFT")
    assert await store.get_facilitator("fac-1") == updated
    assert await store.find_facilitator_by_email(facilitator(1).email) == updated
    assert await store.update_facilitator_profile("nobody", "X", "Y") is None


async def test_access_changes_bump_the_token_version(store: Store) -> None:
    await store.add_facilitator(facilitator(1))
    assert (await store.get_facilitator("fac-1")).token_version == 0  # type: ignore[union-attr]
    signed_out = await store.update_facilitator_access("fac-1")
    assert signed_out == replace(facilitator(1), token_version=1)
    reset = await store.update_facilitator_access("fac-1", password_hash="h2")
    assert reset == replace(facilitator(1), token_version=2, password_hash="h2")
    disabled = await store.update_facilitator_access("fac-1", disabled=True)
    assert disabled == replace(reset, token_version=3, disabled=True)
    assert await store.find_facilitator_by_email(facilitator(1).email) == disabled
    assert await store.update_facilitator_access("nobody") is None


# groups


async def test_group_round_trip_keeps_the_owner_first_once(store: Store) -> None:
    stored = await store.add_group(group("g-1", "fac-1", 2000.0, "fac-2", "fac-1", "fac-2"))

    assert stored.facilitator_ids == ("fac-1", "fac-2")
    assert await store.get_group("g-1") == stored
    with pytest.raises(StoreConflict):
        await store.add_group(group("g-1", "fac-9"))
    assert await store.get_group("g-1") == stored


async def test_groups_of_lists_owned_and_co_led_groups_oldest_first(store: Store) -> None:
    await store.add_group(group("g-late", "fac-1", 3000.0))
    await store.add_group(group("g-b", "fac-2", 2000.0, "fac-1"))
    await store.add_group(group("g-a", "fac-1", 2000.0))  # same time: the id breaks the tie
    await store.add_group(group("g-other", "fac-3", 1000.0))

    assert [g.id for g in await store.groups_of("fac-1")] == ["g-a", "g-b", "g-late"]
    assert [g.id for g in await store.groups_of("fac-2")] == ["g-b"]
    assert await store.groups_of("fac-4") == []


async def test_adding_a_co_lead_is_idempotent(store: Store) -> None:
    await store.add_group(group("g-1", "fac-1"))

    once = await store.add_group_facilitator("g-1", "fac-2")
    twice = await store.add_group_facilitator("g-1", "fac-2")
    owner_again = await store.add_group_facilitator("g-1", "fac-1")

    assert once is not None and once.facilitator_ids == ("fac-1", "fac-2")
    assert twice == once == owner_again == await store.get_group("g-1")
    assert [g.id for g in await store.groups_of("fac-2")] == ["g-1"]
    assert await store.add_group_facilitator("no-group", "fac-2") is None
    assert await store.groups_of("fac-2") == [once]


async def test_co_leads_added_at_once_are_all_kept(store: Store) -> None:
    await store.add_group(group("g-1", "fac-1"))

    await asyncio.gather(*(store.add_group_facilitator("g-1", f"co-{n}") for n in range(6)))

    stored = await store.get_group("g-1")
    assert stored is not None
    assert stored.facilitator_ids[0] == "fac-1"
    assert sorted(stored.facilitator_ids[1:]) == [f"co-{n}" for n in range(6)]


# sessions


async def test_session_round_trip(store: Store) -> None:
    full = await store.add_session(session("s-1"))
    bare = await store.add_session(
        replace(session("s-2", group_id=None, by=None), waiting_room=False, scheduled_start=None)
    )

    assert await store.get_session("s-1") == full == session("s-1")
    assert await store.get_session("s-2") == bare
    assert bare.group_id is None and bare.created_by is None and bare.ended_at is None
    with pytest.raises(StoreConflict):
        await store.add_session(session("s-1", group_id="g-2"))
    assert await store.sessions_of_group("g-2") == []


async def test_sessions_by_group_and_by_creator_come_oldest_first(store: Store) -> None:
    await store.add_session(session("s-3", "g-1", "fac-2", 3000.0))
    await store.add_session(session("s-2", "g-1", "fac-1", 2000.0))
    await store.add_session(session("s-1", "g-1", "fac-1", 2000.0))
    await store.add_session(session("s-4", "g-2", "fac-1", 1000.0))
    await store.add_session(session("s-5", None, None, 500.0))

    assert [s.id for s in await store.sessions_of_group("g-1")] == ["s-1", "s-2", "s-3"]
    assert [s.id for s in await store.sessions_of_group("g-2")] == ["s-4"]
    assert [s.id for s in await store.sessions_created_by("fac-1")] == ["s-4", "s-1", "s-2"]
    assert [s.id for s in await store.sessions_created_by("fac-2")] == ["s-3"]
    assert await store.sessions_created_by("fac-9") == []


async def test_ending_a_session_keeps_the_first_end_time(store: Store) -> None:
    await store.add_session(session("s-1"))

    ended = await store.end_session("s-1", 9000.5)
    again = await store.end_session("s-1", 9999.0)

    assert ended == replace(session("s-1"), ended_at=9000.5) == again
    assert await store.get_session("s-1") == ended
    assert await store.sessions_of_group("g-1") == [ended]
    assert await store.end_session("s-missing", 1.0) is None


# invites


async def test_invite_lookup_by_token_id_and_revocation(store: Store) -> None:
    first = await store.add_invite(invite("i-1", "tok-aaa", at=4000.0))
    second = await store.add_invite(invite("i-2", "tok-bbb", at=3000.0))
    await store.add_invite(invite("i-3", "tok-ccc", group_id="g-2"))

    assert await store.get_invite("i-1") == first
    assert await store.get_invite_by_token_id("tok-aaa") == first
    assert await store.get_invite_by_token_id("tok-zzz") is None

    revoked = await store.revoke_invite("i-1")

    assert revoked == replace(first, revoked=True)
    assert await store.revoke_invite("i-1") == revoked
    assert await store.get_invite_by_token_id("tok-aaa") == revoked  # still found, marked
    assert await store.invites_of_group("g-1") == [second, revoked]
    assert await store.revoke_invite("i-missing") is None


async def test_invite_ids_and_token_ids_are_unique(store: Store) -> None:
    first = await store.add_invite(invite("i-1", "tok-aaa"))

    with pytest.raises(StoreConflict) as conflict:
        await store.add_invite(invite("i-2", "tok-aaa"))
    assert conflict.value.field == "token_id"
    with pytest.raises(StoreConflict) as conflict:
        await store.add_invite(invite("i-1", "tok-bbb"))
    assert conflict.value.field == "id"

    assert await store.invites_of_group("g-1") == [first]
    assert await store.get_invite_by_token_id("tok-bbb") is None


async def test_blocking_is_per_session_and_per_invite(store: Store) -> None:
    await store.block_invite("s-1", "tok-aaa")
    await store.block_invite("s-1", "tok-aaa")  # twice is once

    assert await store.is_invite_blocked("s-1", "tok-aaa")
    assert not await store.is_invite_blocked("s-1", "tok-bbb")
    assert not await store.is_invite_blocked("s-2", "tok-aaa")

    await store.unblock_invite("s-1", "tok-aaa")
    await store.unblock_invite("s-1", "tok-never-blocked")

    assert not await store.is_invite_blocked("s-1", "tok-aaa")


# audit


async def test_audit_ids_increase_and_entries_come_back_oldest_first(store: Store) -> None:
    appended = [await store.append_audit(audit("s-1", f"action-{n}")) for n in range(3)]
    other = await store.append_audit(audit("s-2", "elsewhere"))

    ids = [e.id for e in appended]
    assert ids[0] >= 1 and ids == sorted(ids) and len(set(ids)) == 3
    assert other.id > ids[-1]
    assert appended[0] == replace(audit("s-1", "action-0"), id=ids[0])
    back = await store.audit_of_session("s-1")
    assert back == appended
    detail = back[0].detail
    assert [type(detail[k]) for k in ("reason", "count", "ratio", "block")] == [
        str,
        int,
        float,
        bool,
    ]
    assert detail["note"] is None
    assert await store.audit_of_session("s-2") == [other]
    assert await store.audit_of_session("s-3") == []


async def test_audit_ignores_a_given_id_and_records_refusals(store: Store) -> None:
    refused = replace(audit("s-1", "mute"), id=999_999, outcome="forbidden", target_id=None)

    stored = await store.append_audit(refused)

    assert stored.id != 999_999
    assert await store.audit_of_session("s-1") == [replace(refused, id=stored.id)]


async def test_audit_limit_keeps_the_latest_entries_oldest_first(store: Store) -> None:
    appended = [await store.append_audit(audit("s-1", f"a-{n}", at=float(n))) for n in range(7)]

    assert await store.audit_of_session("s-1", limit=3) == appended[-3:]
    assert await store.audit_of_session("s-1", limit=100) == appended
    assert await store.audit_of_session("s-1", limit=0) == []


async def test_concurrent_audit_appends_all_land_in_id_order(store: Store) -> None:
    entries = await asyncio.gather(*(store.append_audit(audit("s-1", f"a-{n}")) for n in range(20)))

    assert await store.audit_of_session("s-1") == sorted(entries, key=lambda e: e.id)


@pytest.mark.parametrize(
    "bad",
    [
        replace(audit("s-1", "x"), outcome="maybe"),  # type: ignore[arg-type]
        replace(audit("s-1", "x"), detail={"nested": ["no"]}),  # type: ignore[dict-item]
        replace(audit("s-1", "x"), detail={"n": float("nan")}),
    ],
    ids=["outcome", "nested-detail", "nan"],
)
async def test_audit_rejects_what_it_could_not_read_back(store: Store, bad: AuditEntry) -> None:
    with pytest.raises(ValueError):
        await store.append_audit(bad)

    assert await store.audit_of_session("s-1") == []


# reads of what is not there


async def test_missing_ids_read_as_none_or_empty(store: Store) -> None:
    assert await store.get_facilitator("x") is None
    assert await store.find_facilitator_by_email("x@example.org") is None
    assert await store.get_group("x") is None
    assert await store.groups_of("x") == []
    assert await store.get_session("x") is None
    assert await store.sessions_of_group("x") == []
    assert await store.sessions_created_by("x") == []
    assert await store.get_invite("x") is None
    assert await store.get_invite_by_token_id("x") is None
    assert await store.invites_of_group("x") == []
    assert await store.is_invite_blocked("x", "y") is False
    assert await store.audit_of_session("x") == []


# summaries, deletion, retention

SUMMARY_DATA = {
    "schema": "circle.summary/1",
    "participants": [
        {"name": "Zoë", "speaking": {"speaking_s": 12.5, "turns": 3}, "spans": [[0.0, None]]},
        {"name": "李 🌿", "speaking": {"speaking_s": 0.0, "turns": 0}, "spans": []},
    ],
    "follows": {"a": {"b": 1, "ü": [True, False, None, -(2**63), 2**64 - 1, 1e-300]}},
    "in_progress": True,
}


def summary(
    session_id: str, at: float, *, final: bool = False, group_id: str | None = "g-1"
) -> SummaryRecord:
    return SummaryRecord(session_id, group_id, {**SUMMARY_DATA, "at": at}, at, final)


async def test_summary_round_trip_replace_and_the_newest_stands(store: Store) -> None:
    await store.put_summary(summary("s-1", 10.0))
    assert await store.get_summary("s-1") == summary("s-1", 10.0)
    await store.put_summary(summary("s-1", 15.0))
    assert (await store.get_summary("s-1")) == summary("s-1", 15.0)  # lists stay lists
    await store.put_summary(summary("s-1", 20.0, final=True))
    await store.put_summary(summary("s-1", 18.0))  # a flush that raced the end loses
    assert await store.get_summary("s-1") == summary("s-1", 20.0, final=True)
    await store.put_summary(summary("s-1", 25.0))  # the session goes on: merged, in progress
    assert await store.get_summary("s-1") == summary("s-1", 25.0)
    await store.put_summary(summary("s-1", 30.0, final=True))
    assert (await store.get_summary("s-1")) == summary("s-1", 30.0, final=True)


async def test_summaries_of_a_group_oldest_first_and_only_theirs(store: Store) -> None:
    await store.put_summary(summary("s-b", 20.0))
    await store.put_summary(summary("s-a", 10.0))
    await store.put_summary(summary("s-x", 5.0, group_id="g-2"))
    await store.put_summary(summary("s-none", 1.0, group_id=None))
    assert [s.session_id for s in await store.summaries_of_group("g-1")] == ["s-a", "s-b"]
    assert [s.session_id for s in await store.summaries_of_group("g-2")] == ["s-x"]
    assert await store.summaries_of_group("g-9") == []


async def test_summaries_of_a_group_follow_their_sessions_start(store: Store) -> None:
    # s-late started later but its summary was written first; s-gone has no session record
    await store.add_session(session("s-late", at=300.0))
    await store.add_session(session("s-early", at=100.0))
    await store.put_summary(summary("s-late", 400.0))
    await store.put_summary(summary("s-early", 500.0))
    await store.put_summary(summary("s-gone", 200.0))
    await store.put_summary(summary("s-tie", 300.0))  # ties with s-late: by id
    order = [s.session_id for s in await store.summaries_of_group("g-1")]
    assert order == ["s-early", "s-gone", "s-late", "s-tie"]


async def test_a_summary_moved_to_another_group_leaves_the_first(store: Store) -> None:
    await store.put_summary(summary("s-1", 10.0, group_id="g-1"))
    await store.put_summary(summary("s-1", 15.0, group_id="g-2"))
    assert await store.summaries_of_group("g-1") == []
    assert await store.summaries_of_group("g-2") == [summary("s-1", 15.0, group_id="g-2")]
    await store.put_summary(summary("s-1", 20.0, group_id=None))
    assert await store.summaries_of_group("g-2") == []


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "bad",
    [
        {"x": float("nan")},
        {"x": [float("inf")]},
        {"x": {"y": -float("inf")}},
        {1: "int key"},
        {"x": {1, 2}},
        {"x": object()},
        {"x": b"bytes"},
        {"x": 2**64},  # JSON text could hold it, msgpack cannot: refused on both
        {"x": "\ud800"},  # a lone surrogate is not UTF-8
        {"\udfff": 1},
        {"x": _nested(100)},
    ],
)
async def test_summary_rejects_what_json_cannot_carry(store: Store, bad: dict[Any, Any]) -> None:
    with pytest.raises(ValueError):
        await store.put_summary(SummaryRecord("s-new", "g-1", bad, 1.0, False))
    await store.put_summary(summary("s-1", 10.0))
    with pytest.raises(ValueError):
        await store.put_summary(SummaryRecord("s-1", "g-1", bad, 20.0, True))
    assert await store.get_summary("s-new") is None
    assert await store.get_summary("s-1") == summary("s-1", 10.0)  # the stored one stands
    assert [s.session_id for s in await store.summaries_of_group("g-1")] == ["s-1"]
    assert await store.purge_summaries(15.0) == ["s-1"]  # not touched by the refused write


@pytest.mark.parametrize("bad_at", [float("nan"), float("inf")])
async def test_summary_time_must_be_finite(store: Store, bad_at: float) -> None:
    with pytest.raises(ValueError):
        await store.put_summary(replace(summary("s-1", 1.0), updated_at=bad_at))
    assert await store.get_summary("s-1") is None


async def test_deleting_a_sessions_data_takes_everything_of_it(store: Store) -> None:
    await store.add_session(session("s-1"))
    await store.add_session(session("s-2"))
    await store.put_summary(summary("s-1", 10.0))
    await store.append_audit(audit("s-1", "a-1"))
    await store.append_audit(audit("s-2", "a-2"))
    await store.block_invite("s-1", "tok")
    assert await store.delete_session_data("s-1") is True
    assert await store.get_summary("s-1") is None and await store.get_session("s-1") is None
    assert await store.audit_of_session("s-1") == [] and not await store.is_invite_blocked(
        "s-1", "tok"
    )
    assert [s.id for s in await store.sessions_of_group("g-1")] == ["s-2"]
    assert await store.summaries_of_group("g-1") == []
    assert len(await store.audit_of_session("s-2")) == 1  # others untouched
    assert await store.delete_session_data("s-1") is False
    assert await store.delete_session_data("never") is False


async def test_deleting_a_session_with_only_an_audit_log_says_so(store: Store) -> None:
    await store.append_audit(audit("s-1", "a-1"))
    assert await store.delete_session_data("s-1") is True
    assert await store.audit_of_session("s-1") == []
    await store.add_session(session("s-2"))
    await store.block_invite("s-2", "tok")
    assert await store.delete_session_data("s-2") is True
    assert await store.sessions_created_by("fac-1") == []


async def test_retention_purges_only_what_is_older(store: Store) -> None:
    for sid, at in (("s-old", 1000.0), ("s-older", 500.0), ("s-new", 2000.0)):
        await store.add_session(session(sid))
        await store.put_summary(summary(sid, at))
        await store.append_audit(audit(sid, "x"))
    assert await store.purge_summaries(1500.0) == ["s-older", "s-old"]
    assert await store.get_summary("s-old") is None and await store.get_session("s-older") is None
    assert await store.audit_of_session("s-old") == []
    assert await store.get_summary("s-new") is not None
    assert await store.get_session("s-new") is not None
    assert len(await store.audit_of_session("s-new")) == 1
    assert await store.purge_summaries(1500.0) == []
    assert await store.purge_summaries(2000.0) == []  # strictly older only


async def test_retention_counts_from_the_last_write_final_or_not(store: Store) -> None:
    await store.put_summary(summary("s-1", 1000.0))
    await store.put_summary(summary("s-1", 1000.0, final=True))
    await store.put_summary(summary("s-1", 500.0))  # refused: older than the stored one
    await store.put_summary(summary("s-2", 1000.0))
    await store.put_summary(summary("s-2", 3000.0))  # still running: written again
    assert await store.purge_summaries(2000.0) == ["s-1"]
    assert [s.session_id for s in await store.summaries_of_group("g-1")] == ["s-2"]


async def test_deletions_are_logged_oldest_first(store: Store) -> None:
    entries = [DeletionEntry(f"s-{n}", "g-1", "fac-1", "deleted", float(n)) for n in range(5)]
    for entry in entries:
        await store.append_deletion(entry)
    assert await store.deletions() == entries
    assert await store.deletions(limit=2) == entries[-2:]
    assert await store.deletions(limit=0) == []
    assert await store.deletions(limit=99) == entries


async def test_deletions_outlive_the_data_and_refuse_unknown_reasons(store: Store) -> None:
    await store.add_session(session("s-1"))
    await store.delete_session_data("s-1")
    entry = DeletionEntry("s-1", "g-1", "api-key", "deleted", 7.0)
    await store.append_deletion(entry)
    await store.delete_session_data("s-1")
    bad = cast(Any, "forgotten")
    with pytest.raises(ValueError):
        await store.append_deletion(DeletionEntry("s-2", None, "fac-1", bad, 8.0))
    assert await store.deletions() == [entry]


# restart


async def test_data_survives_a_restart(durable_backend: Backend) -> None:
    store = await durable_backend.open()
    account = await store.add_facilitator(facilitator(1, email="Dana@Example.org"))
    await store.update_facilitator_profile("fac-1", "Dana Lee", "LCSW, CGP")
    await store.add_group(group("g-1", "fac-1"))
    await store.add_group_facilitator("g-1", "fac-2")
    await store.add_session(session("s-1"))
    await store.end_session("s-1", 3600.0)
    await store.add_invite(invite("i-1", "tok-aaa"))
    await store.revoke_invite("i-1")
    await store.block_invite("s-1", "tok-aaa")
    last = [await store.append_audit(audit("s-1", f"a-{n}")) for n in range(3)][-1]
    await store.put_summary(summary("s-1", 10.0, final=True))
    await store.put_summary(summary("s-old", 5.0))
    await store.append_deletion(DeletionEntry("s-9", None, "retention", "retention", 1.0))
    before = (
        await store.get_facilitator("fac-1"),
        await store.groups_of("fac-2"),
        await store.sessions_of_group("g-1"),
        await store.invites_of_group("g-1"),
        await store.audit_of_session("s-1"),
    )
    await store.close()

    durable_backend.restart()
    store = await durable_backend.open()
    try:
        after = (
            await store.get_facilitator("fac-1"),
            await store.groups_of("fac-2"),
            await store.sessions_of_group("g-1"),
            await store.invites_of_group("g-1"),
            await store.audit_of_session("s-1"),
        )
        assert after == before
        assert await store.find_facilitator_by_email("dana@example.org") == before[0]
        assert before[0] is not None and before[0].display_name == "Dana Lee"
        assert (await store.get_invite_by_token_id("tok-aaa")) == before[3][0]
        assert await store.is_invite_blocked("s-1", "tok-aaa")
        assert await store.get_summary("s-1") == summary("s-1", 10.0, final=True)
        assert [d.session_id for d in await store.deletions()] == ["s-9"]
        assert [s.session_id for s in await store.summaries_of_group("g-1")] == ["s-old", "s-1"]
        assert await store.purge_summaries(7.0) == ["s-old"]  # the retention index came back too
        with pytest.raises(StoreConflict):
            await store.add_facilitator(replace(facilitator(2), email=account.email.upper()))
        assert (await store.append_audit(audit("s-1", "after-restart"))).id > last.id
    finally:
        await store.close()


# backend-specific: where each one keeps things


async def test_sqlite_is_one_file_in_the_data_dir_with_a_schema_version(tmp_path: Path) -> None:
    store = await open_store(StoreConfig(tmp_path / "data"))
    await store.add_facilitator(facilitator(1))
    await store.close()

    path = tmp_path / "data" / SQLITE_FILE_NAME
    assert isinstance(store, SQLiteStore) and store.path == path and path.is_file()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_sqlite_migrates_a_version_1_file_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / SQLITE_FILE_NAME
    with sqlite3.connect(path) as conn:  # the file as the first release left it
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version (version) VALUES (1)")
        conn.execute(
            "INSERT INTO sessions VALUES"
            " ('s-1', 'Session s-1', 'g-1', 'fac-1', 1, NULL, 3000, NULL)"
        )
    conn.close()

    store = await asyncio.to_thread(SQLiteStore, path)
    try:
        assert SCHEMA_VERSION > 1
        assert (await store.get_session("s-1")) == replace(session("s-1"), scheduled_start=None)
        await store.put_summary(summary("s-1", 10.0, final=True))
        await store.append_deletion(DeletionEntry("s-0", None, "fac-1", "deleted", 1.0))
        assert await store.summaries_of_group("g-1") == [summary("s-1", 10.0, final=True)]
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    conn.close()


async def test_redis_url_wins_and_keeps_msgpack_values_under_circle_keys(tmp_path: Path) -> None:
    redis_server = RedisServer(tmp_path, persistent=False)  # its own: this test reads every key
    redis_server.start()
    try:
        await _fill_through_open_store(tmp_path, redis_server)
        with redis_server.client() as client:
            keys = sorted(k.decode() for k in client.keys("*"))
            raw = client.get("circle:facilitator:fac-1")
    finally:
        redis_server.stop()

    assert not (tmp_path / SQLITE_FILE_NAME).exists()
    assert keys and all(k.startswith("circle:") for k in keys)
    assert raw is not None
    assert msgpack.unpackb(raw)["email"] == facilitator(1).email


async def _fill_through_open_store(tmp_path: Path, redis_server: RedisServer) -> None:
    store = await open_store(StoreConfig(tmp_path, redis_server.url))
    try:
        assert isinstance(store, RedisStore)
        await store.add_facilitator(facilitator(1))
        await store.add_group(group("g-1"))
        await store.put_summary(summary("s-1", 10.0))
        await store.append_deletion(DeletionEntry("s-0", None, "fac-1", "deleted", 1.0))
    finally:
        await store.close()
