"""Facilitator controls: who may do what (the authorization matrix), and traces of each
behaviour with fake times. Every refusal must leave the session exactly as it was."""

from __future__ import annotations

import copy
import json
from typing import Any, get_args

import pytest

from rooms import controls
from rooms.controls import (
    AudioForcedOff,
    ChatMessage,
    Command,
    DomainEvent,
    HandQueueChanged,
    HelpRequested,
    HelpResolvedEvent,
    ParticipantAdmitted,
    ParticipantDenied,
    ParticipantRemoved,
    ParticipantWaiting,
    PolicyChanged,
    RemovedNotice,
    RoleChanged,
    SessionEnded,
    SessionLockChanged,
    SpotlightChanged,
    UnmuteRequested,
    VideoForcedOff,
    apply,
    events_for_join,
    parse_command,
    recipients,
    snapshot,
)
from rooms.controls.dispatch import HANDLERS
from rooms.controls.waiting_room import knock_view
from rooms.errors import Refusal
from rooms.model import (
    Everyone,
    Leaders,
    Only,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    Role,
    RoomChanged,
    Session,
)

FAC, COF, PAR = "fac", "cof", "par"  # the three roles, all admitted
TGT = "tgt"  # an admitted participant: mic and camera on, no hand
HAND = "hand"  # an admitted participant: muted, hand raised, asked for help
WAIT = "wait"  # in the waiting room
GONE = "gone"  # removed by the facilitator
STRANGER = "stranger"  # never in this session (say, someone from another session)
ACTORS = (FAC, COF, PAR, GONE, WAIT, STRANGER)


def cmd(action: str, **fields: Any) -> Command:
    return parse_command({"action": action, **fields})


def run(session: Session, actor: str, action: str, now: float = 50.0, **fields: Any) -> Any:
    return apply(session, actor, cmd(action, **fields), now)


def refused(session: Session, actor: str, command: Command, now: float = 50.0) -> str:
    """Apply a command that must be refused; returns the code, checks nothing changed."""
    before = copy.deepcopy(session)
    with pytest.raises(Refusal) as error:
        apply(session, actor, command, now)
    assert session == before, f"{command!r} by {actor} changed the session"
    return error.value.code


def make_session() -> Session:
    s = Session("s1", "Tuesday group", created_at=0.0, waiting_room=True)
    s.private_chat_allowed = True  # off by default (test_privacy); the switch is tested here
    s.join(FAC, "Fran", Role.FACILITATOR, 1.0)
    s.join(COF, "Cas", Role.COFACILITATOR, 2.0)
    for at, pid in enumerate((PAR, TGT, HAND, GONE), start=3):
        s.join(pid, pid.title(), Role.PARTICIPANT, float(at), invite_id=f"inv-{pid}")
        run(s, FAC, "admit", target=pid)
    s.set_media_state(HAND, audio=False, video=None)
    run(s, HAND, "raise_hand", now=7.0)
    run(s, HAND, "help", now=8.0)
    run(s, FAC, "remove", target=GONE)
    s.join(WAIT, "Wren", Role.PARTICIPANT, 9.0, invite_id="inv-wait")
    return s


# -- the authorization matrix ---------------------------------------------------------------

OK, FORBIDDEN, INVALID, NOT_FOUND = "ok", "forbidden", "invalid", "not_found"

