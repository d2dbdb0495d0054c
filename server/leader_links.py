"""A leader's link leads only for a leader: the account that made it must still have access
(not disabled, reset or signed out since), a facilitator's own link only for that facilitator
signed in, and a co-lead link only for a signed-in leader of the session."""

from __future__ import annotations

from rooms.errors import Refusal
from server.store import Facilitator, SessionRecord, Store
from server.tokens import SessionGrant
from server.web import Caller

LEADER_LINK_ENDED = (
    "This leader's link has ended: its account was signed out, reset or disabled. Sign in and "
    "open the session from your console."
)
SIGN_IN_TO_LEAD = (
    "This is a facilitator's link: sign in as the facilitator it is for, then open it again."
)


def has_access(account: Facilitator | None, version: int | None) -> bool:
    """An account that may still lead with what it issued at `version`."""
    return account is not None and not account.disabled and account.token_version == version


async def leader_account(
    store: Store, record: SessionRecord, grant: SessionGrant, signed_in: tuple[str, int] | None
) -> Facilitator | None:
    """The account a leader's link joins as; refuses a link whose account has been
    disabled, reset or signed out since it was made (at every join: a page's resume is
    one). A co-lead link takes a signed-in account only if it leads this session."""
    if not grant.role.leads:
        return None
    issuer = grant.issued_by or grant.facilitator_id
    if issuer is not None:
        made_by = await store.get_facilitator(issuer)
        if not has_access(made_by, grant.account_version):
            raise Refusal("invalid_token", LEADER_LINK_ENDED)
    if grant.facilitator_id is not None:
        # the facilitator's own link leads only for them, signed in: a copy of it in
        # anyone else's hands (a forwarded email, a shared screen) opens nothing
        fid, version = signed_in or (None, 0)
        account = await store.get_facilitator(grant.facilitator_id)
        if fid != grant.facilitator_id or not has_access(account, version):
            raise Refusal("sign_in_required", SIGN_IN_TO_LEAD)
        return account
    if signed_in is None:
        return None
    fid, version = signed_in
    account = await store.get_facilitator(fid)
    if not has_access(account, version):
        return None
    assert account is not None
    return account if await Caller(account).leads_session(store, record) else None
