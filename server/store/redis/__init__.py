"""The shared store: Redis (`REDIS_URL`), so several Circle processes see the same accounts.

Each record is one msgpack value under `circle:<kind>:<id>`; lists are sorted sets scored by
`created_at` (Redis orders equal scores by member, so ties fall back to the id, as in SQLite).
Writes that must be all-or-nothing, or that check a unique value first, run as WATCH/MULTI
transactions, retried when another process touched the same keys in between.

Summaries are scored by `updated_at` instead (`summaries_by_time` is what retention purges by);
`summaries_of_group` orders them by their session's start when it reads. Deletions are one list.

One class, one file per concern: core.py (client, keys, transactions, shared reads and writes),
accounts.py (facilitators, groups), sessions.py (sessions, invites, blocks), audit.py,
crises.py (crisis records), summaries.py (summaries, deletion and retention, the deletion
log), live.py (running sessions' states, restored after a restart).
"""

from __future__ import annotations

from server.store.redis.accounts import RedisAccounts
from server.store.redis.audit import RedisAudit
from server.store.redis.core import DEFAULT_PREFIX, MAX_TRANSACTION_ATTEMPTS
from server.store.redis.crises import RedisCrises
from server.store.redis.live import RedisLiveStates
from server.store.redis.sessions import RedisSessions
from server.store.redis.summaries import RedisSummaries

__all__ = ["DEFAULT_PREFIX", "MAX_TRANSACTION_ATTEMPTS", "RedisStore"]


class RedisStore(
    RedisAccounts, RedisSessions, RedisAudit, RedisCrises, RedisSummaries, RedisLiveStates
):
    """`Store` on Redis; `prefix` keeps several deployments (or tests) apart on one server."""
