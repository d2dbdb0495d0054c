"""Breakout rooms in real headless Chromium: a facilitator and four participants, two rooms,
a visible countdown, a room asking the facilitator to join, and everyone brought back.

Chromium must be installed at /usr/bin/chromium; without it these tests fail (they never skip).
"""

from __future__ import annotations

import os
import re

from playwright.async_api import Browser, Page

from tests.browser.helpers import WAIT_S, join, joined, open_page, wait_for
from tests.conftest import RunningServer

# Set to a file path to save the facilitator's page with the rooms overview and a call for help.
SCREENSHOT = os.environ.get("CIRCLE_BREAKOUTS_SCREENSHOT")
TILES_JS = "document.querySelectorAll('.tile[data-participant-id]').length"


async def tiles(page: Page, count: int, what: str) -> None:
    await wait_for(page, f"{TILES_JS} === {count}", what)


async def test_two_rooms_countdown_help_and_return(
    circle_server: RunningServer, browser: Browser
) -> None:
    created = await circle_server.create_session("Tuesday IOP")
    lead = await open_page(browser, created["facilitator_url"])
    names = ["Ana", "Ben", "Cy", "Di"]
    people = [await open_page(browser, created["invite_url"]) for _ in names]
    await join(lead, "Dana")
    for page, name in zip(people, names, strict=True):
        await join(page, name)
    for page, name in zip([lead, *people], ["Dana", *names], strict=True):
        await joined(page, 5, name)

    await lead.get_by_role("button", name="People").first.click()
    await lead.get_by_role("tab", name="Rooms").click()
    await lead.get_by_label("Number of rooms").fill("2")
    await lead.get_by_role("button", name="Create rooms").click()
    await wait_for(lead, "document.querySelectorAll('.room-card').length === 3", "two rooms")
    # the rooms made come into sight where the facilitator is looking (the panel scrolls)
    await wait_for(
        lead,
        "(() => { const r = document.getElementById('rooms-list').getBoundingClientRect();"
        " const p = document.getElementById('panel').getBoundingClientRect();"
        " return r.top >= p.top - 1 && r.top < p.bottom - 40; })()",
        "the rooms in sight",
    )
    await lead.get_by_role("button", name="Assign automatically").click()
    await wait_for(
        lead,
        "document.querySelectorAll('.room-card[data-room=\"b1\"] li').length === 2",
        "two people assigned to Room 1",
    )
    await lead.get_by_label("Minutes (blank: no limit)").fill("10")
    await lead.get_by_label("Return countdown (s)").fill("120")
    await lead.get_by_role("button", name="Open rooms").click()

    # Everyone in a room sees its name and the countdown, and only their room-mate.
    for page, name in zip(people, names, strict=True):
        status = page.locator("#breakout-status")
        await status.wait_for(timeout=WAIT_S * 1000)
        await wait_for(
            page,
            "/^Room [12] · (9|10):\\d\\d left$/"
            ".test(document.querySelector('#breakout-status').textContent)",
            f"{name}'s countdown",
        )
        await tiles(page, 2, f"{name} sees only the room-mate")
        # a breakout room is announced as one, never as a private conversation (issue 14)
        told = await page.locator("#notices").inner_text()
        assert re.search(r"You are in Room [12] with \w+ until \d", told), told
        assert "private" not in told.lower()
    assert re.match(
        r"Breakout rooms are open · (9|10):\d\d left",
        await lead.locator("#breakout-status").inner_text(),
    )
    await tiles(lead, 1, "the facilitator alone in the main room")

    # A room asks for the facilitator: the banner reaches the facilitator; one click joins.
    asker = people[0]
    asker_room = await asker.evaluate("window.circle.room")
    await asker.get_by_role("button", name="Ask the facilitator to join").click()
    banner = lead.locator(".room-help", has_text="Ana in Room")
    await banner.wait_for(timeout=WAIT_S * 1000)
    if SCREENSHOT:
        await lead.screenshot(path=SCREENSHOT)
    for page in people[1:]:
        assert await page.locator(".help-alert").count() == 0
    await banner.get_by_role("button", name=re.compile(r"^Join Room")).click()
    await wait_for(lead, f"window.circle.room === '{asker_room}'", "the facilitator in Ana's room")
    await tiles(lead, 3, "the facilitator sees Ana's room")
    await tiles(asker, 3, "Ana sees the facilitator arrive")

    # Close all: the return countdown shows everywhere, and the panel says the rooms are
    # closing; "Bring everyone back now" ends it at once (the countdown here is 2 minutes).
    await lead.get_by_role("button", name="Close all rooms").click()
    for page, name in zip(people, names, strict=True):
        await wait_for(
            page,
            "document.querySelector('#breakout-status').textContent.startsWith("
            "'Breakout rooms close in')",
            f"{name} sees the return countdown",
        )
    heading = lead.locator("#rooms-running-heading")
    await heading.get_by_text("Rooms are closing: everyone returns in").wait_for()
    assert await lead.locator("#rooms-close-all").is_hidden()
    await lead.get_by_role("button", name="Bring everyone back now").click()
    for page, name in zip([lead, *people], ["Dana", *names], strict=True):
        await tiles(page, 5, f"{name} back in the main room with everyone")
        assert await page.locator("#breakout-bar").is_hidden()
        assert page.circle_exceptions == []  # type: ignore[attr-defined]
    for page in [lead, *people]:
        await page.context.close()
