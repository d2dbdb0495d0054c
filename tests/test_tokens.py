from __future__ import annotations

import jwt
import pytest

from rooms.errors import Refusal
from rooms.model import Role
from server.tokens import SessionGrant, issue, verify

pytestmark = pytest.mark.unit

SECRET = "s" * 64


def test_round_trip_and_expiry() -> None:
    token = issue(SECRET, SessionGrant("s_1", "Group", Role.FACILITATOR, expires_at=1000))
    grant = verify(SECRET, token, now=999)
    # the title stays out of the token (a link in a browser's history names no group)
    assert grant == SessionGrant("s_1", "", Role.FACILITATOR, 1000)
    assert grant.facilitator_id is None and grant.invite_token_id is None
    with pytest.raises(Refusal) as expired:
        verify(SECRET, token, now=1000)
    assert expired.value.code == "expired_token"


def test_facilitator_and_invite_claims_round_trip() -> None:
    grant = SessionGrant("s_1", "", Role.PARTICIPANT, 1000, invite_token_id="it_1", link_id="gl_1")
    assert verify(SECRET, issue(SECRET, grant), now=0) == grant
    lead = SessionGrant("s_1", "G", Role.FACILITATOR, 1000, facilitator_id="f_1")
    assert verify(SECRET, issue(SECRET, lead), now=0).facilitator_id == "f_1"


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "not-a-jwt",
        issue("other-secret" * 4, SessionGrant("s_1", "G", Role.PARTICIPANT, 10**12)),
        jwt.encode({"sid": "s", "role": "admin", "exp": 10**12, "aud": "circle-session"}, SECRET),
        jwt.encode({"sid": "s", "role": "participant", "exp": 10**12}, SECRET),  # no audience
        jwt.encode(
            {"sid": "s", "role": "facilitator", "exp": 10**12, "aud": "circle-session"},
            SECRET,
            algorithm="HS512",  # algorithm other than the one we sign with
        ),
    ],
)
def test_invalid_tokens_are_refused(token: object) -> None:
    with pytest.raises(Refusal) as refused:
        verify(SECRET, token, now=0)
    assert refused.value.code == "invalid_token"
