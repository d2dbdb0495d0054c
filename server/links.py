"""The general invite link's id, and replacing it.

Links are minted on demand, so the general link's id must be the same each time it is read:
it is derived from the server's secret, the session and a generation number. Replacing the
link puts the current id on the session's revocation list (the store's blocked token ids, the
same list that blocks personal invites) and so moves to the next generation."""

from __future__ import annotations

import hashlib
import hmac

from server.store import Store

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
