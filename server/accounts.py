"""Facilitator accounts: argon2id password hashes and the signed, expiring sign-in cookie."""

from __future__ import annotations

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


def issue_cookie(secret: str, facilitator_id: str, now: float) -> str:
    claims = {"fid": facilitator_id, "exp": int(now + COOKIE_TTL_S), "aud": COOKIE_AUDIENCE}
    return jwt.encode(claims, secret, algorithm="HS256")


def read_cookie(secret: str, value: str | None, now: float) -> str | None:
    """The signed-in facilitator's id, or None for a missing, forged or expired cookie."""
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
    return str(claims["fid"])
