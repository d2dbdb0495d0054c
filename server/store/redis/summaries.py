"""RedisStore's summaries, deletion of a session's data (on request or by retention), and the
deletion log.

A session's data is its summary, audit log, invite blocks, live state (live.py) and record.
Keys: `summary:<session>`, `summaries_by_time` (scored by `updated_at`: what retention purges
by), `group_summaries:<group>` (ordered by their session's start when read), and `deletions`
(one list).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio.client import Pipeline

from server.store.records import DEFAULT_AUDIT_LIMIT, DeletionEntry, SessionRecord, SummaryRecord
from server.store.redis.core import RedisCore, begin_writes, pack, text, unpack, unpack_summary
from server.store.validation import check_deletion_entry, check_summary


class RedisSummaries(RedisCore):
    # summaries

    async def put_summary(self, summary: SummaryRecord) -> None:
        check_summary(summary)
        key = self._key("summary", summary.session_id)
        packed = pack(summary)
        score = {summary.session_id: summary.updated_at}

        async def body(pipe: Pipeline) -> None:
            raw = await pipe.get(key)
            stored = None if raw is None else unpack_summary(raw)
            if stored is not None and summary.updated_at < stored.updated_at:
                return  # the newest stands
            begin_writes(pipe)
            pipe.set(key, packed)
            pipe.zadd(self._prefix + "summaries_by_time", score)
            if stored is not None and stored.group_id not in (None, summary.group_id):
                pipe.zrem(self._key("group_summaries", stored.group_id), summary.session_id)
            if summary.group_id is not None:
                pipe.zadd(self._key("group_summaries", summary.group_id), score)

        await self._transact([key], body)

    async def get_summary(self, session_id: str) -> SummaryRecord | None:
        raw = await self._redis.get(self._key("summary", session_id))
        return None if raw is None else unpack_summary(raw)

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
            summary = unpack_summary(raw)
            if summary.group_id != group_id:
                continue
            at = summary.updated_at
            if session_raw is not None:
                at = unpack(SessionRecord, session_raw).created_at
            found.append((at, summary.session_id, summary))
        found.sort(key=lambda item: (item[0], item[1]))
        return [summary for _, _, summary in found]

    # deleting a session's data, on request or by retention

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
            self._key("crises", session_id),
            self._key("blocked_invites", session_id),
            self._key("live_state", session_id),
            session_key,
        ]

        async def body(pipe: Pipeline) -> bool:
            found = int(await pipe.exists(*keys)) > 0
            raw = await pipe.get(summary_key)
            summary = None if raw is None else unpack_summary(raw)
            if older_than is not None and summary is None:  # deleted since: drop what is left
                begin_writes(pipe)
                pipe.zrem(self._prefix + "summaries_by_time", session_id)
                return False
            if older_than is not None and summary is not None and summary.updated_at >= older_than:
                return False  # written again since the purge listed it
            session_raw = await pipe.get(session_key)
            session = None if session_raw is None else unpack(SessionRecord, session_raw)
            begin_writes(pipe)
            pipe.delete(*keys)
            pipe.zrem(self._prefix + "summaries_by_time", session_id)
            pipe.srem(self._prefix + "live_states", session_id)
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
        for session_id in (text(raw) for raw in raws):
            if await self._delete_session(session_id, older_than):
                purged.append(session_id)
        return purged

    # the deletion log

    async def append_deletion(self, entry: DeletionEntry) -> None:
        check_deletion_entry(entry)
        await self._redis.rpush(self._prefix + "deletions", pack(entry))

    async def deletions(self, limit: int = DEFAULT_AUDIT_LIMIT) -> list[DeletionEntry]:
        if limit <= 0:
            return []
        raws: list[Any] = await self._redis.lrange(self._prefix + "deletions", -limit, -1)
        return [unpack(DeletionEntry, raw) for raw in raws]
