"""The page on a 390x844 touch phone, with bots for the rest of a six-person group: a compact
header, one toolbar row plus "More", every tile inside the scrollable grid (spotlight too, on
desktop as well), Leave confirmed. Set CIRCLE_SCREENSHOTS to a folder to save phone.png and
desktop.png there (docs/screenshots/)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from server.bot.client import Bot
from tests.browser.helpers import WAIT_S, join, joined, open_page, wait_for
from tests.clients import start_bots
from tests.conftest import RunningServer

SCREENSHOTS = os.environ.get("CIRCLE_SCREENSHOTS")

# Each tile's box against the grid's scrollable content: reachable means inside it.
TILES_INSIDE_JS = """
() => {
  const grid = document.getElementById('grid');
  const g = grid.getBoundingClientRect();
  const out = [];
  for (const tile of grid.querySelectorAll('.tile')) {
    const r = tile.getBoundingClientRect();
    const top = r.top - g.top + grid.scrollTop;
    const left = r.left - g.left + grid.scrollLeft;
    out.push({
      id: tile.dataset.participantId,
      inside: top >= -1 && left >= -1 && top + r.height <= grid.scrollHeight + 1
        && left + r.width <= grid.scrollWidth + 1,
      box: [Math.round(top), Math.round(left), Math.round(r.width), Math.round(r.height)],
    });
  }
  return out;
}
"""

TOOLBAR_JS = """
() => [...document.querySelectorAll('.controls > button, .controls > .more-menu')]
  .filter((b) => b.offsetParent !== null && getComputedStyle(b).display !== 'contents')
  .map((b) => {
    const r = b.getBoundingClientRect();
    return { id: b.id, top: r.top, bottom: r.bottom, right: Math.round(r.right) };
  })
"""


async def phone_page(browser: Browser, url: str) -> Page:
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = await context.new_page()
    exceptions: list[str] = []
    page.on("pageerror", lambda exc: exceptions.append(str(exc)))
    page.circle_exceptions = exceptions  # type: ignore[attr-defined]
    await page.goto(url)
    return page


async def assert_tiles_inside(page: Page, what: str) -> None:
    tiles: list[dict[str, Any]] = await page.evaluate(TILES_INSIDE_JS)
    assert tiles and all(t["inside"] for t in tiles), f"{what}: {tiles}"


@pytest.mark.usefixtures("loopback_ice")
async def test_phone_layout_and_every_tile_reachable(
    circle_server: RunningServer, browser: Browser, small_media: Any
) -> None:
    created = await circle_server.create_session("Tuesday evening group")
    lead = await open_page(browser, created["facilitator_url"])
    await lead.set_viewport_size({"width": 1366, "height": 860})
    await join(lead, "Dana")
    await joined(lead, 1, "the facilitator")
    bots: list[Bot] = await start_bots(
        created["invite_url"], small_media, ["Ana", "Bo", "Cy", "Dee"]
    )
    phone = await phone_page(browser, created["invite_url"])
    try:
        await join(phone, "Sam")
        await joined(phone, 6, "the phone with the group")
        await joined(lead, 6, "the facilitator with the group")

        # One toolbar row; "I need help" apart from Leave; More holds the rest.
        buttons = await phone.evaluate(TOOLBAR_JS)
        # one row: every button overlaps every other vertically
        assert max(b["top"] for b in buttons) < min(b["bottom"] for b in buttons), buttons
        assert max(b["right"] for b in buttons) <= 390, buttons
        ids = [b["id"] for b in sorted(buttons, key=lambda b: b["right"])]
        assert ids[-1] == "leave-button" and ids[-2] != "help-button", ids
        header = await phone.locator("header.topbar").bounding_box()
        assert header is not None and header["height"] < 60
        await assert_tiles_inside(phone, "phone")
        await phone.get_by_role("button", name="More").click()
        await phone.get_by_role("button", name="People").wait_for()
        if SCREENSHOTS:
            await phone.get_by_role("button", name="More").click()
            await phone.wait_for_timeout(1500)
            await phone.screenshot(path=str(Path(SCREENSHOTS) / "phone.png"))
        else:
            await phone.get_by_role("button", name="More").click()

        # Desktop, with a spotlight: the spotlit tile and every name stay in reach.
        sam_row = lead.locator(".tile", has_text="Sam")
        sam_id = await sam_row.get_attribute("data-participant-id")
        await lead.get_by_role("button", name="People").click()
        row = lead.locator("#people-list li.person", has_text="Sam")
        await row.get_by_label("Actions for Sam").click()
        await row.get_by_role("button", name="Spotlight for everyone").click()
        await wait_for(lead, f"window.circle.spotlight === '{sam_id}'", "the spotlight")
        await lead.wait_for_timeout(500)
        await assert_tiles_inside(lead, "desktop with a spotlight")
        await assert_tiles_inside(phone, "phone with a spotlight")
        if SCREENSHOTS:
            await lead.locator("#panel-close").click()
            await lead.wait_for_timeout(1500)
            await lead.evaluate("document.getElementById('notices').replaceChildren()")
            await lead.screenshot(path=str(Path(SCREENSHOTS) / "desktop.png"))

        # Leave is confirmed: "Stay" keeps you in, "Leave" leaves.
        await phone.get_by_role("button", name="Leave").click()
        dialog = phone.locator("#confirm-dialog")
        await dialog.get_by_role("button", name="Stay").click()
        assert await phone.evaluate("window.circle.state") == "joined"
        await phone.get_by_role("button", name="Leave").click()
        await dialog.get_by_role("button", name="Leave").click()
        await phone.get_by_text("You left the session").wait_for(timeout=WAIT_S * 1000)
    finally:
        for bot in bots:
            await bot.close()
    for page in (lead, phone):
        assert page.circle_exceptions == []  # type: ignore[attr-defined]
        await page.context.close()
