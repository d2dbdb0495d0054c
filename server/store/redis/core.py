"""What every part of RedisStore stands on: the client, key names, msgpack records, WATCH/MULTI
transactions, and the read and write helpers the concerns share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from typing import TypeVar, cast

import msgpack
import redis.asyncio
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from server.store.records import (
    AuditEntry,
    CrisisRecord,
    DeletionEntry,
    Facilitator,
    Group,
    Invite,
    SessionRecord,
    StoreConflict,
    StoreError,
    SummaryRecord,
)

T = TypeVar("T")
R = TypeVar(
    "R", Facilitator, Group, SessionRecord, Invite, AuditEntry, SummaryRecord, DeletionEntry
)
# the records kept one under each id, with unique values beside them that point to the id
Keyed = TypeVar("Keyed", Facilitator, Group, SessionRecord, Invite)

DEFAULT_PREFIX = "circle:"
MAX_TRANSACTION_ATTEMPTS = 50  # a key this contended means something is looping; say so


def pack(
    record: Facilitator
    | Group
    | SessionRecord
    | Invite
    | AuditEntry
    | CrisisRecord
    | SummaryRecord
    | DeletionEntry,
) -> bytes:
    return cast(bytes, msgpack.packb(asdict(record), use_bin_type=True))


def unpack(kind: type[R], raw: bytes | str) -> R:
    # use_list=False: arrays come back as tuples, which is what Group.facilitator_ids is
    return kind(**msgpack.unpackb(raw, raw=False, use_list=False))


def unpack_summary(raw: bytes | str) -> SummaryRecord:
    # a summary's data is JSON: arrays must come back as lists, as SQLite's json.loads gives
    return SummaryRecord(**msgpack.unpackb(raw, raw=False))


def text(raw: bytes | str) -> str:
    """redis-py types replies as bytes | str; without decode_responses they are bytes."""
    return raw.decode() if isinstance(raw, bytes) else raw


def begin_writes(pipe: Pipeline) -> None:
    """End the reads of a WATCH transaction: what the pipe gets next is queued for EXEC."""
    pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves multi() unannotated


class RedisCore:
    """The connection; `prefix` keeps several deployments (or tests) apart on one server."""

    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis: redis.asyncio.Redis = redis.asyncio.Redis.from_url(url)
        self._prefix = prefix

    def _key(self, kind: str, name: str) -> str:
        return f"{self._prefix}{kind}:{name}"

    async def ping(self) -> None:
        """Raise when Redis is unreachable (at start, and for readiness)."""
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()

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
        return None if raw is None else unpack(kind, raw)

    async def _get_many(self, kind: type[R], keys: list[str]) -> list[R]:
        if not keys:
            return []
        raws = await self._redis.mget(keys)
        return [unpack(kind, raw) for raw in raws if raw is not None]

    async def _ids(self, key: str) -> list[str]:
        members = await self._redis.zrange(key, 0, -1)
        return [text(cast(bytes, m)) for m in members]

    async def _listed(self, kind: type[R], name: str, index: str) -> list[R]:
        """The records of `kind` (stored under key kind `name`) whose ids the sorted set
        `index` holds, in its order."""
        ids = await self._ids(index)
        return await self._get_many(kind, [self._key(name, i) for i in ids])

    async def _insert(
        self,
        name: str,
        record: Keyed,
        unique: Sequence[tuple[str, str, str]] = (),
        index: Callable[[Pipeline], object] | None = None,
    ) -> Keyed:
        """Store a new record under key kind `name`, and its unique values under theirs.

        `unique` lists (field, key kind, value): each key points to the record's id. A taken id
        or value raises StoreConflict naming the first one taken; `index` queues what else
        goes with the record (sorted-set entries) in the same transaction."""
        key = self._key(name, record.id)
        claims: list[tuple[str, str, str]] = [
            (field, self._key(kind, value), value) for field, kind, value in unique
        ]

        async def body(pipe: Pipeline) -> Keyed:
            if await pipe.exists(key):
                raise StoreConflict(name, "id", record.id)
            for field, claim_key, value in claims:
                if await pipe.exists(claim_key):
                    raise StoreConflict(name, field, value)
            begin_writes(pipe)
            pipe.set(key, pack(record))
            for _, claim_key, _ in claims:
                pipe.set(claim_key, record.id)
            if index is not None:
                index(pipe)
            return record

        return await self._transact([key, *(k for _, k, _ in claims)], body)

    async def _update(self, kind: type[R], key: str, change: Callable[[R], R | None]) -> R | None:
        """Read-modify-write one record; `change` returns None when there is nothing to write."""

        async def body(pipe: Pipeline) -> R | None:
            raw = await pipe.get(key)
            if raw is None:
                return None
            current = unpack(kind, raw)
            changed = change(current)
            if changed is None:
                return current
            begin_writes(pipe)
            pipe.set(key, pack(changed))
            return changed

        return await self._transact([key], body)
