"""Issue 15, findings 2 and 3: a removal sticks to the person (resume key, personal invite), a
remove can lock the session in the same step, and the waiting room cannot fill a session."""

from __future__ import annotations

import pytest

from rooms import controls
from rooms.errors import Refusal
from rooms.model import Role, Session

KEY = "k" * 20


def _remove(session: Session, target: str, **fields: object) -> list[object]:
    command = controls.parse_command({"action": "remove", "target": target, **fields})
    return list(controls.apply(session, "fac", command, 10.0))


def test_a_removed_person_knocks_again_even_without_a_waiting_room() -> None:
    s = Session("s", "T", 0.0, waiting_room=False)
    s.join("fac", "Dana", Role.FACILITATOR, 1.0)
    s.join("p1", "Ari", Role.PARTICIPANT, 1.0, rejoin_key_hash=KEY)
    _remove(s, "p1")
    back = s.join("p2", "Ari", Role.PARTICIPANT, 2.0, rejoin_key_hash=KEY)
    assert not back.participant.admitted


def test_remove_and_block_refuses_the_resume_key_too() -> None:
    s = Session("s", "T", 0.0, waiting_room=False)
    s.join("fac", "Dana", Role.FACILITATOR, 1.0)
    s.join("p1", "Ari", Role.PARTICIPANT, 1.0, rejoin_key_hash=KEY)
    _remove(s, "p1", block=True)
    with pytest.raises(Refusal) as refused:
        s.join("p2", "Ari", Role.PARTICIPANT, 2.0, rejoin_key_hash=KEY)
    assert refused.value.code == "blocked"


def test_remove_can_lock_the_session_in_the_same_step() -> None:
    s = Session("s", "T", 0.0, waiting_room=False)
    s.join("fac", "Dana", Role.FACILITATOR, 1.0)
    s.join("p1", "Ari", Role.PARTICIPANT, 1.0)
    events = _remove(s, "p1", lock=True)
    assert s.locked
    assert any(isinstance(e, controls.SessionLockChanged) for e in events)
    with pytest.raises(Refusal):
        s.join("p2", "Ari", Role.PARTICIPANT, 2.0)


def test_the_waiting_room_does_not_count_against_the_size() -> None:
    s = Session("s", "T", 0.0, max_participants=3, waiting_room=True)
    for i in range(3 * 2):
        s.join(f"w{i}", "Knock", Role.PARTICIPANT, 1.0)
    # leaders always get in, even past the size
    s.join("fac", "Dana", Role.FACILITATOR, 1.0)
    assert s.participants["fac"].admitted
    # the waiting room has its own cap
    with pytest.raises(Refusal) as full:
        for i in range(100):
            s.join(f"x{i}", "Knock", Role.PARTICIPANT, 1.0)
    assert full.value.code == "full"
    assert len(s.waiting()) <= s.max_waiting


def test_admitting_past_the_size_is_refused() -> None:
    s = Session("s", "T", 0.0, max_participants=2, waiting_room=True)
    s.join("fac", "Dana", Role.FACILITATOR, 1.0)
    s.join("w1", "A", Role.PARTICIPANT, 1.0)
    s.join("w2", "B", Role.PARTICIPANT, 1.0)
    controls.apply(s, "fac", controls.parse_command({"action": "admit", "target": "w1"}), 2.0)
    with pytest.raises(Refusal) as full:
        controls.apply(s, "fac", controls.parse_command({"action": "admit", "target": "w2"}), 2.0)
    assert full.value.code == "full"


def test_a_full_session_puts_no_one_straight_in() -> None:
    s = Session("s", "T", 0.0, max_participants=2, waiting_room=False)
    s.join("fac", "Dana", Role.FACILITATOR, 1.0)
    s.join("p1", "A", Role.PARTICIPANT, 1.0)
    with pytest.raises(Refusal) as full:
        s.join("p2", "B", Role.PARTICIPANT, 1.0)
    assert full.value.code == "full"