# (command body, outcome for the facilitator, the cofacilitator, a participant). Removed,
# waiting and unknown actors are refused "forbidden" for every command.
MATRIX: list[tuple[dict[str, Any], str, str, str]] = [
    ({"action": "admit", "target": WAIT}, OK, OK, FORBIDDEN),
    ({"action": "admit_all"}, OK, OK, FORBIDDEN),
    ({"action": "deny", "target": WAIT, "message": "Not today"}, OK, OK, FORBIDDEN),
    ({"action": "mute", "target": TGT}, OK, OK, FORBIDDEN),
    ({"action": "mute_all"}, OK, OK, FORBIDDEN),
    ({"action": "mute_all", "lock": True}, OK, OK, FORBIDDEN),
    ({"action": "allow_unmute"}, OK, OK, FORBIDDEN),
    ({"action": "ask_unmute", "target": HAND}, OK, OK, FORBIDDEN),
    ({"action": "stop_video", "target": TGT}, OK, OK, FORBIDDEN),
    ({"action": "remove", "target": TGT}, OK, OK, FORBIDDEN),
    ({"action": "remove", "target": TGT, "block": True}, OK, OK, FORBIDDEN),
    ({"action": "lock"}, OK, OK, FORBIDDEN),
    ({"action": "unlock"}, OK, OK, FORBIDDEN),
    ({"action": "spotlight", "target": TGT}, OK, OK, FORBIDDEN),
    ({"action": "spotlight", "target": None}, OK, OK, FORBIDDEN),
    ({"action": "raise_hand"}, OK, OK, OK),
    ({"action": "lower_hand"}, INVALID, INVALID, INVALID),  # allowed, but no hand is up
    ({"action": "lower_hand", "target": HAND}, OK, OK, FORBIDDEN),
    ({"action": "lower_all_hands"}, OK, OK, FORBIDDEN),
    ({"action": "react", "emoji": "👏"}, OK, OK, OK),
    ({"action": "chat", "text": "Hello all"}, OK, OK, OK),
    ({"action": "chat", "text": "psst", "to": TGT}, OK, OK, OK),
    ({"action": "chat", "text": "psst", "to": COF}, OK, FORBIDDEN, OK),  # not to oneself
    ({"action": "set_private_chat", "allowed": False}, OK, OK, FORBIDDEN),
    ({"action": "help"}, OK, OK, OK),
    ({"action": "step_away", "away": True}, OK, OK, OK),
    ({"action": "help_resolved", "target": HAND}, OK, OK, FORBIDDEN),
    ({"action": "private_room", "target": HAND}, OK, OK, FORBIDDEN),
    ({"action": "return_to_main", "target": HAND}, INVALID, INVALID, FORBIDDEN),  # not in one
    ({"action": "engagement_settings", "measuring": False}, OK, OK, FORBIDDEN),
    ({"action": "engagement_settings"}, INVALID, INVALID, FORBIDDEN),  # nothing to change
    ({"action": "engagement_opt_out", "opted_out": True}, OK, OK, OK),
    ({"action": "end"}, OK, FORBIDDEN, FORBIDDEN),
    ({"action": "safety_view", "target": TGT}, OK, OK, FORBIDDEN),
    ({"action": "crisis_start", "target": TGT}, OK, OK, FORBIDDEN),
    ({"action": "crisis_note", "target": TGT, "note": "x"}, INVALID, INVALID, FORBIDDEN),  # none
    ({"action": "crisis_end", "target": TGT}, INVALID, INVALID, FORBIDDEN),  # no crisis
    ({"action": "promote", "target": TGT}, OK, FORBIDDEN, FORBIDDEN),
    ({"action": "demote", "target": COF}, OK, FORBIDDEN, FORBIDDEN),
]

CASES = [
    pytest.param(body, actor, outcome, id=f"{body['action']}-{i}-{actor}")
    for i, (body, fac, cof, par) in enumerate(MATRIX)
    for actor, outcome in zip(ACTORS, (fac, cof, par, FORBIDDEN, FORBIDDEN, FORBIDDEN), strict=True)
]


@pytest.mark.parametrize(("body", "actor", "outcome"), CASES)
def test_authorization_matrix(body: dict[str, Any], actor: str, outcome: str) -> None:
    session = make_session()
    command = parse_command(body)
    if outcome == OK:
        events = apply(session, actor, command, now=50.0)
        assert_plain(events)
    else:
        assert refused(session, actor, command) == outcome


