"""Continuity in the live layer: a dropped connection keeps the person's place, a return
resumes them as the same person, a lapsed place is a departure, an empty session becomes
final after a while, and a connection that closes mid-join leaves nobody half-joined."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from rooms.model import PRIVATE_ROOM_PREFIX, Role
from server import tokens
from server.store import Group, Invite, SessionRecord
from tests.live.conftest import Live

GRACE_S = 60.0  # the default reconnect grace (make_settings keeps the product's defaults)


async def test_a_drop_keeps_the_place_and_a_return_resumes_the_same_person(live: Live) -> None:
    await live.session()
    await live.join("a", "Ann", Role.FACILITATOR)
    bo = await live.join("b", "Bo")
    assert (await live.send("b", "control", {"action": "raise_hand"}))["ok"]
    joined_at = live.now[0]
    live.now[0] += 10
    await live.namespace.trigger_event("disconnect", "b", "transport close")
    session = live.registry.sessions["s_1"].session
    assert session.participants[bo].disconnected_at == live.now[0]
    assert "participant_reconnecting" in live.sio.to("a")
    assert "participant_left" not in live.sio.to("a")
    live.now[0] += 5
    await live.connect("b2")
    reply = await live.rejoin("b2", "Bo", bo)
    assert reply["ok"] and reply["resumed"] is True
    assert reply["participant_id"] == bo
    assert session.participants[bo].disconnected_at is None
    assert session.hand_queue() == [bo]  # the raised hand is still there
    assert "participant_reconnected" in live.sio.to("a")
    attendance = live.registry.sessions["s_1"].engagement.attendance(bo, live.now[0])
    # one person, with the time away as a gap in their presence
    assert attendance["spans"] == [[joined_at, joined_at + 10], [joined_at + 15, None]]


async def test_a_personal_invite_from_another_device_knocks_and_its_own_key_resumes(
    live: Live,
) -> None:
    await live.store.add_group(Group("g_1", "Tuesday", "f_x", ("f_x",), live.now[0]))
    await live.store.add_invite(Invite("i_cy", "g_1", "Cy", "it_cy", live.now[0]))
    await live.store.add_session(
        SessionRecord("s_1", "Group", "g_1", None, False, None, live.now[0])
    )
    await live.join("a", "Ann", Role.FACILITATOR)
    grant = tokens.SessionGrant("s_1", "", Role.PARTICIPANT, int(live.now[0]) + 3600)
    personal = {"token": tokens.issue(live.secret, replace(grant, invite_token_id="it_cy"))}
    await live.namespace.trigger_event("connect", "laptop", {}, personal)
    first = await live.send("laptop", "join", {"name": "Cy"})
    assert first["ok"] and first["admitted"], first
    # the phone has the same personal invite but not the laptop page's key: it knocks
    await live.namespace.trigger_event("connect", "phone", {}, personal)
    again = await live.send("phone", "join", {"name": "Cy"})
    assert again["participant_id"] != first["participant_id"] and again["admitted"] is False
    live_session = live.registry.sessions["s_1"]
    assert live_session.sids[first["participant_id"]] == "laptop"
    knock = [d for to, e, d in live.sio.sent if to == "a" and e == "participant_waiting"]
    assert knock[-1]["notice"] == "Cy is joining again from another device"
    # the laptop's page, reconnecting with its key: the same person
    await live.namespace.trigger_event("connect", "laptop2", {}, personal)
    back = await live.send("laptop2", "join", {"name": "Cy", "rejoin_key": first["rejoin_key"]})
    assert back["participant_id"] == first["participant_id"] and back["resumed"] is True


async def test_a_second_tab_with_the_same_key_takes_over_and_the_first_is_closed(
    live: Live,
) -> None:
    await live.session()
    await live.join("a", "Ann", Role.FACILITATOR)
    bo = await live.join("b", "Bo")
    await live.connect("b2")
    reply = await live.rejoin("b2", "Bo", bo)
    assert reply["participant_id"] == bo
    assert live.registry.sessions["s_1"].sids[bo] == "b2"
    # the old socket's own disconnect later changes nothing
    await live.namespace.trigger_event("disconnect", "b", "server disconnect")
    assert live.registry.sessions["s_1"].session.participants[bo].disconnected_at is None


async def test_a_private_talk_is_not_left_by_a_reconnect(live: Live) -> None:
    await live.session()
    ann = await live.join("a", "Ann", Role.FACILITATOR)
    bo = await live.join("b", "Bo")
    assert (await live.send("a", "control", {"action": "private_room", "target": bo}))["ok"]
    await live.namespace.trigger_event("disconnect", "b", "transport close")
    live_session = live.registry.sessions["s_1"]
    room = PRIVATE_ROOM_PREFIX + bo
    assert live_session.session.participants[ann].room_id == room  # the leader stays with them
    await live.connect("b2")
    reply = await live.rejoin("b2", "Bo", bo)
    assert reply["me"]["room"] == room
    assert live_session.router.participants[bo].room_id == room  # new media goes there only
    assert live_session.session.participants[bo].room_id == room


async def test_a_lapsed_place_is_a_departure_and_a_later_return_is_the_same_person(
    live: Live,
) -> None:
    await live.session()
    await live.join("a", "Ann", Role.FACILITATOR)
    bo = await live.join("b", "Bo")
    await live.namespace.trigger_event("disconnect", "b", "transport close")
    live.now[0] += GRACE_S - 1
    await live.workers.lapse(live.now[0])
    assert bo in live.registry.sessions["s_1"].session.participants
    live.now[0] += 1
    await live.workers.lapse(live.now[0])
    assert bo not in live.registry.sessions["s_1"].session.participants
    assert "participant_left" in live.sio.to("a")
    live.now[0] += 600
    await live.connect("b3")
    reply = await live.rejoin("b3", "Bo", bo)
    assert reply["participant_id"] == bo and "resumed" not in reply
    spans = live.registry.sessions["s_1"].engagement.attendance(bo, live.now[0])["spans"]
    assert len(spans) == 2 and spans[1] == [live.now[0], None]  # the same row, two spans


async def test_a_waiting_participant_who_drops_leaves_at_once(live: Live) -> None:
    await live.session(waiting_room=True)
    await live.join("a", "Ann", Role.FACILITATOR)
    await live.connect("b")
    reply = await live.send("b", "join", {"name": "Bo"})
    assert reply["admitted"] is False
    await live.namespace.trigger_event("disconnect", "b", "transport close")
    assert len(live.registry.sessions["s_1"].session.participants) == 1


async def test_an_empty_session_is_final_only_after_a_while(live: Live) -> None:
    await live.session()
    await live.join("a", "Ann", Role.FACILITATOR)
    assert (await live.send("a", "leave", {}))["ok"]
    live_session = live.registry.sessions["s_1"]
    assert live_session.empty_since == live.now[0]
    live.now[0] += live.registry.settings.empty_session_final_s - 1
    await live.workers.lapse(live.now[0])
    assert "s_1" in live.registry.sessions
    # someone comes back in time: the same live session goes on
    await live.join("a2", "Ann", Role.FACILITATOR)
    assert live.registry.sessions["s_1"] is live_session and live_session.empty_since is None
    assert (await live.send("a2", "leave", {}))["ok"]
    live.now[0] += live.registry.settings.empty_session_final_s
    await live.workers.lapse(live.now[0])
    assert "s_1" not in live.registry.sessions
    stored = await live.store.get_summary("s_1")
    assert stored is not None and stored.final


# Every await of a join: the store look-up, entering the socket room, telling the leader.
JOIN_AWAITS = {False: 3, True: 2}  # (waiting room) -> awaits a join goes through


@pytest.mark.parametrize(
    ("waiting_room", "step"), [(w, s) for w, n in JOIN_AWAITS.items() for s in range(n)]
)
async def test_a_connection_closing_at_any_step_of_a_join_leaves_nobody_half_joined(
    live: Live, waiting_room: bool, step: int
) -> None:
    """The socket closes at the join's `step`-th await (store look-up, socket room, messages)."""
    await live.session(waiting_room=waiting_room)
    await live.join("a", "Ann", Role.FACILITATOR)
    await live.connect("b")
    awaited = {"n": 0}
    store_get_session = live.store.get_session
    emit = live.sio.emit
    closing: list[asyncio.Task[Any]] = []

    async def close_socket_here() -> None:
        awaited["n"] += 1
        if awaited["n"] == step + 1:  # the socket closes now, on its own task
            closing.append(
                asyncio.create_task(
                    live.namespace.trigger_event("disconnect", "b", "transport close")
                )
            )
            await asyncio.sleep(0)

    async def slow_get_session(session_id: str) -> Any:
        await close_socket_here()
        return await store_get_session(session_id)

    async def slow_emit(event: str, data: Any = None, to: str = "", **kw: Any) -> None:
        if to == "a" or to == "b":
            await close_socket_here()
        await emit(event, data, to=to, **kw)

    enter_room = live.sio.enter_room

    async def slow_enter_room(sid: str, room: str, **kw: Any) -> None:
        await close_socket_here()
        await enter_room(sid, room, **kw)

    live.store.get_session = slow_get_session  # type: ignore[method-assign]
    live.sio.emit = slow_emit  # type: ignore[method-assign]
    live.sio.enter_room = slow_enter_room  # type: ignore[method-assign]
    reply = await live.send("b", "join", {"name": "Bo"})
    await asyncio.gather(*closing)
    assert closing, "the socket never closed: fewer awaits than steps"
    assert "ok" in reply or reply["error"] == "gone"
    live_session = live.registry.sessions["s_1"]
    for pid, person in live_session.session.participants.items():
        # everyone is on an open socket or away (their place kept), never on the closed one
        assert live_session.sids.get(pid) != "b", (step, reply)
        assert pid in live_session.sids or person.disconnected_at is not None, (step, reply)
    assert len(live_session.session.participants) in (1, 2)


