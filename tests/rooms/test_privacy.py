"""What the group may know of a private talk: nothing but that two people stepped away, exactly
as anyone may step away on their own.

Who is in a 1:1 room, and who asked for help, reaches the leaders and the person only: checked
on every message of a help request answered in a private room, as `deliveries` hands them out,
and on the snapshot a participant gets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rooms.controls import apply, deliveries, parse_command, snapshot
from rooms.errors import Refusal
from rooms.model import DomainEvent, Role, Session

FAC, COF, ASKER, OTHER = "fac", "cof", "asker", "other"


def _session() -> Session:
    s = Session("s1", "Group", created_at=0.0)
    s.join(FAC, "Fran", Role.FACILITATOR, 1.0, credentials="LCSW")
    s.join(COF, "Cas", Role.COFACILITATOR, 2.0)
    s.join(ASKER, "Ash", Role.PARTICIPANT, 3.0)
    s.join(OTHER, "Oli", Role.PARTICIPANT, 4.0)
    return s


def _run(s: Session, actor: str, now: float, **body: Any) -> list[DomainEvent]:
    return apply(s, actor, parse_command(body), now)


def _received(s: Session, events: list[DomainEvent]) -> dict[str, list[tuple[str, Any]]]:
    """Each person's messages, as the server would send them."""
    inbox: dict[str, list[tuple[str, Any]]] = {}
    for event in events:
        for pid, payload in deliveries(s, event):
            inbox.setdefault(pid, []).append((event.name, payload))
    return inbox


def _private_talk(s: Session) -> list[DomainEvent]:
    events = _run(s, ASKER, 10.0, action="raise_hand")
    events += _run(s, ASKER, 11.0, action="help")
    events += _run(s, FAC, 12.0, action="private_room", target=ASKER)
    return events


def test_the_group_never_learns_who_is_in_a_private_talk() -> None:
    s = _session()
    inbox = _received(s, _private_talk(s))
    other = json.dumps(inbox[OTHER])
    assert "private-" not in other
    assert "help" not in other  # neither the request nor its resolution
    updates = {p["id"]: p for name, p in inbox[OTHER] if name == "participant_updated"}
    # both "stepped away briefly", as anyone may on their own; with whom is not said
    assert updates[ASKER] == {**updates[ASKER], "room": "main", "away": True, "hand": False}
    assert updates[FAC] == {**updates[FAC], "room": "main", "away": True}
    # the asker's raised hand leaves the group's queue, as a stepped-away member's does
    queues = [p["queue"] for name, p in inbox[OTHER] if name == "hand_queue_changed"]
    assert queues[-1] == []
    # the snapshot a participant gets (on joining, admission, promotion) says the same
    view = json.dumps(snapshot(s, OTHER, 13.0))
    assert "private-" not in view and "help_requests" not in view


def _group_view(s: Session, pid: str) -> dict[str, Any]:
    seen = {p["id"]: p for p in snapshot(s, OTHER, 50.0)["participants"]}  # type: ignore[attr-defined]
    return {k: v for k, v in seen[pid].items() if k not in ("id", "name")}


def test_the_group_sees_a_member_taken_aside_as_one_who_stepped_away() -> None:
    """The same view, field for field, whether a member stepped away on their own or is in a
    private talk or crisis response, whatever their microphone, camera and hand were; and a
    "mute the group" shows both as the others."""
    s = _session()
    s.join("third", "Tam", Role.PARTICIPANT, 5.0)
    for pid in (ASKER, "third"):
        _run(s, pid, 10.0, action="raise_hand")
    inbox = _received(s, _run(s, "third", 11.0, action="step_away", away=True))
    assert inbox[OTHER][-1] == ("hand_queue_changed", {"queue": [ASKER]})
    assert ("hand_queue_changed", {"queue": [ASKER, "third"]}) in inbox[FAC]
    _run(s, FAC, 12.0, action="private_room", target=ASKER)
    assert _group_view(s, ASKER) == _group_view(s, "third")
    assert _group_view(s, ASKER)["away"] is True
    _run(s, FAC, 13.0, action="mute_all")
    assert _group_view(s, ASKER) == _group_view(s, "third")
    assert _group_view(s, ASKER)["audio"] is False
    # back: seen again as they are
    _run(s, FAC, 14.0, action="return_to_main", target=ASKER)
    _run(s, "third", 15.0, action="step_away", away=False)
    assert _group_view(s, ASKER) == _group_view(s, "third")
    assert _group_view(s, ASKER)["away"] is False and _group_view(s, ASKER)["hand"] is True


