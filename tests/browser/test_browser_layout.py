"""Nothing on the facilitator's page lies on anything else, at any size, with the People panel
open, a spotlight and notices showing: each visible control (a tile's Mute and Crisis, the
bars, the panel's rows, the toolbar) keeps its own place, notices cover no control, and no
tile slips under the toolbar. Measured from the page's own layout in real Chromium."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from server.bot.client import Bot
from server.bot.media import EncodedMedia
from tests.browser.helpers import join, joined, open_page, wait_for
from tests.browser.test_browser_controls import person_action
from tests.conftest import RunningServer

# Every visible control and notice, and the tiles and toolbar: their boxes in the viewport.
BOXES_JS = """
() => {
  // the part of an element in sight: clipped by every scrolling or clipping box around it
  const seen = (el) => {
    if (el.closest('[hidden]')) return null;
    const menu = el.closest('details');  // a closed menu's items are not shown
    if (menu && !menu.open && el.tagName !== 'SUMMARY') return null;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || s.display === 'none') return null;
    let {left, top, right, bottom} = el.getBoundingClientRect();
    for (let a = el.parentElement; a; a = a.parentElement) {
      if (getComputedStyle(a).overflow === 'visible') continue;
      const c = a.getBoundingClientRect();
      [left, top] = [Math.max(left, c.left), Math.max(top, c.top)];
      [right, bottom] = [Math.min(right, c.right), Math.min(bottom, c.bottom)];
    }
    if (right - left < 1 || bottom - top < 1) return null;
    return {x: left, y: top, w: right - left, h: bottom - top};
  };
  const whole = (el) => {
    const r = el.getBoundingClientRect();
    const v = seen(el);
    return Boolean(v) && v.w >= r.width - 1 && v.h >= r.height - 1;
  };
  const name = (el) => (el.getAttribute('aria-label') || el.textContent || '').trim().slice(0, 40);
  const boxes = (selector) => [...document.querySelectorAll(selector)]
    .map((el) => ({name: name(el), box: seen(el), notice: Boolean(el.closest('.notice'))}))
    .filter((b) => b.box);
  return {
    controls: boxes('#insession button, #insession summary, #insession select, #insession input'),
    notices: boxes('.notice'),
    tiles: boxes('#grid .tile:not([hidden])'),
    // tiles of the current page not wholly in sight (the grid is meant to fit without scrolling)
    cut: document.getElementById('grid').checkVisibility()
      ? [...document.querySelectorAll('#grid .tile:not([hidden])')].filter((t) => !whole(t))
          .map(name)
      : [],
    toolbar: seen(document.querySelector('nav.controls')),
  };
}
"""


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    """More than a pixel of area in common (borders may touch)."""
    w = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
    h = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
    return w > 1 and h > 1


def problems(found: dict[str, Any]) -> list[str]:
    out = []
    controls = [c for c in found["controls"] if not c["notice"]]
    for i, a in enumerate(controls):
        for b in controls[i + 1 :]:
            if overlap(a["box"], b["box"]):
                out.append(f"{a['name']!r} lies on {b['name']!r}")
    for n in found["notices"]:
        for c in controls:
            if overlap(n["box"], c["box"]):
                out.append(f"a notice {n['name']!r} covers {c['name']!r}")
    for t in found["tiles"]:
        if found["toolbar"] and overlap(t["box"], found["toolbar"]):
            out.append(f"a tile {t['name']!r} lies under the toolbar")
    out += [f"a tile {name!r} is not wholly in sight" for name in found["cut"]]
    return out


async def toggle_people(page: Page, phone: bool) -> None:
    if phone:
        await page.get_by_role("button", name="Close panel").click()
    else:
        await page.get_by_role("button", name="People").first.click()


@pytest.mark.usefixtures("loopback_ice")
async def test_no_control_lies_on_another_at_any_size(
    circle_server: RunningServer, browser: Browser, small_media: EncodedMedia
) -> None:
    created = await circle_server.create_session("Layout", waiting_room=True)
    page = await open_page(browser, created["facilitator_url"])
    await join(page, "Dana")
    await joined(page, 1, "the facilitator")
    names = ["Samantha Rodriguez-Whitfield", "Alex", "Bea", "Cy", "Di", "Ed"]
    bots = [Bot(created["invite_url"], n, small_media, subscribe=False) for n in names]
    # three more knock and wait: their notices (with Admit) stay, as after several knocks
    knocking = [Bot(created["invite_url"], n, small_media, subscribe=False) for n in "FGH"]
    starts = [asyncio.create_task(b.start()) for b in bots]
    try:
        await wait_for(page, "window.circle.waiting.length === 6", "six knocks")
        await page.get_by_role("button", name="People").first.click()
        await page.get_by_role("button", name="Admit all").click()
        await joined(page, 7, "the facilitator with six others")
        starts += [asyncio.create_task(b.start()) for b in knocking]
        await wait_for(page, "window.circle.waiting.length === 3", "three more knocks")
        await person_action(page, "Alex", "Spotlight for everyone")
        await wait_for(page, "window.circle.spotlight !== null", "the spotlight")
        await page.get_by_label("Actions for Alex").click()  # the menu closes
        for size in ((1366, 900), (1280, 800), (1024, 700), (800, 600), (390, 844)):
            await page.set_viewport_size({"width": size[0], "height": size[1]})
            # the panel beside the grid; on a phone it is a sheet over it: the grid alone
            phone = size[0] < 600
            if phone == await page.locator("#panel").is_visible():
                await toggle_people(page, phone)
            await page.wait_for_timeout(400)  # the grid refits
            found = await page.evaluate(BOXES_JS)
            assert len(found["notices"]) >= 3, found["notices"]
            if size[0] < 1024:  # a small window may scroll its grid (a phone pages it)
                found["cut"] = []
            assert problems(found) == [], (size, problems(found))
        assert page.circle_exceptions == []  # type: ignore[attr-defined]
    finally:
        for task in starts:
            task.cancel()
        for bot in bots + knocking:
            await bot.close()
        await page.context.close()
