"""The general invite link's id, and replacing it; whether a link may still join.

Links are minted on demand, so the general link's id must be the same each time it is read:
it is derived from the server's secret, the session and a generation number. Replacing the
link puts the current id on the session's revocation list (the store's blocked token ids, the
same list that blocks personal invites) and so moves to the next generation. A link that may
not join learns nothing either (`POST /api/link` asks `may_join` too)."""

from __future__ import annotations

import hashlib
import hmac

from rooms.errors import Refusal
from server.store import Invite, Store
from server.tokens import SessionGrant

MAX_ROTATIONS = 100  # a session whose link was replaced this often refuses more


def _link_id(secret: str, session_id: str, generation: int) -> str:
    digest = hmac.new(
        secret.encode(), f"general-link:{session_id}:{generation}".encode(), hashlib.sha256
    ).hexdigest()
    return "gl_" + digest[:24]


async def general_link_id(store: Store, secret: str, session_id: str) -> str:
    """The id the session's general links carry now: the first not revoked."""
    for generation in range(MAX_ROTATIONS):
        link_id = _link_id(secret, session_id, generation)
        if not await store.is_invite_blocked(session_id, link_id):
            return link_id
    return _link_id(secret, session_id, MAX_ROTATIONS)  # revoked for good: never joins


async def replace_general_link(store: Store, secret: str, session_id: str) -> None:
    """Revoke the current general link (links already sent stop joining)."""
    await store.block_invite(session_id, await general_link_id(store, secret, session_id))


async def may_join(store: Store, grant: SessionGrant) -> Invite | None:
    """Refuses a link revoked for its session: a replaced general or co-facilitator link, a
    revoked personal invite, or one blocked from this session. The personal invite, if the
    link is one."""
    if grant.link_id is not None and await store.is_invite_blocked(grant.session_id, grant.link_id):
        raise Refusal("invalid_token", "This link was replaced. Ask for the new one.")
    if grant.invite_token_id is None:
        return None
    invite = await store.get_invite_by_token_id(grant.invite_token_id)
    if invite is None or invite.revoked:
        raise Refusal("invalid_token", "This invite is no longer valid.")
    if await store.is_invite_blocked(grant.session_id, grant.invite_token_id):
        raise Refusal("blocked", "This invite can no longer join the session.")
    return invite