def test_the_two_in_a_private_talk_see_each_other_in_it() -> None:
    """The member sees the leader in their 1:1 room (their tile and sound follow), and the
    leader sees the member; neither as away."""
    s = _session()
    inbox = _received(s, _private_talk(s))
    room = "private-" + ASKER
    seen = {p["id"]: p for n, p in inbox[ASKER] if n == "participant_updated"}
    assert seen[FAC] == {**seen[FAC], "room": room, "away": False}
    mine = {p["id"]: p for p in snapshot(s, ASKER, 13.0)["participants"]}  # type: ignore[attr-defined]
    assert mine[FAC]["room"] == room and mine[FAC]["away"] is False
    theirs = {p["id"]: p for p in snapshot(s, FAC, 13.0)["participants"]}  # type: ignore[attr-defined]
    assert theirs[ASKER]["room"] == room and theirs[ASKER]["away"] is False


def test_leaders_and_the_member_see_the_private_room() -> None:
    s = _session()
    inbox = _received(s, _private_talk(s))
    room = "private-" + ASKER
    for leader in (FAC, COF):
        rooms = {p["id"]: p["room"] for n, p in inbox[leader] if n == "participant_updated"}
        assert rooms[ASKER] == room == rooms[FAC]
        assert ("help_requested", {"participant_id": ASKER, "at": 11.0}) in inbox[leader]
    mine = [p for n, p in inbox[ASKER] if n == "participant_updated" and p["id"] == ASKER]
    assert mine[-1]["room"] == room
    assert ("room_changed", {"room": room, "with": [FAC]}) in inbox[ASKER]
    seen_by_leader = {p["id"]: p for p in snapshot(s, COF, 13.0)["participants"]}  # type: ignore[attr-defined]
    assert seen_by_leader[ASKER]["room"] == room


def test_a_late_joiner_and_an_admitted_person_see_the_group_view() -> None:
    s = _session()
    s.waiting_room = True
    _private_talk(s)
    s.join("late", "Lee", Role.PARTICIPANT, 20.0)
    admitted = _run(s, COF, 21.0, action="admit", target="late")
    inbox = _received(s, admitted)
    assert inbox["late"][0][1]["id"] == "late"
    assert inbox[OTHER][0][1]["room"] == "main"
    assert "private-" not in json.dumps(snapshot(s, "late", 22.0))


@pytest.mark.parametrize("viewer", [FAC, ASKER, OTHER])
def test_returning_tells_everyone_the_main_room(viewer: str) -> None:
    s = _session()
    _private_talk(s)
    back = _run(s, FAC, 30.0, action="return_to_main", target=ASKER)
    got = {p["id"]: p for n, p in _received(s, back)[viewer] if n == "participant_updated"}
    assert got[FAC]["room"] == got[ASKER]["room"] == "main"
    assert got[FAC]["away"] is False


def test_private_chat_between_participants_is_off_by_default() -> None:
    s = _session()
    assert not s.private_chat_allowed
    assert snapshot(s, OTHER, 5.0)["private_chat_allowed"] is False
    with pytest.raises(Refusal, match="private messages"):
        _run(s, OTHER, 5.0, action="chat", text="hi", to=ASKER)
    assert _run(s, OTHER, 5.0, action="chat", text="hi", to=FAC)  # leaders stay reachable
    _run(s, FAC, 6.0, action="set_private_chat", allowed=True)
    assert _run(s, OTHER, 7.0, action="chat", text="hi", to=ASKER)


def test_the_member_may_end_their_own_private_talk_and_no_one_elses() -> None:
    s = _session()
    _private_talk(s)
    with pytest.raises(Refusal) as refused:
        _run(s, OTHER, 20.0, action="return_to_main", target=ASKER)
    assert refused.value.code == "forbidden"
    _run(s, ASKER, 21.0, action="return_to_main", target=ASKER)
    assert {p.room_id for p in s.participants.values()} == {"main"}


def test_the_knock_says_which_link_knocked_and_only_to_the_leaders() -> None:
    """A therapist tells a member from a stranger: the knock names the personal invite's label
    (or none: the general link); nobody else ever sees the label."""
    from rooms.controls import events_for_join
    from rooms.controls.waiting_room import knock_view

    s = _session()
    s.waiting_room = True
    member = s.join("m", "Sammy", Role.PARTICIPANT, 9.0, invite_id="i1", invite_label="Sam R.")
    stranger = s.join("x", "Sam", Role.PARTICIPANT, 9.5)
    assert knock_view(member.participant)["invite"] == "Sam R."
    assert knock_view(stranger.participant)["invite"] is None
    inbox = _received(s, events_for_join(s, member) + events_for_join(s, stranger))
    assert "Sam R." in json.dumps(inbox[FAC]) and "Sam R." not in json.dumps(inbox.get(OTHER))
    assert "Sam R." in json.dumps(snapshot(s, COF, 10.0)["waiting"])