def all_actions() -> set[str]:
    union = get_args(get_args(Command)[0])
    return {get_args(kind.model_fields["action"].annotation)[0] for kind in union}


def test_every_command_has_a_handler() -> None:
    assert set(get_args(get_args(Command)[0])) == set(HANDLERS)


def test_the_matrix_covers_every_action() -> None:
    # breakout actions have their own matrix, over open rooms (tests/rooms/test_breakouts.py)
    actions = {a for a in all_actions() if not a.startswith("breakout_")}
    assert {body["action"] for body, *_ in MATRIX} == actions


# (actor, command body, code): targets that are off limits, unknown, or in the wrong state.
TARGET_RULES: list[tuple[str, dict[str, Any], str]] = [
    (COF, {"action": "mute", "target": FAC}, FORBIDDEN),
    (COF, {"action": "stop_video", "target": FAC}, FORBIDDEN),
    (COF, {"action": "remove", "target": FAC}, FORBIDDEN),
    (COF, {"action": "deny", "target": FAC}, FORBIDDEN),
    (FAC, {"action": "demote", "target": FAC}, FORBIDDEN),
    (FAC, {"action": "remove", "target": FAC}, FORBIDDEN),
    (FAC, {"action": "remove", "target": COF}, OK),
    (COF, {"action": "remove", "target": COF}, FORBIDDEN),  # not oneself
    (PAR, {"action": "lower_hand", "target": HAND}, FORBIDDEN),
    (FAC, {"action": "mute", "target": STRANGER}, NOT_FOUND),
    (FAC, {"action": "stop_video", "target": STRANGER}, NOT_FOUND),
    (FAC, {"action": "admit", "target": STRANGER}, NOT_FOUND),
    (FAC, {"action": "chat", "text": "hi", "to": STRANGER}, NOT_FOUND),
    (COF, {"action": "lower_hand", "target": STRANGER}, NOT_FOUND),
    (FAC, {"action": "spotlight", "target": STRANGER}, NOT_FOUND),
    (FAC, {"action": "mute", "target": GONE}, INVALID),  # already removed
    (FAC, {"action": "remove", "target": GONE}, INVALID),
    (FAC, {"action": "admit", "target": GONE}, INVALID),
    (FAC, {"action": "mute", "target": WAIT}, INVALID),  # waiting: deny, don't remove/mute
    (FAC, {"action": "remove", "target": WAIT}, INVALID),
    (FAC, {"action": "spotlight", "target": WAIT}, INVALID),
    (FAC, {"action": "chat", "text": "hi", "to": WAIT}, INVALID),
    (FAC, {"action": "admit", "target": TGT}, INVALID),  # not waiting
    (FAC, {"action": "deny", "target": TGT}, INVALID),
    (FAC, {"action": "mute", "target": HAND}, INVALID),  # already muted
    (FAC, {"action": "ask_unmute", "target": TGT}, INVALID),  # already unmuted
    (FAC, {"action": "help_resolved", "target": TGT}, INVALID),  # never asked
    (FAC, {"action": "lower_hand", "target": TGT}, INVALID),  # hand not up
    (HAND, {"action": "raise_hand"}, INVALID),  # already up
    (HAND, {"action": "step_away", "away": False}, INVALID),  # already here
    (FAC, {"action": "promote", "target": COF}, INVALID),
    (FAC, {"action": "promote", "target": FAC}, INVALID),
    (FAC, {"action": "demote", "target": TGT}, INVALID),
    (FAC, {"action": "private_room", "target": FAC}, FORBIDDEN),  # not oneself
    (FAC, {"action": "private_room", "target": COF}, INVALID),  # leaders meet in the open
    (FAC, {"action": "private_room", "target": WAIT}, INVALID),
    (FAC, {"action": "private_room", "target": STRANGER}, NOT_FOUND),
    (FAC, {"action": "return_to_main", "target": STRANGER}, NOT_FOUND),
]


