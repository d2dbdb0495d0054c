"""The shared store: Redis (`REDIS_URL`), so several Circle processes see the same accounts.

Each record is one msgpack value under `circle:<kind>:<id>`; lists are sorted sets scored by
`created_at` (Redis orders equal scores by member, so ties fall back to the id, as in SQLite).
Writes that must be all-or-nothing, or that check a unique value first, run as WATCH/MULTI
transactions, retried when another process touched the same keys in between.

Summaries are scored by `updated_at` instead (`summaries_by_time` is what retention purges by);
`summaries_of_group` orders them by their session's start when it reads. Deletions are one list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, replace
from typing import Any, TypeVar, cast

import msgpack
import redis.asyncio
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from server.store.base import (
    DEFAULT_AUDIT_LIMIT,
    AuditEntry,
    DeletionEntry,
    Facilitator,
    Group,
    Invite,
    SessionRecord,
    StoreConflict,
    StoreError,
    SummaryRecord,
    check_audit_entry,
    check_deletion_entry,
    check_summary,
    normalize_email,
    normalized_facilitator,
    normalized_group,
)

T = TypeVar("T")
R = TypeVar(
    "R", Facilitator, Group, SessionRecord, Invite, AuditEntry, SummaryRecord, DeletionEntry
)

DEFAULT_PREFIX = "circle:"
MAX_TRANSACTION_ATTEMPTS = 50  # a key this contended means something is looping; say so


def _pack(
    record: Facilitator
    | Group
    | SessionRecord
    | Invite
    | AuditEntry
    | SummaryRecord
    | DeletionEntry,
) -> bytes:
    return cast(bytes, msgpack.packb(asdict(record), use_bin_type=True))


def _unpack(kind: type[R], raw: bytes | str) -> R:
    # use_list=False: arrays come back as tuples, which is what Group.facilitator_ids is
    return kind(**msgpack.unpackb(raw, raw=False, use_list=False))


def _unpack_summary(raw: bytes | str) -> SummaryRecord:
    # a summary's data is JSON: arrays must come back as lists, as SQLite's json.loads gives
    return SummaryRecord(**msgpack.unpackb(raw, raw=False))


def _text(raw: bytes | str) -> str:
    """redis-py types replies as bytes | str; without decode_responses they are bytes."""
    return raw.decode() if isinstance(raw, bytes) else raw


def _begin_writes(pipe: Pipeline) -> None:
    """End the reads of a WATCH transaction: what the pipe gets next is queued for EXEC."""
    pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves multi() unannotated


class RedisStore:
    """`Store` on Redis; `prefix` keeps several deployments (or tests) apart on one server."""

    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis: redis.asyncio.Redis = redis.asyncio.Redis.from_url(url)
        self._prefix = prefix

    def _key(self, kind: str, name: str) -> str:
        return f"{self._prefix}{kind}:{name}"

    async def ping(self) -> None:
        """Fail at start rather than at the first request when Redis is unreachable."""
        await self._redis.ping()

    async def _transact(self, watch: Sequence[str], body: Callable[[Pipeline], Awaitable[T]]) -> T:
        """Run `body` with `watch` watched; its writes (queued after `pipe.multi()`) land only
        if no watched key changed meanwhile, else it runs again on fresh reads."""
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(MAX_TRANSACTION_ATTEMPTS):
                try:
                    await pipe.watch(*watch)
                    result = await body(pipe)
                    if pipe.explicit_transaction:
                        await pipe.execute()
                    else:  # nothing to write: just drop the watch
                        await pipe.reset()  # type: ignore[no-untyped-call]
                    return result
                except WatchError:
                    continue
        raise StoreError(f"gave up after {MAX_TRANSACTION_ATTEMPTS} conflicting writes: {watch}")

    async def _get(self, kind: type[R], key: str) -> R | None:
        raw = await self._redis.get(key)
        return None if raw is None else _unpack(kind, raw)

    async def _get_many(self, kind: type[R], keys: list[str]) -> list[R]:
        if not keys:
            return []
        raws = await self._redis.mget(keys)
        return [_unpack(kind, raw) for raw in raws if raw is not None]

    async def _ids(self, key: str) -> list[str]:
        members = await self._redis.zrange(key, 0, -1)
        return [_text(cast(bytes, m)) for m in members]

    async def _update(self, kind: type[R], key: str, change: Callable[[R], R | None]) -> R | None:
        """Read-modify-write one record; `change` returns None when there is nothing to write."""

        async def body(pipe: Pipeline) -> R | None:
            raw = await pipe.get(key)
            if raw is None:
                return None
            current = _unpack(kind, raw)
            changed = change(current)
            if changed is None:
                return current
            _begin_writes(pipe)
            pipe.set(key, _pack(changed))
            return changed

        return await self._transact([key], body)

    # facilitators

    async def add_facilitator(self, facilitator: Facilitator) -> Facilitator:
        record = normalized_facilitator(facilitator)
        key = self._key("facilitator", record.id)
        email_key = self._key("facilitator_email", record.email)

        async def body(pipe: Pipeline) -> Facilitator:
            if await pipe.exists(key):
                raise StoreConflict("facilitator", "id", record.id)
            if await pipe.exists(email_key):
                raise StoreConflict("facilitator", "email", record.email)
            _begin_writes(pipe)
            pipe.set(key, _pack(record))
            pipe.set(email_key, record.id)
            return record

        return await self._transact([key, email_key], body)

    async def get_facilitator(self, facilitator_id: str) -> Facilitator | None:
        return await self._get(Facilitator, self._key("facilitator", facilitator_id))

    async def find_facilitator_by_email(self, email: str) -> Facilitator | None:
        found = await self._redis.get(self._key("facilitator_email", normalize_email(email)))
        return None if found is None else await self.get_facilitator(_text(found))

    async def update_facilitator_profile(
        self, facilitator_id: str, display_name: str, credentials: str
    ) -> Facilitator | None:
        return await self._update(
            Facilitator,
            self._key("facilitator", facilitator_id),
            lambda f: replace(f, display_name=display_name, credentials=credentials),
        )

    # groups

    async def add_group(self, group: Group) -> Group:
        record = normalized_group(group)
        key = self._key("group", record.id)

        async def body(pipe: Pipeline) -> Group:
            if await pipe.exists(key):
                raise StoreConflict("group", "id", record.id)
            _begin_writes(pipe)
            pipe.set(key, _pack(record))
            for facilitator_id in record.facilitator_ids:
                pipe.zadd(
                    self._key("facilitator_groups", facilitator_id), {record.id: record.created_at}
                )
            return record

        return await self._transact([key], body)

    async def get_group(self, group_id: str) -> Group | None:
        return await self._get(Group, self._key("group", group_id))

    async def groups_of(self, facilitator_id: str) -> list[Group]:
        ids = await self._ids(self._key("facilitator_groups", facilitator_id))
        return await self._get_many(Group, [self._key("group", i) for i in ids])

    async def add_group_facilitator(self, group_id: str, facilitator_id: str) -> Group | None:
        key = self._key("group", group_id)

        async def body(pipe: Pipeline) -> Group | None:
            raw = await pipe.get(key)
            if raw is None:
                return None
            group = _unpack(Group, raw)
            if facilitator_id in group.facilitator_ids:
                return group
            changed = replace(group, facilitator_ids=(*group.facilitator_ids, facilitator_id))
            _begin_writes(pipe)
            pipe.set(key, _pack(changed))
            pipe.zadd(self._key("facilitator_groups", facilitator_id), {group_id: group.created_at})
            return changed

        return await self._transact([key], body)

    # sessions

    async def add_session(self, session: SessionRecord) -> SessionRecord:
        key = self._key("session", session.id)

        async def body(pipe: Pipeline) -> SessionRecord:
            if await pipe.exists(key):
                raise StoreConflict("session", "id", session.id)
            _begin_writes(pipe)
            pipe.set(key, _pack(session))
            score = {session.id: session.created_at}
            if session.group_id is not None:
                pipe.zadd(self._key("group_sessions", session.group_id), score)
            if session.created_by is not None:
                pipe.zadd(self._key("facilitator_sessions", session.created_by), score)
            return session

        return await self._transact([key], body)

    async def get_session(self, session_id: str) -> SessionRecord | None:
        return await self._get(SessionRecord, self._key("session", session_id))

    async def sessions_of_group(self, group_id: str) -> list[SessionRecord]:
        ids = await self._ids(self._key("group_sessions", group_id))
        return await self._get_many(SessionRecord, [self._key("session", i) for i in ids])

    async def sessions_created_by(self, facilitator_id: str) -> list[SessionRecord]:
        ids = await self._ids(self._key("facilitator_sessions", facilitator_id))
        return await self._get_many(SessionRecord, [self._key("session", i) for i in ids])

    async def end_session(self, session_id: str, at: float) -> SessionRecord | None:
        return await self._update(
            SessionRecord,
            self._key("session", session_id),
            lambda s: None if s.ended_at is not None else replace(s, ended_at=at),
        )

    # invites

    async def add_invite(self, invite: Invite) -> Invite:
        key = self._key("invite", invite.id)
        token_key = self._key("invite_token", invite.token_id)

        async def body(pipe: Pipeline) -> Invite:
            if await pipe.exists(key):
                raise StoreConflict("invite", "id", invite.id)
            if await pipe.exists(token_key):
                raise StoreConflict("invite", "token_id", invite.token_id)
            _begin_writes(pipe)
            pipe.set(key, _pack(invite))
            pipe.set(token_key, invite.id)
            pipe.zadd(self._key("group_invites", invite.group_id), {invite.id: invite.created_at})
            return invite

        return await self._transact([key, token_key], body)

    async def get_invite(self, invite_id: str) -> Invite | None:
        return await self._get(Invite, self._key("invite", invite_id))

    async def invites_of_group(self, group_id: str) -> list[Invite]:
        ids = await self._ids(self._key("group_invites", group_id))
        return await self._get_many(Invite, [self._key("invite", i) for i in ids])

    async def get_invite_by_token_id(self, token_id: str) -> Invite | None:
        found = await self._redis.get(self._key("invite_token", token_id))
        return None if found is None else await self.get_invite(_text(found))

    async def revoke_invite(self, invite_id: str) -> Invite | None:
        return await self._update(
            Invite,
            self._key("invite", invite_id),
            lambda i: None if i.revoked else replace(i, revoked=True),
        )

    async def block_invite(self, session_id: str, token_id: str) -> None:
        await self._redis.sadd(self._key("blocked_invites", session_id), token_id)

    async def unblock_invite(self, session_id: str, token_id: str) -> None:
        await self._redis.srem(self._key("blocked_invites", session_id), token_id)

    async def is_invite_blocked(self, session_id: str, token_id: str) -> bool:
        found = await self._redis.sismember(self._key("blocked_invites", session_id), token_id)
        return bool(found)

    # audit

    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        check_audit_entry(entry)
        # INCR then ZADD by id: concurrent appenders may land out of order, the score keeps
        # reads in id order; a crash in between only leaves a gap in the ids.
        new_id = int(await self._redis.incr(self._prefix + "audit_seq"))
        stored = replace(entry, id=new_id, detail=dict(entry.detail))
        await self._redis.zadd(self._key("audit", entry.session_id), {_pack(stored): new_id})
        return stored

    async def audit_of_session(
        self, session_id: str, limit: int = DEFAULT_AUDIT_LIMIT
    ) -> list[AuditEntry]:
        if limit <= 0:
            return []
        raws: list[Any] = await self._redis.zrange(self._key("audit", session_id), -limit, -1)
        return [_unpack(AuditEntry, raw) for raw in raws]

    # summaries and deletions

    async def put_summary(self, summary: SummaryRecord) -> None:
        check_summary(summary)
        key = self._key("summary", summary.session_id)
        packed = _pack(summary)
        score = {summary.session_id: summary.updated_at}

        async def body(pipe: Pipeline) -> None:
            raw = await pipe.get(key)
            stored = None if raw is None else _unpack_summary(raw)
            if stored is not None and stored.final and not summary.final:
                return  # a final summary stands
            _begin_writes(pipe)
            pipe.set(key, packed)
            pipe.zadd(self._prefix + "summaries_by_time", score)
            if stored is not None and stored.group_id not in (None, summary.group_id):
                pipe.zrem(self._key("group_summaries", stored.group_id), summary.session_id)
            if summary.group_id is not None:
                pipe.zadd(self._key("group_summaries", summary.group_id), score)

        await self._transact([key], body)

    async def get_summary(self, session_id: str) -> SummaryRecord | None:
        raw = await self._redis.get(self._key("summary", session_id))
        return None if raw is None else _unpack_summary(raw)

    async def summaries_of_group(self, group_id: str) -> list[SummaryRecord]:
        ids = await self._ids(self._key("group_summaries", group_id))
        if not ids:
            return []
        raws: list[Any] = await self._redis.mget(
            [self._key("summary", i) for i in ids] + [self._key("session", i) for i in ids]
        )
        found: list[tuple[float, str, SummaryRecord]] = []
        for raw, session_raw in zip(raws[: len(ids)], raws[len(ids) :], strict=True):
            if raw is None:
                continue
            summary = _unpack_summary(raw)
            if summary.group_id != group_id:
                continue
            at = summary.updated_at
            if session_raw is not None:
                at = _unpack(SessionRecord, session_raw).created_at
            found.append((at, summary.session_id, summary))
        found.sort(key=lambda item: (item[0], item[1]))
        return [summary for _, _, summary in found]

    async def delete_session_data(self, session_id: str) -> bool:
        return await self._delete_session(session_id, None)

    async def _delete_session(self, session_id: str, older_than: float | None) -> bool:
        """Delete all of one session at once; with `older_than`, only while its summary is
        still older than that (a write since the purge listed it keeps it)."""
        summary_key = self._key("summary", session_id)
        session_key = self._key("session", session_id)
        keys = [
            summary_key,
            self._key("audit", session_id),
            self._key("blocked_invites", session_id),
            session_key,
        ]

        async def body(pipe: Pipeline) -> bool:
            found = int(await pipe.exists(*keys)) > 0
            raw = await pipe.get(summary_key)
            summary = None if raw is None else _unpack_summary(raw)
            if older_than is not None and summary is None:  # deleted since: drop what is left
                _begin_writes(pipe)
                pipe.zrem(self._prefix + "summaries_by_time", session_id)
                return False
            if older_than is not None and summary is not None and summary.updated_at >= older_than:
                return False  # written again since the purge listed it
            session_raw = await pipe.get(session_key)
            session = None if session_raw is None else _unpack(SessionRecord, session_raw)
            _begin_writes(pipe)
            pipe.delete(*keys)
            pipe.zrem(self._prefix + "summaries_by_time", session_id)
            if summary is not None and summary.group_id is not None:
                pipe.zrem(self._key("group_summaries", summary.group_id), session_id)
            if session is not None and session.group_id is not None:
                pipe.zrem(self._key("group_sessions", session.group_id), session_id)
            if session is not None and session.created_by is not None:
                pipe.zrem(self._key("facilitator_sessions", session.created_by), session_id)
            return found

        return await self._transact(keys, body)

    async def purge_summaries(self, older_than: float) -> list[str]:
        by_time = self._prefix + "summaries_by_time"
        raws: list[Any] = await self._redis.zrangebyscore(by_time, "-inf", f"({older_than!r}")
        purged = []
        for session_id in (_text(raw) for raw in raws):
            if await self._delete_session(session_id, older_than):
                purged.append(session_id)
        return purged

    async def append_deletion(self, entry: DeletionEntry) -> None:
        check_deletion_entry(entry)
        await self._redis.rpush(self._prefix + "deletions", _pack(entry))

    async def deletions(self, limit: int = DEFAULT_AUDIT_LIMIT) -> list[DeletionEntry]:
        if limit <= 0:
            return []
        raws: list[Any] = await self._redis.lrange(self._prefix + "deletions", -limit, -1)
        return [_unpack(DeletionEntry, raw) for raw in raws]

    async def close(self) -> None:
        await self._redis.aclose()
