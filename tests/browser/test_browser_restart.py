"""A Chromium page whose server is killed (SIGKILL) and started again on the same data: the
page reconnects by itself and resumes as the same person, and media flows both ways again."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Page

from bench.harness import start_server
from server.bot.client import Bot
from server.bot.media import EncodedMedia
from tests.browser.helpers import INBOUND_JS, join, joined, open_page, wait_for
from tests.conftest import until

pytestmark = pytest.mark.usefixtures("loopback_ice")


async def inbound_packets(page: Page) -> int:
    stats = await page.evaluate(INBOUND_JS)
    return sum(s["packetsReceived"] for s in stats["inbound"].values())


async def test_a_page_resumes_as_itself_after_the_server_is_killed(
    tmp_path: Path, browser: Browser, small_media: EncodedMedia
) -> None:
    data = tmp_path / "data"
    server = await asyncio.to_thread(start_server, data, tmp_path / "first.log")
    session = server.api("/api/sessions", {"title": "Group", "waiting_room": False})
    lead = Bot(session["facilitator_url"], "Lead", small_media)
    second = None
    try:
        await lead.start()
        page = await open_page(browser, session["invite_url"])
        await join(page, "Ana")
        pid = await joined(page, 2, "Ana")
        await until(lambda: lead.received("audio", pid) > 20, 20, "the lead hears the page")

        os.kill(server.pid, signal.SIGKILL)
        server.process.wait()
        second = await asyncio.to_thread(
            start_server,
            data,
            tmp_path / "second.log",
            port=urlsplit(server.base).port,
            key=server.key,
        )
        await wait_for(
            page,
            f"window.circle.state === 'joined' && window.circle.participantId === '{pid}'"
            " && window.circle.pcSubscribe !== null",
            "the page is back as the same person",
            45,
        )
        await until(lambda: lead.resumes >= 1, 30, "the lead is back")
        heard = lead.received("audio", pid)
        await until(lambda: lead.received("audio", pid) > heard + 20, 20, "the page is heard")
        received = await inbound_packets(page)
        deadline = asyncio.get_running_loop().time() + 20
        while await inbound_packets(page) <= received + 20:
            assert asyncio.get_running_loop().time() < deadline, "the page receives nothing"
            await asyncio.sleep(0.2)
    finally:
        await lead.close()
        if second is not None:
            second.stop()
        server.stop()
