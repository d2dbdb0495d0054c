from __future__ import annotations

import pytest

from server import accounts

pytestmark = pytest.mark.unit

SECRET = "k" * 64


def test_password_hash_is_argon2id_and_verifies() -> None:
    digest = accounts.hash_password("correct horse battery")
    assert digest.startswith("$argon2id$")
    assert accounts.verify_password(digest, "correct horse battery")
    assert not accounts.verify_password(digest, "wrong horse battery")
    assert not accounts.verify_password("not a hash", "correct horse battery")
    with pytest.raises(accounts.PasswordPolicyError):
        accounts.hash_password("short")


def test_cookie_round_trip_expiry_and_forgery() -> None:
    cookie = accounts.issue_cookie(SECRET, "f_1", now=1000.0)
    assert accounts.read_cookie(SECRET, cookie, now=1000.0 + 60) == "f_1"
    assert accounts.read_cookie(SECRET, cookie, now=1000.0 + accounts.COOKIE_TTL_S) is None
    assert accounts.read_cookie("x" * 64, cookie, now=1001.0) is None
    assert accounts.read_cookie(SECRET, None, now=0) is None
    assert accounts.read_cookie(SECRET, "garbage", now=0) is None
