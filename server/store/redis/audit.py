"""RedisStore's audit log: `audit:<session>`, a sorted set of packed entries scored by id;
ids come from the counter `audit_seq`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from server.store.records import DEFAULT_AUDIT_LIMIT, AuditEntry
from server.store.redis.core import RedisCore, pack, unpack
from server.store.validation import check_audit_entry


class RedisAudit(RedisCore):
    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        check_audit_entry(entry)
        # INCR then ZADD by id: concurrent appenders may land out of order, the score keeps
        # reads in id order; a crash in between only leaves a gap in the ids.
        new_id = int(await self._redis.incr(self._prefix + "audit_seq"))
        stored = replace(entry, id=new_id, detail=dict(entry.detail))
        await self._redis.zadd(self._key("audit", entry.session_id), {pack(stored): new_id})
        return stored

    async def audit_of_session(
        self, session_id: str, limit: int = DEFAULT_AUDIT_LIMIT
    ) -> list[AuditEntry]:
        if limit <= 0:
            return []
        raws: list[Any] = await self._redis.zrange(self._key("audit", session_id), -limit, -1)
        return [unpack(AuditEntry, raw) for raw in raws]
