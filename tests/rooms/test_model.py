from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from rooms.errors import Refusal
from rooms.model import (
    Leaders,
    ParticipantJoined,
    ParticipantLeft,
    Role,
    Session,
)


def test_join_update_leave() -> None:
    s = Session("s1", "Group", created_at=0.0, max_participants=2)
    event = s.join("p1", "  Alex   Kim ", Role.FACILITATOR, now=5.0)
    assert isinstance(event, ParticipantJoined)
    assert event.participant.display_name == "Alex Kim"
    assert event.participant.public()["role"] == "facilitator"
    assert s.set_media_state("p1", audio=False, video=None).participant.audio_on is False
    assert s.leave("p1", now=9.0) == ParticipantLeft("p1", 9.0)
    assert s.leave("p1", now=9.0) is None


def test_refusals_leave_the_session_unchanged() -> None:
    s = Session("s1", "Group", created_at=0.0, max_participants=1)
    s.join("p1", "Alex", Role.PARTICIPANT, now=0.0)
    with pytest.raises(Refusal) as full:
        s.join("p2", "Blair", Role.PARTICIPANT, now=0.0)
    assert full.value.code == "full"
    with pytest.raises(Refusal):
        s.join("p1", "Again", Role.PARTICIPANT, now=0.0)
    with pytest.raises(Refusal):
        Session("s2", "G", 0.0).join("p3", "   ", Role.PARTICIPANT, now=0.0)
    with pytest.raises(Refusal):
        s.set_media_state("nobody", audio=True, video=True)
    assert list(s.participants) == ["p1"]
    assert Role.COFACILITATOR.leads and not Role.PARTICIPANT.leads


def test_public_keeps_the_old_keys_and_adds_hand_and_admitted() -> None:
    s = Session("s1", "Group", created_at=0.0)
    public = s.join("p1", "Alex", Role.PARTICIPANT, now=1.0).participant.public()
    assert {"id", "name", "role", "room", "audio", "video"} <= public.keys()
    assert public["admitted"] is True and public["hand"] is False
    assert public["audio_locked"] is False


def test_waiting_room_holds_participants_but_never_leaders() -> None:
    assert Session("s1", "Group", created_at=0.0).waiting_room is False  # server default today
    s = Session("s1", "Group", created_at=0.0, waiting_room=True)
    assert s.join("f", "Fran", Role.FACILITATOR, now=1.0).participant.admitted
    assert s.join("c", "Cas", Role.COFACILITATOR, now=1.0).participant.admitted
    waiting = s.join("p", "Pat", Role.PARTICIPANT, now=2.0, invite_id="inv-1").participant
    assert not waiting.admitted and waiting.invite_id == "inv-1"
    assert [p.id for p in s.waiting()] == ["p"] and [p.id for p in s.admitted()] == ["f", "c"]
    left = s.leave("p", now=3.0)
    assert left == ParticipantLeft("p", 3.0, admitted=False)
    assert left.audience == Leaders()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda s: setattr(s, "locked", True), "locked"),
        (lambda s: s.blocked_invites.add("inv-1"), "blocked"),
        (lambda s: setattr(s, "ended_at", 5.0), "ended"),
        (lambda s: s.removed.add("p2"), "invalid"),
    ],
)
def test_join_refusals(change: Callable[[Session], object], code: str) -> None:
    s = Session("s1", "Group", created_at=0.0)
    s.join("p1", "Alex", Role.FACILITATOR, now=0.0)
    change(s)
    before = copy.deepcopy(s)
    with pytest.raises(Refusal) as error:
        s.join("p2", "Blair", Role.PARTICIPANT, now=1.0, invite_id="inv-1")
    assert error.value.code == code and s == before


def test_a_locked_mute_refuses_only_unmuting() -> None:
    s = Session("s1", "Group", created_at=0.0, participants_may_unmute=False)
    p = s.join("p1", "Alex", Role.PARTICIPANT, now=0.0).participant
    assert p.audio_locked and not p.audio_on  # joined during a locked mute: muted
    with pytest.raises(Refusal) as error:
        s.set_media_state("p1", audio=True, video=None)
    assert error.value.code == "forbidden" and not p.audio_on
    assert s.set_media_state("p1", audio=False, video=False).participant.video_on is False


def test_hand_queue_and_leave_clears_the_spotlight() -> None:
    s = Session("s1", "Group", created_at=0.0)
    for i, pid in enumerate(("a", "b", "c")):
        s.join(pid, pid, Role.PARTICIPANT, now=float(i))
    s.participants["c"].hand_raised_at = 10.0
    s.participants["a"].hand_raised_at = 11.0
    s.participants["b"].hand_raised_at = 10.0  # same time as c: join order breaks the tie
    assert s.hand_queue() == ["b", "c", "a"]
    s.spotlight = "b"
    s.leave("b", now=12.0)
    assert s.spotlight is None and s.hand_queue() == ["c", "a"]