@pytest.mark.parametrize(("actor", "body", "outcome"), TARGET_RULES)
def test_target_rules(actor: str, body: dict[str, Any], outcome: str) -> None:
    session = make_session()
    command = parse_command(body)
    if outcome == OK:
        apply(session, actor, command, now=50.0)
    else:
        assert refused(session, actor, command) == outcome


def test_a_video_already_off_cannot_be_stopped_again() -> None:
    s = make_session()
    run(s, COF, "stop_video", target=TGT)
    assert refused(s, FAC, cmd("stop_video", target=TGT)) == INVALID


# -- behaviour ------------------------------------------------------------------------------


def assert_plain(events: list[DomainEvent]) -> None:
    """Every payload is plain data a socket.io serializer takes as is."""
    for event in events:
        assert isinstance(event.name, str) and event.name
        assert isinstance(event.audience, Everyone | Leaders | Only)
        json.dumps(event.payload())


def test_waiting_room_admit_deny_and_admit_all() -> None:
    s = Session("s1", "Group", created_at=0.0, waiting_room=True)
    fac = s.join(FAC, "Fran", Role.FACILITATOR, 1.0)
    cof = s.join(COF, "Cas", Role.COFACILITATOR, 1.5)
    assert fac.participant.admitted and cof.participant.admitted  # leaders never wait
    assert events_for_join(s, fac) == [fac]
    joined = [s.join(pid, pid, Role.PARTICIPANT, 2.0 + i) for i, pid in enumerate("abcd")]
    waiting = events_for_join(s, joined[0])
    assert waiting == [ParticipantWaiting(knock_view(joined[0].participant))]
    assert waiting[0].audience == Leaders()
    assert recipients(s, Everyone()) == [FAC, COF]  # the waiting room hears nothing
    assert "waiting" in snapshot(s, COF, 0.0) and "waiting" not in snapshot(s, "a", 0.0)

    events = run(s, COF, "admit", now=10.0, target="a")
    assert events == [ParticipantAdmitted(s.participants["a"])]
    assert s.participants["a"].admitted and "a" in recipients(s, Everyone())

    events = run(s, FAC, "deny", now=11.0, target="b", message="This group is full today")
    assert events == [
        ParticipantDenied("b", "This group is full today"),
        ParticipantLeft("b", 11.0, admitted=False),
    ]
    assert events[0].audience == Only("b") and events[1].audience == Leaders()
    assert "b" not in s.participants and "b" in s.removed
    assert refused(s, FAC, cmd("admit", target="b")) == INVALID

    events = run(s, FAC, "admit_all", now=12.0)
    assert [e.payload()["id"] for e in events] == ["c", "d"]  # in join order
    assert not s.waiting()
    assert run(s, FAC, "admit_all", now=13.0) == []  # nobody left: nothing to say


