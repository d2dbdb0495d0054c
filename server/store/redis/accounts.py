"""RedisStore's accounts and groups.

Keys: `facilitator:<id>`, `facilitator_email:<email>` (-> id), `group:<id>`, and
`facilitator_groups:<id>` (the groups one facilitator leads, scored by the group's start).
"""

from __future__ import annotations

from dataclasses import replace

from redis.asyncio.client import Pipeline

from server.store.records import Facilitator, Group
from server.store.redis.core import RedisCore, begin_writes, pack, text, unpack
from server.store.validation import normalize_email, normalized_facilitator, normalized_group


class RedisAccounts(RedisCore):
    # facilitators

    async def add_facilitator(self, facilitator: Facilitator) -> Facilitator:
        record = normalized_facilitator(facilitator)
        return await self._insert(
            "facilitator", record, [("email", "facilitator_email", record.email)]
        )

    async def get_facilitator(self, facilitator_id: str) -> Facilitator | None:
        return await self._get(Facilitator, self._key("facilitator", facilitator_id))

    async def find_facilitator_by_email(self, email: str) -> Facilitator | None:
        found = await self._redis.get(self._key("facilitator_email", normalize_email(email)))
        return None if found is None else await self.get_facilitator(text(found))

    async def update_facilitator_profile(
        self, facilitator_id: str, display_name: str, credentials: str
    ) -> Facilitator | None:
        return await self._update(
            Facilitator,
            self._key("facilitator", facilitator_id),
            lambda f: replace(f, display_name=display_name, credentials=credentials),
        )

    async def update_facilitator_access(
        self, facilitator_id: str, *, password_hash: str | None = None, disabled: bool | None = None
    ) -> Facilitator | None:
        def change(f: Facilitator) -> Facilitator:
            return replace(
                f,
                token_version=f.token_version + 1,
                password_hash=f.password_hash if password_hash is None else password_hash,
                disabled=f.disabled if disabled is None else disabled,
            )

        return await self._update(Facilitator, self._key("facilitator", facilitator_id), change)

    # groups

    async def add_group(self, group: Group) -> Group:
        record = normalized_group(group)

        def index(pipe: Pipeline) -> None:
            for facilitator_id in record.facilitator_ids:
                pipe.zadd(
                    self._key("facilitator_groups", facilitator_id), {record.id: record.created_at}
                )

        return await self._insert("group", record, index=index)

    async def get_group(self, group_id: str) -> Group | None:
        return await self._get(Group, self._key("group", group_id))

    async def groups_of(self, facilitator_id: str) -> list[Group]:
        return await self._listed(Group, "group", self._key("facilitator_groups", facilitator_id))

    async def add_group_facilitator(self, group_id: str, facilitator_id: str) -> Group | None:
        key = self._key("group", group_id)

        async def body(pipe: Pipeline) -> Group | None:
            raw = await pipe.get(key)
            if raw is None:
                return None
            group = unpack(Group, raw)
            if facilitator_id in group.facilitator_ids:
                return group
            changed = replace(group, facilitator_ids=(*group.facilitator_ids, facilitator_id))
            begin_writes(pipe)
            pipe.set(key, pack(changed))
            pipe.zadd(self._key("facilitator_groups", facilitator_id), {group_id: group.created_at})
            return changed

        return await self._transact([key], body)
