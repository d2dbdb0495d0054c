"""Issue 15, findings 3, 11 and 12 (the pure parts): join limits per token and address, the
audit cap with a counted row, sign-in limits that forget, names without control or bidi
characters, and unknown audit actions."""

from __future__ import annotations

import pytest

from rooms import controls
from rooms.model import Role, Session
from server.limits import AuditCap, SlidingLimit, client_address

pytestmark = pytest.mark.unit


def test_sliding_limit_counts_per_key_and_forgets() -> None:
    limit = SlidingLimit(per_window=3, window_s=60)
    assert all(limit.allow("a", t) for t in (0, 1, 2))
    assert not limit.allow("a", 3)
    assert limit.allow("b", 3)
    assert limit.allow("a", 61)  # the window moved on
    limit.allow("c", 1000)
    assert set(limit.keys()) == {"c"}  # keys with nothing recent are forgotten


def test_audit_cap_counts_what_it_refused() -> None:
    cap = AuditCap(per_window=2, window_s=10)
    admitted = [cap.admit("p", t) for t in (0, 1, 2, 3)]
    assert admitted == [(True, 0), (True, 0), (False, 0), (False, 0)]
    assert cap.admit("p", 11) == (True, 2)  # write this one, and a row for the 2 refused


def test_client_address_trusts_only_configured_proxies() -> None:
    assert client_address("10.0.0.5", "1.2.3.4", ()) == "10.0.0.5"
    assert client_address("10.0.0.5", "1.2.3.4, 10.0.0.7", ("10.0.0.0/8",)) == "1.2.3.4"
    assert client_address("10.0.0.5", None, ("10.0.0.0/8",)) == "10.0.0.5"


def test_names_lose_control_and_bidi_characters() -> None:
    s = Session("s", "T", 0.0)
    joined = s.join("p", "\u202eAri\u0000\u200b Facilitator\u2066", Role.PARTICIPANT, 1.0)
    assert joined.participant.display_name == "Ari Facilitator"


def test_unknown_actions_are_named_unknown() -> None:
    assert controls.audit_action("mute") == "mute"
    assert controls.audit_action("<script>hello") == "unknown"
    assert controls.audit_action(7) == "unknown"