def test_mute_all_with_lock_then_allow_unmute() -> None:
    s = make_session()
    run(s, COF, "admit", target=WAIT)
    events = run(s, COF, "mute_all", now=20.0, lock=True)
    # Everyone in the group with a live mic, and nobody who leads.
    forced = [e.target for e in events if isinstance(e, AudioForcedOff)]
    assert forced == [PAR, TGT, WAIT]
    assert all(e.audience == Only(e.target) for e in events if isinstance(e, AudioForcedOff))
    assert PolicyChanged(participants_may_unmute=False, private_chat_allowed=True) in events
    updated = [e.participant.id for e in events if isinstance(e, ParticipantUpdated)]
    assert updated == [PAR, TGT, HAND, WAIT]  # HAND was muted already but is now locked
    assert s.participants[FAC].audio_on and s.participants[COF].audio_on

    before = copy.deepcopy(s)
    with pytest.raises(Refusal) as error:
        s.set_media_state(PAR, audio=True, video=None)
    assert error.value.code == "forbidden" and s == before
    s.set_media_state(PAR, audio=None, video=False)  # the camera is theirs
    s.set_media_state(COF, audio=False, video=None)
    s.set_media_state(COF, audio=True, video=None)  # leaders are never locked

    # ask_unmute lets one person speak while the group stays locked; it never unmutes them.
    events = run(s, FAC, "ask_unmute", now=21.0, target=TGT)
    assert events[0] == UnmuteRequested(TGT, FAC) and events[0].audience == Only(TGT)
    assert not s.participants[TGT].audio_on
    s.set_media_state(TGT, audio=True, video=None)
    with pytest.raises(Refusal):
        s.set_media_state(PAR, audio=True, video=None)

    # Joining while locked: come in muted.
    s.join("late", "Lee", Role.PARTICIPANT, 22.0)
    assert s.participants["late"].audio_locked and not s.participants["late"].audio_on

    events = run(s, FAC, "allow_unmute", now=23.0)
    assert events[0] == PolicyChanged(participants_may_unmute=True, private_chat_allowed=True)
    assert not any(p.audio_locked for p in s.participants.values())
    s.set_media_state(PAR, audio=True, video=None)
    assert run(s, FAC, "allow_unmute", now=24.0) == []  # already allowed


def test_a_single_mute_is_enforced_but_may_be_undone_by_the_participant() -> None:
    s = make_session()
    events = run(s, COF, "mute", now=20.0, target=TGT)
    assert events == [AudioForcedOff(TGT, COF), ParticipantUpdated(s.participants[TGT])]
    assert not s.participants[TGT].audio_on  # the server pauses their audio on this
    s.set_media_state(TGT, audio=True, video=None)  # no lock: they may unmute
    events = run(s, COF, "stop_video", now=21.0, target=TGT)
    assert events[0] == VideoForcedOff(TGT, COF) and events[0].audience == Only(TGT)


def test_remove_with_block_refuses_the_same_invite() -> None:
    s = make_session()
    run(s, FAC, "spotlight", target=TGT)
    run(s, TGT, "raise_hand", now=30.0)
    events = run(s, COF, "remove", now=31.0, target=TGT, block=True)
    assert events == [
        ParticipantRemoved(TGT, blocked=True),
        RemovedNotice(TGT, blocked=True),
        SpotlightChanged(None),
        HandQueueChanged((HAND,)),
    ]
    assert events[0].audience == Everyone() and events[1].audience == Only(TGT)
    assert TGT not in recipients(s, Everyone())
    assert s.blocked_invites == {"inv-tgt"}

    before = copy.deepcopy(s)
    with pytest.raises(Refusal) as error:
        s.join("p_new", "Toni again", Role.PARTICIPANT, 32.0, invite_id="inv-tgt")
    assert error.value.code == "blocked" and s == before
    s.join("p_other", "Someone", Role.PARTICIPANT, 33.0, invite_id="inv-other")

    # A removal without block (or without a personal invite) blocks nothing.
    s.join("anon", "Anon", Role.PARTICIPANT, 34.0)
    run(s, FAC, "admit", target="anon")
    assert run(s, FAC, "remove", target="anon", block=True)[0] == ParticipantRemoved("anon", False)
    assert s.blocked_invites == {"inv-tgt"}


def test_lock_refuses_every_join() -> None:
    s = make_session()
    assert run(s, COF, "lock", now=40.0) == [SessionLockChanged(True, COF)]
    assert run(s, FAC, "lock", now=40.5) == []  # idempotent: two leaders may click at once
    for pid, role in (("x", Role.PARTICIPANT), ("y", Role.FACILITATOR)):
        before = copy.deepcopy(s)
        with pytest.raises(Refusal) as error:
            s.join(pid, "New", role, 41.0, invite_id="inv-new")
        assert error.value.code == "locked" and s == before
    assert snapshot(s, PAR, 0.0)["locked"] is True
    assert run(s, FAC, "unlock", now=42.0) == [SessionLockChanged(False, FAC)]
    s.join("x", "New", Role.PARTICIPANT, 43.0)


