"""A seat's credentials: the rejoin key the server gives a page, the link a seat is bound to,
and the move ticket that carries a seat to another node of a cluster.

- The rejoin key is made here (never taken from a page or a URL) and kept only as its SHA-256
  (the key is 256 random bits: a plain hash is enough, nothing to stretch). A page keeps it in
  memory and sessionStorage; it resumes only the seat made through the same link.
- A move ticket is signed with the server's secret (every node of a cluster has it) and names
  the session, the seat, the hash of the seat's key now and its link. It is the only thing a
  page carries to another origin (in the URL fragment, cleared at once); it resumes that seat
  once (the resume gives the seat a new key, so the ticket's hash no longer matches) and only
  with the same link."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import jwt

from rooms.errors import Refusal
from rooms.model import Session
from server.tokens import ALGORITHM, SessionGrant

MOVE_AUDIENCE = "circle-move"
KEY_BYTES = 32


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def link_of(grant: SessionGrant, account_id: str | None) -> str:
    """What a seat is bound to: the link's role and what the link is (a personal invite, the
    general link, a leader's account)."""
    what = grant.invite_token_id or grant.link_id or ""
    return f"{grant.role.value}:{what}:{account_id or ''}"


@dataclass(frozen=True)
class MoveTicket:
    session_id: str
    participant_id: str
    key_hash: str
    link: str


def issue_ticket(secret: str, ticket: MoveTicket, expires_at: int) -> str:
    claims = {
        "sid": ticket.session_id,
        "pid": ticket.participant_id,
        "kh": ticket.key_hash,
        "lnk": ticket.link,
        "exp": expires_at,
        "aud": MOVE_AUDIENCE,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_ticket(secret: str, token: str, now: float) -> MoveTicket | None:
    """The ticket's seat, or None for a forged, expired or malformed one."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=MOVE_AUDIENCE,
            options={"require": ["exp", "sid", "pid", "kh", "lnk"], "verify_exp": False},
        )
    except jwt.InvalidTokenError:
        return None
    fields = (claims["sid"], claims["pid"], claims["kh"], claims["lnk"])
    expires = claims["exp"]
    if not isinstance(expires, int) or expires <= now:
        return None
    if not all(isinstance(f, str) for f in fields):
        return None
    return MoveTicket(*fields)


def moved_seat(secret: str, now: float, session: Session, ticket: str, link: str) -> str:
    """The seat a move ticket carries here: signed, unexpired, for this session and link,
    and the seat's key unchanged since it was made (a ticket resumes once)."""
    moved = read_ticket(secret, ticket, now)
    person = session.participants.get(moved.participant_id) if moved else None
    if (
        moved is None
        or person is None
        or moved.session_id != session.id
        or moved.link != link
        or person.link != link
        or person.rejoin_key_hash != moved.key_hash
    ):
        raise Refusal("move_refused", "Your place could not be carried over. Join again.")
    return person.id