async def test_a_restart_brings_the_session_back_as_it_was_at_its_last_save(
    live: Live,
) -> None:
    """What the store keeps is all a new process has: it restores the session, its people
    come back to their rooms and roles, the breakout timer runs on, the summary continues."""
    await live.session()
    ann = await live.join("a", "Ann", Role.FACILITATOR)
    bo = await live.join("b", "Bo")
    cy = await live.join("c", "Cy")
    assert (await live.send("a", "control", {"action": "promote", "target": cy}))["ok"]
    steps = [
        {"action": "breakout_create", "count": 1},
        {"action": "breakout_assign", "target": bo, "room": "b1"},
        {"action": "breakout_open", "duration_s": 600},
    ]
    for step in steps:
        reply = await live.send("a", "control", step)
        assert reply["ok"], (step, reply)
    before = live.registry.sessions["s_1"].session
    closes_at = before.breakouts.ends_at
    await live.workers.flush()
    # the process dies: nothing is closed or saved on the way out
    fresh = await live.restarted()
    await fresh.registry.restore()
    restored = fresh.registry.sessions["s_1"]
    assert restored.restored
    people = restored.session.participants
    assert set(people) == {ann, bo, cy}
    assert all(p.disconnected_at is not None for p in people.values())
    assert people[cy].role is Role.COFACILITATOR and people[bo].room_id == "b1"
    assert restored.session.breakouts.ends_at == closes_at
    await fresh.connect("b2")
    back = await fresh.rejoin("b2", "Bo", bo)
    assert back["participant_id"] == bo and back["restored"] is True
    assert restored.router.participants[bo].room_id == "b1"
    summary = fresh.registry.summary("s_1")
    assert summary is not None
    assert {p["id"] for p in summary["participants"]} == {ann, bo, cy}