def test_hand_queue_is_ordered_by_raise_time() -> None:
    s = make_session()  # HAND raised at 7.0
    run(s, TGT, "raise_hand", now=60.0)
    events = run(s, COF, "raise_hand", now=55.0)  # fake times: raised "earlier" than TGT
    assert events[-1] == HandQueueChanged((HAND, COF, TGT))
    assert s.participants[COF].public()["hand"] is True
    assert s.hand_queue() == [HAND, COF, TGT]

    events = run(s, HAND, "lower_hand", now=61.0)
    assert events == [ParticipantUpdated(s.participants[HAND]), HandQueueChanged((COF, TGT))]
    run(s, PAR, "raise_hand", now=62.0)
    run(s, FAC, "lower_hand", now=63.0, target=TGT)  # a leader may lower anyone's
    run(s, TGT, "raise_hand", now=64.0)  # and it goes to the back of the queue
    assert s.hand_queue() == [COF, PAR, TGT]

    events = run(s, COF, "lower_all_hands", now=65.0)
    assert events[-1] == HandQueueChanged(())
    assert [e.participant.id for e in events if isinstance(e, ParticipantUpdated)] == [
        COF,
        PAR,
        TGT,
    ]
    assert run(s, COF, "lower_all_hands", now=66.0) == []


def test_chat_routing_and_the_private_chat_switch() -> None:
    s = make_session()
    group = run(s, PAR, "chat", now=70.0, text="Hi everyone")
    assert group == [ChatMessage(PAR, None, "Hi everyone", 70.0, Everyone())]
    assert group[0].payload() == {"from": PAR, "to": None, "text": "Hi everyone", "at": 70.0}

    private = run(s, PAR, "chat", now=71.0, text="hi", to=TGT)
    assert [e.audience for e in private] == [Only(PAR), Only(TGT)]
    assert all(e.payload()["to"] == TGT for e in private)

    assert run(s, COF, "set_private_chat", allowed=False) == [PolicyChanged(True, False)]
    assert refused(s, PAR, cmd("chat", text="hi", to=TGT)) == FORBIDDEN
    # Leaders stay reachable, and reach anyone.
    assert [e.audience for e in run(s, PAR, "chat", text="I'm struggling", to=COF)] == [
        Only(PAR),
        Only(COF),
    ]
    run(s, FAC, "chat", text="How are you?", to=PAR)
    run(s, PAR, "chat", text="Still fine in the group")
    assert run(s, COF, "set_private_chat", allowed=False) == []
    run(s, COF, "set_private_chat", allowed=True)
    run(s, PAR, "chat", text="hi again", to=TGT)


def test_help_reaches_only_the_leaders() -> None:
    s = make_session()
    events = run(s, PAR, "help", now=80.0)
    assert events == [HelpRequested(PAR, 80.0)]
    assert events[0].audience == Leaders()
    assert recipients(s, events[0].audience) == [FAC, COF]
    assert "help_requests" not in snapshot(s, TGT, 0.0)
    assert {"participant_id": PAR, "at": 80.0} in snapshot(s, COF, 0.0)["help_requests"]  # type: ignore[operator]

    # Pressing again alerts the leaders again, keeping the first time.
    assert run(s, PAR, "help", now=85.0) == [HelpRequested(PAR, 80.0)]

    events = run(s, COF, "help_resolved", now=90.0, target=PAR)
    assert events == [
        HelpResolvedEvent(PAR, COF, Leaders()),
        HelpResolvedEvent(PAR, COF, Only(PAR)),
    ]
    assert s.participants[PAR].help_requested_at is None
    assert refused(s, COF, cmd("help_resolved", target=PAR)) == INVALID


