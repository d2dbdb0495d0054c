"""The summary and group pages in real headless Chromium after a real bot session: every
participant's row, the charts drawn, the CSV download, the group's sparklines.

Chromium must be installed at /usr/bin/chromium; without it these tests fail (they never skip).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import pytest
from playwright.async_api import Browser

from server import accounts
from server.bot.client import Bot
from server.bot.media import EncodedMedia
from server.console_api import STORE
from server.store import Facilitator, Group, Invite
from tests.conftest import RunningServer, until
from tests.test_browser_session import browser, wait_for

__all__ = ["browser"]  # the fixture
pytestmark = pytest.mark.usefixtures("loopback_ice")
# Set to a directory to save screenshots of both pages.
SCREENSHOTS = os.environ.get("CIRCLE_REPORT_SCREENSHOTS")

CHARTS_DRAWN = (
    "['share-chart', 'timeline-chart', 'quality-chart'].every((id) => {"
    " const c = document.getElementById(id); return c && c.width > 0 && Chart.getChart(c); })"
)


async def test_summary_and_group_pages_after_a_session(
    circle_server: RunningServer, browser: Browser, small_media: EncodedMedia
) -> None:
    store = circle_server.app[STORE]
    now = time.time()
    await store.add_facilitator(
        Facilitator("f_dana", "dana@x.org", accounts.hash_password("x" * 12), "Dana", "LCSW", now)
    )
    await store.add_group(Group("g_1", "Tuesday IOP", "f_dana", ("f_dana",), now))
    await store.add_invite(Invite("i_ana", "g_1", "Ana", "it_ana", now))
    created = await circle_server.create_session("Week 3", group_id="g_1")
    sid = created["session_id"]
    bots = [
        Bot(created["facilitator_url"], "Lead", None, subscribe=False),
        Bot(created["personal_invites"][0]["url"], "Ana", small_media, subscribe=False),
        Bot(created["invite_url"], "Ben", small_media, subscribe=False),
    ]
    try:
        for bot in bots:
            await bot.start()
        await asyncio.sleep(5.0)
        await bots[0].request("control", {"action": "end"})
        await until(lambda: sid not in circle_server.signalling.sessions, 5, "the session ends")
    finally:
        for bot in bots:
            await bot.close()

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    host = circle_server.settings.host
    cookie = accounts.issue_cookie(circle_server.settings.secret, "f_dana", time.time())
    await context.add_cookies(
        [{"name": accounts.COOKIE_NAME, "value": cookie, "domain": host, "path": "/"}]
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{circle_server.base_url}/sessions/{sid}/summary")
    await wait_for(page, "document.querySelectorAll('#people tbody tr').length === 3", "3 rows")
    rows = await page.locator("#people tbody th").all_inner_texts()
    assert sorted(rows) == ["Ana", "Ben", "Lead"]
    await wait_for(page, CHARTS_DRAWN, "the three charts")
    assert "Week 3" in await page.locator("h1").inner_text()
    assert await page.locator("#progress").is_hidden()  # the session ended: final
    csv_text: Any = await page.evaluate(
        "fetch(document.getElementById('csv').href).then((r) => r.text())"
    )
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("participant_id,invite_id,name") and len(lines) == 4
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/summary.png", full_page=True)

    await page.goto(f"{circle_server.base_url}/groups/g_1")
    await wait_for(page, "document.querySelectorAll('.member').length === 1", "Ana's trends")
    assert "Ana" in await page.locator(".member").inner_text()  # Ben had no personal invite
    await wait_for(
        page,
        "[...document.querySelectorAll('.spark canvas')].every((c) => Chart.getChart(c))"
        " && document.querySelectorAll('.spark canvas').length === 5",
        "five sparklines",
    )
    assert await page.locator("#sessions a").inner_text() == "Week 3"
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/group.png", full_page=True)
    assert errors == []
    await context.close()
