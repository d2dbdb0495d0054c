"""A Chromium participant in a private 1:1 room with the facilitator loses its link for 12 s
(longer than the socket can outlive): it comes back as itself, in the private room, its audio
reaching the facilitator again; and at no moment after the move does anyone in the main room
receive a packet of its audio (the main-room bots' per-source counters stay where they were).

The browser runs in a child process inside the namespace (tests/netns/far_page.py); the
facilitator and the main room are bots on this side of the link."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.harness import KINDS
from rooms.model import PRIVATE_ROOM_PREFIX
from server.bot.client import Bot
from server.bot.media import EncodedMedia
from tests.conftest import RunningServer, until
from tests.netns.conftest import run_inside, stop_child
from tests.netns.far_bot import read
from tests.netns.impaired_link import ImpairedLink

CUT_S = 12.0
BACK_WITHIN_S = 15.0  # the page's socket.io reconnection backs off up to 4 s


async def test_a_page_in_a_private_room_comes_back_to_it_and_is_never_heard_by_the_group(
    link: ImpairedLink, server_on_link: RunningServer, small_media: EncodedMedia, tmp_path: Path
) -> None:
    session = await server_on_link.create_session("Private outage")
    lead = Bot(session["facilitator_url"], "Lead", small_media)
    group = [Bot(session["invite_url"], name, small_media) for name in ("Ash", "Bea")]
    for bot in (lead, *group):
        await bot.start()
    page = tmp_path / "page.json"
    child = await run_inside(
        link, ["-m", "tests.netns.far_page", session["invite_url"], "Sam", str(page), "150"]
    )
    try:
        live = server_on_link.live.sessions[session["session_id"]]
        await until(lambda: read(page).get("state") == "joined", 60, "the page joins")
        sam = read(page)["participant_id"]
        await until(
            lambda: all(b.received("audio", sam) > 20 for b in group),
            20,
            f"the group hears Sam ({read(page)})",
        )

        await lead.request("control", {"action": "private_room", "target": sam})
        private = PRIVATE_ROOM_PREFIX + sam
        assert live.session.participants[sam].room_id == private
        await until(lambda: read(page).get("room") == private, 10, "the page knows its room")
        heard = lead.received("audio", sam)
        await until(lambda: lead.received("audio", sam) > heard + 20, 10, "the lead hears Sam")
        await asyncio.sleep(1.0)  # packets already on their way when the slots moved
        before = {b.name: {k: b.received(k, sam) for k in KINDS} for b in group}

        def the_group_hears_nothing() -> None:
            now = {b.name: {k: b.received(k, sam) for k in KINDS} for b in group}
            assert now == before, f"the main room received Sam's media: {before} -> {now}"

        link.cut = True
        end = time.monotonic() + CUT_S
        while time.monotonic() < end:
            the_group_hears_nothing()
            await asyncio.sleep(0.1)
        link.cut = False
        assert live.session.participants[sam].disconnected_at is not None, "the socket dropped"

        heard = lead.received("audio", sam)
        deadline = time.monotonic() + BACK_WITHIN_S
        while lead.received("audio", sam) <= heard + 20:
            the_group_hears_nothing()
            assert time.monotonic() < deadline, f"Sam not heard in the private room: {read(page)}"
            await asyncio.sleep(0.1)
        view = read(page)
        assert (view["participant_id"], view["room"], view["state"]) == (sam, private, "joined")
        person = live.session.participants[sam]
        assert (person.room_id, person.disconnected_at) == (private, None)
        for _ in range(30):  # and it stays so
            the_group_hears_nothing()
            await asyncio.sleep(0.1)
        assert view["errors"] == []
    finally:
        await stop_child(child)
        for bot in (lead, *group):
            await bot.close()
