"""Signed, expiring join tokens (JWT, HS256) for the session links."""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from rooms.errors import Refusal
from rooms.model import Role

ALGORITHM = "HS256"
AUDIENCE = "circle-session"


@dataclass(frozen=True)
class SessionGrant:
    session_id: str
    title: str  # not in the token: a link in someone's history names no group
    role: Role
    expires_at: int  # unix seconds
    # The facilitator account a leader link was made for: their name and credentials come
    # from their profile, so participants know who is leading.
    facilitator_id: str | None = None
    # A participant's personal group invite: recognises them across sessions, and lets a
    # facilitator block this one person from rejoining.
    invite_token_id: str | None = None
    # The general invite link's id: replacing the link puts it on the session's revocation
    # list (server/links.py), so the old link stops joining.
    link_id: str | None = None
    # A leader's link (facilitator or co-facilitator) follows the account that made it and its
    # token version then: disabling the account, a password reset or signing out (each bumps
    # the version) ends every link it made.
    issued_by: str | None = None
    account_version: int | None = None


def issue(secret: str, grant: SessionGrant) -> str:
    claims = {
        "sid": grant.session_id,
        "role": grant.role.value,
        "exp": grant.expires_at,
        "aud": AUDIENCE,
    }
    if grant.facilitator_id is not None:
        claims["fid"] = grant.facilitator_id
    if grant.invite_token_id is not None:
        claims["inv"] = grant.invite_token_id
    if grant.link_id is not None:
        claims["lid"] = grant.link_id
    if grant.issued_by is not None:
        claims["by"] = grant.issued_by
    if grant.account_version is not None:
        claims["ver"] = grant.account_version
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(secret: str, token: object, now: float) -> SessionGrant:
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise Refusal("invalid_token", "This link is not valid: it has no session token.")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "sid", "role"], "verify_exp": False},
        )
    except jwt.InvalidTokenError as exc:
        raise Refusal("invalid_token", "This link is not valid.") from exc
    # Expiry is checked against the caller's clock, so tests can move time.
    if int(claims["exp"]) <= now:
        raise Refusal("expired_token", "This link has expired. Ask your facilitator for a new one.")
    try:
        role = Role(claims["role"])
    except ValueError as exc:
        raise Refusal("invalid_token", "This link is not valid.") from exc
    fid, inv, lid = claims.get("fid"), claims.get("inv"), claims.get("lid")
    by, version = claims.get("by"), claims.get("ver")
    return SessionGrant(
        str(claims["sid"]),
        str(claims.get("title", "")),
        role,
        int(claims["exp"]),
        facilitator_id=str(fid) if fid is not None else None,
        invite_token_id=str(inv) if inv is not None else None,
        link_id=str(lid) if lid is not None else None,
        issued_by=str(by) if by is not None else None,
        account_version=version if isinstance(version, int) else None,
    )
