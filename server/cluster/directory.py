"""The cluster's state in Redis: one lease key per node (`node:<id>`, its NodeInfo as JSON)
and one per running session (`owner:<session id>`, the owning node's id). A lease is a key
with a TTL; whoever holds it renews it, and compare-and-set scripts make claiming, renewing
and releasing atomic, so two nodes never both believe they own a session."""

from __future__ import annotations

from typing import cast

import redis.asyncio

from server.cluster.placement import NodeInfo
from server.store.redis.core import DEFAULT_PREFIX, text
from server.store.redis.live import LIVE_INDEX

REDIS_TIMEOUT_S = 1.0  # a heartbeat must not hang on a Redis that is down

# Set the owner to ARGV[2] if it is ARGV[1] now ('' = nobody): a claim, a take-over from a
# dead node, or a hand-over from a draining one.
_CLAIM = """
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[1] == '') or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
# The owner's renewal: extend its lease, or take the key again if it vanished (a Redis that
# restarted without it); 0 when another node owns the session now.
_RENEW = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if current == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Directory:
    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis: redis.asyncio.Redis = redis.asyncio.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
        )
        self._prefix = prefix
        self._claim = self._redis.register_script(_CLAIM)
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)

    def _node_key(self, node_id: str) -> str:
        return f"{self._prefix}node:{node_id}"

    def _owner_key(self, session_id: str) -> str:
        return f"{self._prefix}owner:{session_id}"

    async def close(self) -> None:
        await self._redis.aclose()

    # -- nodes ----------------------------------------------------------------------------

    async def register(self, node: NodeInfo, lease_ms: int) -> None:
        await self._redis.set(self._node_key(node.node_id), node.to_json(), px=lease_ms)

    async def deregister(self, node_id: str) -> None:
        await self._redis.delete(self._node_key(node_id))

    async def nodes(self) -> list[NodeInfo]:
        """The live nodes: those whose lease has not expired (and that this version reads)."""
        keys = [k async for k in self._redis.scan_iter(match=self._node_key("*"), count=100)]
        if not keys:
            return []
        infos = (NodeInfo.from_json(raw) for raw in await self._redis.mget(keys) if raw)
        return [info for info in infos if info is not None]

    # -- sessions -------------------------------------------------------------------------

    async def owner(self, session_id: str) -> str | None:
        raw = await self._redis.get(self._owner_key(session_id))
        return None if raw is None else text(raw)

    async def claim(
        self, session_id: str, node_id: str, lease_ms: int, replacing: str | None
    ) -> bool:
        """Make `node_id` the owner if the owner is still `replacing` (None: nobody)."""
        done = await self._claim(
            keys=[self._owner_key(session_id)], args=[replacing or "", node_id, lease_ms]
        )
        return bool(done)

    async def renew(self, session_id: str, node_id: str, lease_ms: int) -> bool:
        """False when another node owns the session now."""
        done = await self._renew(keys=[self._owner_key(session_id)], args=[node_id, lease_ms])
        return bool(done)

    async def release(self, session_id: str, node_id: str) -> None:
        await self._release(keys=[self._owner_key(session_id)], args=[node_id])

    async def is_running(self, session_id: str) -> bool:
        """Whether the session has a saved live state (see running_sessions)."""
        return bool(await self._redis.sismember(self._prefix + LIVE_INDEX, session_id))

    async def running_sessions(self) -> list[str]:
        """Sessions with a saved live state: running somewhere, or waiting for a new owner."""
        members = await self._redis.smembers(self._prefix + LIVE_INDEX)
        return sorted(text(cast(bytes, m)) for m in members)
