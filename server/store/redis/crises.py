"""RedisStore's crisis records: `crises:<session>`, a hash from crisis id to the packed record.
Deleting a session's data, by request or by retention, deletes it too (summaries.py)."""

from __future__ import annotations

from typing import Any

import msgpack

from server.store.records import CrisisRecord
from server.store.redis.core import RedisCore, pack
from server.store.validation import check_crisis


class RedisCrises(RedisCore):
    async def put_crisis(self, record: CrisisRecord) -> None:
        check_crisis(record)
        await self._redis.hset(
            self._key("crises", record.session_id), record.crisis_id, pack(record)
        )

    async def crises_of_session(self, session_id: str) -> list[CrisisRecord]:
        raws: dict[Any, Any] = await self._redis.hgetall(self._key("crises", session_id))
        # data is JSON: arrays come back as lists, as SQLite's json.loads gives
        found = [CrisisRecord(**msgpack.unpackb(raw, raw=False)) for raw in raws.values()]
        return sorted(found, key=lambda r: (r.started_at, r.crisis_id))
