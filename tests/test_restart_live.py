"""A server killed mid-session (SIGKILL: nothing saved on the way out) and started again on
the same data directory: the session comes back from the store, every bot resumes as the
same person in the same room, the breakout timer runs on and the summary is continuous."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench.harness import start_server
from server.bot.client import Bot
from server.bot.media import EncodedMedia
from server.live.workers import SUMMARY_FLUSH_S
from tests.conftest import until

pytestmark = pytest.mark.usefixtures("loopback_ice")


async def test_a_killed_server_comes_back_and_everyone_resumes_in_their_room(
    tmp_path: Path, small_media: EncodedMedia
) -> None:
    data = tmp_path / "data"
    server = await asyncio.to_thread(start_server, data, tmp_path / "first.log")
    session = server.api("/api/sessions", {"title": "Group", "waiting_room": False})
    lead = Bot(session["facilitator_url"], "Lead", small_media)
    ana = Bot(session["invite_url"], "Ana", small_media)
    ben = Bot(session["invite_url"], "Ben", small_media)
    bots = [lead, ana, ben]
    second = None
    try:
        for bot in bots:
            await bot.start()
        for step in (
            {"action": "breakout_create", "count": 1},
            {"action": "breakout_assign", "target": ana.participant_id, "room": "b1"},
            {"action": "breakout_open", "duration_s": 600},
        ):
            await lead.request("control", step)
        await until(lambda: lead.received("audio", ben.participant_id) > 50, 15, "main room")
        ids = [bot.participant_id for bot in bots]
        await asyncio.sleep(SUMMARY_FLUSH_S + 1)  # what is kept is what the last flush saved

        os.kill(server.pid, signal.SIGKILL)
        server.process.wait()
        port = urlsplit(server.base).port
        second = await asyncio.to_thread(
            start_server, data, tmp_path / "second.log", port=port, key=server.key
        )
        await until(lambda: all(bot.resumes >= 1 for bot in bots), 30, "every bot resumes")
        assert [bot.participant_id for bot in bots] == ids  # the same people
        assert lead.role == "facilitator" and lead.state["resumed"] is True
        breakouts = lead.state["breakouts"]
        assert breakouts["open"] and 0 < breakouts["remaining_s"] < 600  # the timer ran on
        assert ana.state["me"]["room"] == "b1" and ben.state["me"]["room"] == "main"

        # media flows again within each room, and never across
        heard = {
            bot.name: {o.name: bot.received("audio", o.participant_id) for o in bots}
            for bot in bots
        }
        await until(
            lambda: (
                lead.received("audio", ben.participant_id) > heard["Lead"]["Ben"] + 50
                and ben.received("audio", lead.participant_id) > heard["Ben"]["Lead"] + 50
            ),
            15,
            "the main room hears itself again",
        )
        assert ana.received("audio", lead.participant_id) == heard["Ana"]["Lead"]
        assert lead.received("audio", ana.participant_id) == heard["Lead"]["Ana"]

        summary = second.api(f"/api/sessions/{session['session_id']}/summary")
        people = {p["id"]: p for p in summary["participants"]}
        assert set(people) == set(ids)
        assert all(len(p["attendance"]["spans"]) >= 2 for p in people.values())  # the gap
    finally:
        for bot in bots:
            await bot.close()
        if second is not None:
            second.stop()
        server.stop()