def test_promote_and_demote() -> None:
    s = make_session()
    run(s, FAC, "mute_all", lock=True)
    assert refused(s, TGT, cmd("mute", target=PAR)) == FORBIDDEN
    events = run(s, FAC, "promote", now=90.0, target=TGT)
    assert events[0] == RoleChanged(TGT, Role.COFACILITATOR, FAC)
    assert events[0].payload() == {"participant_id": TGT, "role": "cofacilitator", "by": FAC}
    assert not s.participants[TGT].audio_locked  # leaders are never locked
    assert "waiting" in snapshot(s, TGT, 0.0)
    run(s, TGT, "stop_video", target=PAR)  # now they may
    assert refused(s, TGT, cmd("demote", target=COF)) == FORBIDDEN  # only the facilitator

    events = run(s, FAC, "demote", now=91.0, target=TGT)
    assert events[0] == RoleChanged(TGT, Role.PARTICIPANT, FAC)
    assert s.participants[TGT].audio_locked
    assert refused(s, TGT, cmd("stop_video", target=HAND)) == FORBIDDEN


def test_end_tells_everyone_including_the_waiting_room() -> None:
    s = make_session()
    events = run(s, FAC, "end", now=100.0)
    assert events == [
        SessionEnded(FAC, 100.0, Everyone()),
        SessionEnded(FAC, 100.0, Only(WAIT)),
    ]
    assert s.ended_at == 100.0
    assert refused(s, FAC, cmd("end"), now=101.0) == INVALID
    assert refused(s, PAR, cmd("chat", text="bye"), now=101.0) == INVALID
    with pytest.raises(Refusal) as error:
        s.join("late", "Lee", Role.PARTICIPANT, 102.0)
    assert error.value.code == "ended"


def test_leave_clears_spotlight_and_hand() -> None:
    s = make_session()
    run(s, FAC, "spotlight", target=HAND)
    assert run(s, FAC, "spotlight", target=HAND) == []
    events = controls.leave(s, HAND, now=110.0)
    assert events == [ParticipantLeft(HAND, 110.0), SpotlightChanged(None), HandQueueChanged(())]
    assert controls.leave(s, HAND, now=111.0) == []
    # A waiting participant leaving concerns the leaders only.
    assert [e.audience for e in controls.leave(s, WAIT, now=112.0)] == [Leaders()]


def test_joined_events_keep_their_audience() -> None:
    s = Session("s1", "Group", created_at=0.0)  # the server's default: no waiting room
    joined = s.join(PAR, "Pat", Role.PARTICIPANT, 1.0)
    assert isinstance(joined, ParticipantJoined) and joined.participant.admitted
    assert events_for_join(s, joined) == [joined] and joined.audience == Everyone()
    assert joined.name == "participant_joined"


def test_a_whole_trace_has_plain_payloads() -> None:
    s = make_session()
    trace = [
        (COF, {"action": "admit", "target": WAIT}),
        (FAC, {"action": "mute_all", "lock": True}),
        (FAC, {"action": "ask_unmute", "target": PAR}),
        (PAR, {"action": "react", "emoji": "🙏"}),
        (PAR, {"action": "chat", "text": "thank you", "to": FAC}),
        (FAC, {"action": "spotlight", "target": PAR}),
        (FAC, {"action": "remove", "target": PAR, "block": True}),
        (FAC, {"action": "end"}),
    ]
    for i, (actor, body) in enumerate(trace):
        assert_plain(apply(s, actor, parse_command(body), now=200.0 + i))


