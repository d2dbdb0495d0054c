"""RedisStore's live session states: `live_state:<session>` (a msgpack map {state, at}) and
`live_states` (the set of session ids that have one: what `live_states` reads at start-up).
Deleting a session's data, by request or by retention, deletes its state too (summaries.py)."""

from __future__ import annotations

from typing import Any, cast

import msgpack

from server.store.redis.core import RedisCore, text
from server.store.validation import check_live_state

LIVE_INDEX = "live_states"


def _state(raw: bytes | str) -> dict[str, Any]:
    # arrays come back as lists, as SQLite's json.loads gives them
    state: dict[str, Any] = msgpack.unpackb(raw, raw=False)["state"]
    return state


class RedisLiveStates(RedisCore):
    def _live_key(self, session_id: str) -> str:
        return self._key("live_state", session_id)

    async def put_live_state(self, session_id: str, state: dict[str, Any], at: float) -> None:
        check_live_state(session_id, state, at)
        packed = msgpack.packb({"state": state, "at": float(at)}, use_bin_type=True)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._live_key(session_id), packed)
            pipe.sadd(self._prefix + LIVE_INDEX, session_id)
            await pipe.execute()

    async def get_live_state(self, session_id: str) -> dict[str, Any] | None:
        raw = await self._redis.get(self._live_key(session_id))
        return None if raw is None else _state(raw)

    async def live_states(self) -> list[tuple[str, dict[str, Any]]]:
        members = await self._redis.smembers(self._prefix + LIVE_INDEX)
        ids = sorted(text(cast(bytes, m)) for m in members)
        if not ids:
            return []
        raws: list[Any] = await self._redis.mget([self._live_key(i) for i in ids])
        return [(i, _state(raw)) for i, raw in zip(ids, raws, strict=True) if raw is not None]

    async def delete_live_state(self, session_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._live_key(session_id))
            pipe.srem(self._prefix + LIVE_INDEX, session_id)
            await pipe.execute()
