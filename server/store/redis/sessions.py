"""RedisStore's sessions and invites.

Keys: `session:<id>`, `group_sessions:<group>` and `facilitator_sessions:<creator>` (sorted
sets by `created_at`), `invite:<id>`, `invite_token:<token id>` (-> id), `group_invites:<group>`,
and `blocked_invites:<session>` (a set of token ids).
"""

from __future__ import annotations

from dataclasses import replace

from redis.asyncio.client import Pipeline

from server.store.records import Invite, SessionRecord
from server.store.redis.core import RedisCore, text


class RedisSessions(RedisCore):
    # sessions

    async def add_session(self, session: SessionRecord) -> SessionRecord:
        def index(pipe: Pipeline) -> None:
            score = {session.id: session.created_at}
            if session.group_id is not None:
                pipe.zadd(self._key("group_sessions", session.group_id), score)
            if session.created_by is not None:
                pipe.zadd(self._key("facilitator_sessions", session.created_by), score)

        return await self._insert("session", session, index=index)

    async def get_session(self, session_id: str) -> SessionRecord | None:
        return await self._get(SessionRecord, self._key("session", session_id))

    async def sessions_of_group(self, group_id: str) -> list[SessionRecord]:
        return await self._listed(SessionRecord, "session", self._key("group_sessions", group_id))

    async def sessions_created_by(self, facilitator_id: str) -> list[SessionRecord]:
        return await self._listed(
            SessionRecord, "session", self._key("facilitator_sessions", facilitator_id)
        )

    async def end_session(self, session_id: str, at: float) -> SessionRecord | None:
        return await self._update(
            SessionRecord,
            self._key("session", session_id),
            lambda s: None if s.ended_at is not None else replace(s, ended_at=at),
        )

    # invites

    async def add_invite(self, invite: Invite) -> Invite:
        def index(pipe: Pipeline) -> None:
            pipe.zadd(self._key("group_invites", invite.group_id), {invite.id: invite.created_at})

        return await self._insert(
            "invite", invite, [("token_id", "invite_token", invite.token_id)], index
        )

    async def get_invite(self, invite_id: str) -> Invite | None:
        return await self._get(Invite, self._key("invite", invite_id))

    async def invites_of_group(self, group_id: str) -> list[Invite]:
        return await self._listed(Invite, "invite", self._key("group_invites", group_id))

    async def get_invite_by_token_id(self, token_id: str) -> Invite | None:
        found = await self._redis.get(self._key("invite_token", token_id))
        return None if found is None else await self.get_invite(text(found))

    async def revoke_invite(self, invite_id: str) -> Invite | None:
        return await self._update(
            Invite,
            self._key("invite", invite_id),
            lambda i: None if i.revoked else replace(i, revoked=True),
        )

    # blocked invites

    async def block_invite(self, session_id: str, token_id: str) -> None:
        await self._redis.sadd(self._key("blocked_invites", session_id), token_id)

    async def unblock_invite(self, session_id: str, token_id: str) -> None:
        await self._redis.srem(self._key("blocked_invites", session_id), token_id)

    async def is_invite_blocked(self, session_id: str, token_id: str) -> bool:
        found = await self._redis.sismember(self._key("blocked_invites", session_id), token_id)
        return bool(found)