# -- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("mute", "the command must be an object"),
        ({}, "action: Field required"),
        ({"action": "dance"}, "action: unknown action 'dance'"),
        ({"action": "mute"}, "target: Field required"),
        ({"action": "mute", "target": 7}, "target: Input should be a valid string"),
        ({"action": "mute", "target": ""}, "target: String should have at least 1 character"),
        ({"action": "lock", "extra": 1}, "extra: Extra inputs are not permitted"),
        ({"action": "mute_all", "lock": "true"}, "lock: Input should be a valid boolean"),
        ({"action": "spotlight"}, "target: Field required"),
        ({"action": "react", "emoji": "💩"}, "emoji: Input should be"),
        ({"action": "chat", "text": ""}, "text: String should have at least 1 character"),
        ({"action": "chat", "text": "  \n "}, "text: the message is empty"),
        ({"action": "chat", "text": "x" * 1001}, "text: String should have at most 1000"),
        ({"action": "deny", "target": "a", "message": "x" * 201}, "message: String should"),
        ({"action": "set_private_chat"}, "allowed: Field required"),
    ],
)
def test_parse_command_names_the_bad_field(data: object, message: str) -> None:
    with pytest.raises(Refusal) as error:
        parse_command(data)
    assert error.value.code == "invalid"
    assert error.value.message.startswith(message), error.value.message


def test_parse_command_defaults() -> None:
    assert parse_command({"action": "mute_all"}) == controls.MuteAll(action="mute_all", lock=False)
    assert parse_command({"action": "lower_hand"}) == controls.LowerHand(action="lower_hand")
    spot = parse_command({"action": "spotlight", "target": None})
    assert isinstance(spot, controls.Spotlight) and spot.target is None


def test_help_answered_in_a_private_room_and_back() -> None:
    session = make_session()
    events = run(session, COF, "private_room", target=HAND, now=60.0)
    room = "private-" + HAND
    assert session.participants[HAND].room_id == room == session.participants[COF].room_id
    assert session.participants[HAND].help_requested_at is None  # answering resolves it
    moved = {e.target: e.payload() for e in events if isinstance(e, RoomChanged)}
    assert moved == {HAND: {"room": room, "with": [COF]}, COF: {"room": room, "with": [HAND]}}
    resolved = [e.audience for e in events if isinstance(e, HelpResolvedEvent)]
    assert resolved == [Leaders(), Only(HAND)]
    assert refused(session, COF, cmd("private_room", target=HAND)) == INVALID  # already there
    events = run(session, FAC, "return_to_main", target=HAND, now=90.0)
    assert {p.room_id for p in session.participants.values()} == {"main"}
    assert {e.target for e in events if isinstance(e, RoomChanged)} == {HAND, COF}


def test_leaving_a_private_room_returns_the_other_to_main() -> None:
    session = make_session()
    run(session, FAC, "private_room", target=HAND)
    events = controls.leave(session, HAND, 70.0)
    assert session.participants[FAC].room_id == "main"
    assert [e.payload() for e in events if isinstance(e, RoomChanged)] == [
        {"room": "main", "with": [COF, PAR, TGT]}
    ]


def test_an_admitted_page_that_reconnects_skips_the_waiting_room() -> None:
    session = Session("s1", "Group", created_at=0.0, waiting_room=True)
    session.join(FAC, "Fran", Role.FACILITATOR, 1.0)
    session.join("p1", "Pat", Role.PARTICIPANT, 2.0, rejoin_key_hash="k" * 22)
    session.join("p2", "Quinn", Role.PARTICIPANT, 2.0, rejoin_key_hash="q" * 22)
    run(session, FAC, "admit", target="p1")
    controls.leave(session, "p1", 3.0)  # the connection dropped
    assert session.join(
        "p1b", "Pat", Role.PARTICIPANT, 4.0, rejoin_key_hash="k" * 22
    ).participant.admitted
    # still waiting, a guessed key, or removed: knock again
    controls.leave(session, "p2", 3.0)
    assert not session.join(
        "p2b", "Q", Role.PARTICIPANT, 4.0, rejoin_key_hash="q" * 22
    ).participant.admitted
    assert not session.join(
        "p3", "X", Role.PARTICIPANT, 4.0, rejoin_key_hash="z" * 22
    ).participant.admitted
    run(session, FAC, "remove", target="p1b")
    assert not session.join(
        "p1c", "Pat", Role.PARTICIPANT, 5.0, rejoin_key_hash="k" * 22
    ).participant.admitted
