"""Facilitator accounts: argon2id password hashes and the signed, expiring sign-in cookie."""

from __future__ import annotations

import asyncio
import secrets
from functools import cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

COOKIE_NAME = "circle_session"
COOKIE_AUDIENCE = "circle-console"
COOKIE_TTL_S = 12 * 3600  # one working day; signing in again is cheap
MIN_PASSWORD_CHARS = 10

_hasher = PasswordHasher()  # argon2id with the library's memory-hard defaults (RFC 9106)


class PasswordPolicyError(ValueError):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise PasswordPolicyError(f"use at least {MIN_PASSWORD_CHARS} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the email is unknown: the same work, the same time."""
    return _hasher.hash(secrets.token_urlsafe(16))


async def check_password(password_hash: str | None, password: str) -> bool:
    """verify_password off the event loop (argon2 takes ~0.1 s of CPU), and as slow for an
    unknown account (None) as for a known one, so timing tells no one which emails exist."""
    if password_hash is None:
        await asyncio.to_thread(verify_password, await asyncio.to_thread(_dummy_hash), password)
        return False
    return await asyncio.to_thread(verify_password, password_hash, password)


def issue_cookie(secret: str, facilitator_id: str, now: float, version: int = 0) -> str:
    claims = {
        "fid": facilitator_id,
        "ver": version,
        "exp": int(now + COOKIE_TTL_S),
        "aud": COOKIE_AUDIENCE,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def read_cookie(secret: str, value: str | None, now: float) -> str | None:
    """The facilitator id a cookie names, or None for a missing, forged or expired cookie.
    Whether it was revoked since is for the caller to check (web.signed_in)."""
    claims = read_cookie_claims(secret, value, now)
    return claims[0] if claims else None


def read_cookie_claims(secret: str, value: str | None, now: float) -> tuple[str, int] | None:
    """The facilitator id and token version of a genuine, unexpired cookie."""
    if not value or len(value) > 4096:
        return None
    try:
        claims = jwt.decode(
            value,
            secret,
            algorithms=["HS256"],
            audience=COOKIE_AUDIENCE,
            options={"require": ["exp", "fid"], "verify_exp": False},
        )
    except jwt.InvalidTokenError:
        return None
    if int(claims["exp"]) <= now:
        return None
    version = claims.get("ver", 0)
    return str(claims["fid"]), version if isinstance(version, int) else -1
