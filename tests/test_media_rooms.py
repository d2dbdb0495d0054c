"""Rooms with real aiortc bots through the real server: everyone receives everyone, joins and
leaves never disturb the others, nothing is decoded or encoded, bad input harms no one."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
import socketio

from bench.harness import KINDS, hears_all
from server.app import SESSIONS, create_app
from server.bot.client import Bot
from server.bot.media import EncodedMedia
from tests.clients import snapshot, start_bots
from tests.conftest import RunningServer, make_settings, start_app, until

pytestmark = pytest.mark.usefixtures("loopback_ice")


async def test_four_bots_leave_and_join(
    circle_server: RunningServer, small_media: EncodedMedia, codec_count: list[str]
) -> None:
    session = await circle_server.create_session()
    bots = await start_bots(session["invite_url"], small_media, ["A", "B", "C", "D"])
    try:
        for bot in bots:
            others = [b for b in bots if b is not bot]
            await until(lambda b=bot, o=others: hears_all(b, o), 10, f"{bot.name} hears all")

        await bots[0].leave()
        rest = bots[1:]
        before = snapshot(rest)
        for bot in rest:
            others = [b for b in rest if b is not bot]
            await until(
                lambda b=bot, o=others: hears_all(b, o, before[b.name]),
                3,
                f"{bot.name} keeps receiving after A left",
            )
        live = circle_server.live.sessions[session["session_id"]]
        assert bots[0].participant_id not in live.session.participants
        assert all(
            slot["participant_id"] != bots[0].participant_id for bot in rest for slot in bot.slots
        )

        fifth = Bot(session["invite_url"], "E", small_media)
        joined_at = time.monotonic()
        await fifth.start()
        await until(lambda: hears_all(fifth, rest), 10, "E receives from the others")
        # the bound for a newcomer (typically 0.6-0.8 s here, connection setup included)
        assert time.monotonic() - joined_at <= 2.0
        for bot in rest:
            await until(
                lambda b=bot: all(b.received(k, fifth.participant_id) for k in KINDS),
                5,
                f"{bot.name} receives E",
            )
        bots.append(fifth)
        for bot in bots[1:]:
            assert bot.errors == []
            assert bot.lost("audio") <= bot.received("audio") * 0.02
    finally:
        for bot in bots:
            await bot.close()
    assert codec_count == []  # nothing decoded or encoded: the server forwards frames


async def test_bad_input_leaves_the_room_and_media_untouched(
    circle_server: RunningServer, small_media: EncodedMedia
) -> None:
    session = await circle_server.create_session()
    bots = await start_bots(session["invite_url"], small_media, ["A", "B"])
    intruder = socketio.AsyncClient(serializer="msgpack", reconnection=False)
    errors: list[Any] = []
    intruder.on("error", errors.append)
    try:
        for bot in bots:
            await until(lambda b=bot: hears_all(b, [o for o in bots if o is not b]), 10, "media")
        token = session["invite_url"].split("#t=")[1]
        await intruder.connect(
            circle_server.base_url, auth={"token": token}, transports=["websocket"]
        )
        assert (await intruder.call("join", {"name": "Intruder"}))["ok"]
        live = circle_server.live.sessions[session["session_id"]]
        members_before = sorted(live.session.participants)
        before = snapshot(bots)
        bad = [
            ("publish", {"sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\ngarbage\r\n"}),
            ("publish", {"sdp": "v=0\r\n" + "x" * 70_000}),
            ("subscribe_answer", {"sdp": "v=0\r\n"}),
            ("nonsense", {"x": 1}),
            ("media_state", ["audio"]),
        ]
        for event, data in bad:
            reply = await intruder.call(event, data, timeout=10)
            assert set(reply) == {"error", "message"}, reply
        await asyncio.sleep(1.0)
        assert len(errors) == len(bad)
        assert sorted(live.session.participants) == members_before
        for bot in bots:
            others = [b for b in bots if b is not bot]
            await until(
                lambda b=bot, o=others: hears_all(b, o, before[b.name]),
                3,
                f"{bot.name} still receives",
            )
            assert bot.errors == []
    finally:
        await intruder.disconnect()
        for bot in bots:
            await bot.close()


async def test_closed_tab_is_removed_after_the_grace_and_shutdown_closes_every_connection(
    tmp_path: Path, small_media: EncodedMedia
) -> None:
    settings = make_settings(tmp_path, reconnect_grace_s=2.0)
    app = create_app(settings)
    runner = await start_app(app, settings)
    server = RunningServer(f"http://{settings.host}:{settings.port}", app, settings)
    session = await server.create_session()
    bots = await start_bots(session["invite_url"], small_media, ["A", "B", "C"])
    try:
        gone = bots[2]
        await gone.sio.disconnect()  # the tab closes: no `leave`
        live = app[SESSIONS].sessions[session["session_id"]]
        await until(
            lambda: live.session.participants[gone.participant_id].disconnected_at is not None,
            5,
            "C is reconnecting, their place kept",
        )
        assert gone.participant_id in bots[0].participants
        await until(  # the place lapses after the grace
            lambda: gone.participant_id not in bots[0].participants, 10, "the others see C leave"
        )
        live = app[SESSIONS].sessions[session["session_id"]]
        pcs = [
            pc
            for media_state in live.router.participants.values()
            for pc in (media_state.publish_pc, media_state.subscribe_pc)
        ]
        assert len(pcs) == 4 and all(pc is not None for pc in pcs)
    finally:
        await runner.cleanup()
        for bot in bots:
            await bot.close()
    assert all(pc is not None and pc.connectionState == "closed" for pc in pcs)
    assert app[SESSIONS].sessions == {}
