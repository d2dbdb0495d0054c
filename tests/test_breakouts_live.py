"""Breakout rooms through the real server with six real aiortc bots: each receives only its
room-mates, a broadcast reaches everyone, closing brings everyone's media back, and no peer
connection is ever replaced."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bench.harness import KINDS, hears_all
from server.bot.client import Bot
from server.bot.media import EncodedMedia
from tests.clients import snapshot, start_bots
from tests.conftest import RunningServer, until

pytestmark = pytest.mark.usefixtures("loopback_ice")


async def test_six_bots_in_three_rooms_and_back(
    circle_server: RunningServer, small_media: EncodedMedia
) -> None:
    session = await circle_server.create_session()
    lead = Bot(session["facilitator_url"], "Lead", small_media, subscribe=False)
    await lead.start()
    bots = await start_bots(session["invite_url"], small_media, [f"B{i}" for i in range(6)])
    heard: dict[str, list[tuple[str, Any]]] = {bot.name: [] for bot in bots}
    for bot in bots:
        bot.sio.on("*", lambda event, data, name=bot.name: heard[name].append((event, data)))
    try:
        for bot in bots:
            others = [o for o in bots if o is not bot]
            await until(lambda b=bot, o=others: hears_all(b, o), 15, f"{bot.name} hears all")
        connections = [(bot.publish_pc, bot.subscribe_pc) for bot in bots]

        await lead.request("control", {"action": "breakout_create", "count": 3})
        await lead.request("control", {"action": "breakout_auto_assign", "seed": 3})
        await lead.request(
            "control", {"action": "breakout_open", "duration_s": 600, "return_countdown_s": 0}
        )
        live = circle_server.live.sessions[session["session_id"]]
        room_of = {
            b.participant_id: live.session.participants[b.participant_id or ""].room_id
            for b in bots
        }
        assert sorted(room_of.values()) == ["b1", "b1", "b2", "b2", "b3", "b3"]

        await asyncio.sleep(1.0)  # the switch and packets already in flight
        before = snapshot(bots)
        await asyncio.sleep(1.5)
        after = snapshot(bots)
        for bot in bots:
            for other in bots:
                if other is bot:
                    continue
                key_room_mate = room_of[other.participant_id] == room_of[bot.participant_id]
                for kind in KINDS:
                    key = (kind, other.participant_id or "")
                    grew = after[bot.name][key] > before[bot.name][key]
                    assert grew == key_room_mate, (bot.name, other.name, kind, before, after)

        # A visiting facilitator is heard only in the room visited.
        await lead.request("control", {"action": "breakout_visit", "room": "b1"})
        await asyncio.sleep(1.0)
        from_lead = {b.name: b.received("audio", lead.participant_id) for b in bots}
        await asyncio.sleep(1.0)
        for bot in bots:
            grew = bot.received("audio", lead.participant_id) > from_lead[bot.name]
            assert grew == (room_of[bot.participant_id] == "b1"), bot.name
        await lead.request("control", {"action": "breakout_visit", "room": "main"})

        await lead.request("control", {"action": "breakout_broadcast", "text": "Two minutes"})
        sent = {"from": lead.participant_id, "text": "Two minutes"}
        for bot in bots:
            await until(
                lambda b=bot: any(
                    name == "breakout_broadcast" and data.items() >= sent.items()
                    for name, data in heard[b.name]
                ),
                3,
                f"{bot.name} gets the broadcast",
            )

        await lead.request("control", {"action": "breakout_close_all"})
        floor = snapshot(bots)
        for bot in bots:
            others = [o for o in bots if o is not bot]
            await until(
                # video resumes at each publisher's next keyframe (one PLI per 0.5 s each), for
                # six people at once: seconds on a loaded 2-core machine
                lambda b=bot, o=others: hears_all(b, o, floor[b.name]),
                6,
                f"{bot.name} hears all five again",
            )
        assert {p.room_id for p in live.session.participants.values()} == {"main"}
        assert [(bot.publish_pc, bot.subscribe_pc) for bot in bots] == connections
    finally:
        for bot in [lead, *bots]:
            await bot.close()
