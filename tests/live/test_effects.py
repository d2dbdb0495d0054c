"""server/live/effects.py: what domain events do to media, sockets and the store."""

from __future__ import annotations

import asyncio

from rooms.model import Role
from server.live.fanout import DISCONNECT_GRACE_S
from server.media.producer import AudioLevel
from tests.live.conftest import Live


async def test_a_mute_takes_the_target_off_the_active_speaker_at_once(live: Live) -> None:
    await live.session()
    await live.join("a", "Ann", Role.FACILITATOR)
    bo = await live.join("b", "Bo")
    live_session = live.registry.sessions["s_1"]
    for i in range(50):
        live.registry._on_audio_level("s_1", AudioLevel(bo, 20, True, i * 0.02))
    assert live_session.speakers["main"].current(1.0) == bo
    assert (await live.send("a", "control", {"action": "mute", "target": bo}))["ok"]
    assert "audio_forced_off" in live.sio.to("b")
    assert live_session.speakers["main"].current(1.0) is None


async def test_admission_adds_to_media_and_the_session_room(live: Live) -> None:
    await live.session(waiting_room=True)
    await live.join("a", "Ann", Role.FACILITATOR)
    reply = None
    await live.connect("b")
    reply = await live.send("b", "join", {"name": "Bo"})
    assert reply["admitted"] is False
    bo = reply["participant_id"]
    live_session = live.registry.sessions["s_1"]
    assert bo not in live_session.router.participants
    assert "b" not in live.sio.rooms[live_session.room()]
    assert (await live.send("a", "control", {"action": "admit", "target": bo}))["ok"]
    assert bo in live_session.router.participants
    assert "b" in live.sio.rooms[live_session.room()]
    admitted = [p for to, e, p in live.sio.sent if to == "b" and e == "admitted"]
    assert admitted and admitted[0]["me"]["id"] == bo


async def test_a_private_room_moves_media_only(live: Live) -> None:
    await live.session()
    ann = await live.join("a", "Ann", Role.FACILITATOR)
    bo = await live.join("b", "Bo")
    router = live.registry.sessions["s_1"].router
    reply = await live.send("a", "control", {"action": "private_room", "target": bo})
    assert reply["ok"], reply
    assert router.participants[ann].room_id == router.participants[bo].room_id != "main"


async def test_ending_closes_every_socket_after_the_grace_and_stores_a_final_summary(
    live: Live,
) -> None:
    await live.session()
    await live.join("a", "Ann", Role.FACILITATOR)
    await live.join("b", "Bo")
    assert (await live.send("a", "control", {"action": "end"}))["ok"]
    assert live.registry.sessions == {}
    record = await live.store.get_session("s_1")
    assert record is not None and record.ended_at == live.now[0]
    stored = await live.store.get_summary("s_1")
    assert stored is not None and stored.final
    assert live.sio.closed == []  # the reason arrives first
    await asyncio.sleep(DISCONNECT_GRACE_S + 0.3)
    assert sorted(live.sio.closed) == ["a", "b"]
    assert "session_ended" in live.sio.to("b")


async def test_media_failure_is_a_departure(live: Live) -> None:
    await live.session()
    await live.join("a", "Ann", Role.FACILITATOR)
    bo = await live.join("b", "Bo")
    await live.effects.depart("s_1", bo)
    assert bo not in live.registry.sessions["s_1"].router.participants
    assert "participant_left" in live.sio.to("a")
