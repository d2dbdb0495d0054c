"""A 16-person group on one page in real headless Chromium, with publish-only bots for the other
fifteen: on a desktop the grid shows and plays all sixteen tiles and the page reports them all as
its view; on a phone it pages six tiles at a time, reports only the current page, gets only
that page's video (the rest is unwatched, the publishers told), and still plays everyone's
sound; and the page itself, watched by nobody (the bots only publish), sends no camera frames.
Chromium must be installed at /usr/bin/chromium; without it these tests fail."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from server.bot.client import Bot
from server.bot.media import EncodedMedia
from server.live.session import LiveSession
from tests.browser.helpers import join, joined, open_page
from tests.conftest import RunningServer, until

# What the page shows, measured here apart from the page's own code: the tiles of others on
# the current page and in sight, their size in device pixels, and each tile's media.
SHOWN_JS = """
async () => {
  const c = window.circle;
  const grid = document.getElementById('grid');
  const g = grid.getBoundingClientRect();
  const frames = {};
  if (c.pcSubscribe) {
    (await c.pcSubscribe.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') frames[r.mid] = r.framesDecoded || 0;
    });
  }
  const tiles = [];
  for (const tile of grid.querySelectorAll('.tile')) {
    const id = tile.dataset.participantId;
    const r = tile.getBoundingClientRect();
    const inSight = r.width > 0 && r.bottom > g.top && r.top < g.bottom;
    const slot = c.slots.find((s) => s.kind === 'video' && s.participant_id === id);
    const video = tile.querySelector('video');
    tiles.push({
      id,
      self: id === c.participantId,
      shown: !tile.hidden && inSight,
      size: [Math.round(r.width * devicePixelRatio), Math.round(r.height * devicePixelRatio)],
      frames: slot ? frames[slot.mid] || 0 : null,
      playing: !video.paused,
      // elements playing their sound (sound.js: one per audio slot, apart from the tiles)
      audio: [...document.querySelectorAll('#sounds audio')].filter((a) => {
        const s = c.slots.find((x) => x.kind === 'audio' && x.participant_id === id);
        const t = s && c.pcSubscribe.getTransceivers().find((x) => x.mid === String(s.mid));
        return t && !a.paused && !a.muted && a.srcObject?.getTracks().includes(t.receiver.track);
      }).length,
    });
  }
  return {
    tiles,
    view: c.view,
    status: document.getElementById('page-status').textContent,
    pager: !document.getElementById('pager').hidden,
  };
}
"""

# Our camera's encoding as set (`active`) and the frames sent so far.
CAMERA_SENT_JS = """
async () => {
  const sender = window.circle.pcPublish.getSenders().find((s) => s.track?.kind === 'video');
  let frames = 0;
  (await sender.getStats()).forEach((r) => {
    if (r.type === 'outbound-rtp') frames += r.framesSent || 0;
  });
  return { active: sender.getParameters().encodings[0].active, frames };
}
"""


async def shown(page: Page) -> dict[str, Any]:
    found: dict[str, Any] = await page.evaluate(SHOWN_JS)
    return found


def watched(bot: Bot) -> bool:
    """As the server last told the bot (joining while the page's view lagged, it may have been
    told false, then true)."""
    return bot.video_watched[-1] if bot.video_watched else True


def others_shown(state: dict[str, Any]) -> list[str]:
    return [t["id"] for t in state["tiles"] if t["shown"] and not t["self"]]


async def view_matches_what_is_shown(page: Page, live: LiveSession, pid: str, count: int) -> None:
    """The page's reported view is the tiles in sight (at their sizes), and the server keeps it."""

    async def matches() -> bool:
        state = await shown(page)
        ids = others_shown(state)
        reported = [t["participant_id"] for t in state["view"]]
        kept = live.router.video.view_of(pid)
        sizes = {t["id"]: t["size"] for t in state["tiles"]}
        return (
            len(ids) == count
            and reported == ids
            and kept is not None
            and [t.publisher for t in kept] == ids
            # at the sizes shown (a notice coming or going resizes the grid: wait for the report)
            and all(
                abs(t["width"] - sizes[t["participant_id"]][0]) <= 2
                and abs(t["height"] - sizes[t["participant_id"]][1]) <= 2
                for t in state["view"]
            )
        )

    for _ in range(200):
        if await matches():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the view is not what is shown: {await shown(page)}")


async def shown_tiles_play(page: Page, what: str) -> dict[str, Any]:
    """Every tile of others in sight decodes frames (more than a moment ago) and plays; everyone,
    shown or not, has an element playing their sound."""
    before = {t["id"]: t["frames"] for t in (await shown(page))["tiles"]}

    async def all_grew() -> dict[str, Any] | None:
        state = await shown(page)
        grown = all(
            t["frames"] is not None and t["frames"] > (before.get(t["id"]) or 0)
            for t in state["tiles"]
            if t["shown"] and not t["self"]
        )
        return state if grown else None

    for _ in range(150):
        state = await all_grew()
        if state is not None:
            others = [t for t in state["tiles"] if not t["self"]]
            assert all(t["audio"] == 1 for t in others), (what, state)
            assert all(t["playing"] for t in others if t["shown"]), (what, state)
            return state
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not every shown tile plays: {await shown(page)}")


@pytest.mark.usefixtures("loopback_ice")
async def test_desktop_grid_and_phone_pages_get_only_the_video_shown(
    circle_server: RunningServer, browser: Browser, small_media: EncodedMedia
) -> None:
    created = await circle_server.create_session("Large group")
    page = await open_page(browser, created["facilitator_url"])
    await page.set_viewport_size({"width": 1366, "height": 900})
    await join(page, "Dana")
    pid = await joined(page, 1, "the facilitator alone")
    bots = [
        Bot(created["invite_url"], f"Bot {i:02d}", small_media, subscribe=False) for i in range(15)
    ]
    try:
        for bot in bots:
            await bot.start()
        for bot in bots:
            await bot.wait_connected()
        await joined(page, 16, "the facilitator with fifteen others")
        live = circle_server.live.sessions[created["session_id"]]

        # Desktop: all sixteen tiles on one page, in sight without scrolling (fitGrid picks the
        # columns that make them largest), reported and playing; nobody unwatched.
        await view_matches_what_is_shown(page, live, pid, 15)
        state = await shown_tiles_play(page, "desktop")
        assert not state["pager"] and all(t["shown"] for t in state["tiles"]), state
        # every camera watched but ours: the bots watch nobody
        await until(lambda: live.router.video.unwatched == {pid}, 5, "the bots' cameras watched")
        assert await page.evaluate("window.circle.videoWatched") is False
        sent = [await page.evaluate(CAMERA_SENT_JS)]
        await asyncio.sleep(1.0)
        sent.append(await page.evaluate(CAMERA_SENT_JS))
        assert sent[0]["active"] is False and sent[1]["frames"] == sent[0]["frames"], sent

        # Phone: six tiles a page (ourselves and five others); the rest get no video to us and
        # their publishers are told nobody watches (the bots watch nobody).
        await page.set_viewport_size({"width": 390, "height": 844})
        await view_matches_what_is_shown(page, live, pid, 5)
        first = others_shown(await shown(page))
        await until(
            lambda: len(live.router.video.unwatched) == 11, 5, "ten bots' cameras unwatched"
        )
        assert live.router.video.unwatched.isdisjoint(first)
        await until(
            lambda: all(not watched(b) for b in bots if b.participant_id not in first),
            5,
            "the unwatched told",
        )
        assert all(watched(b) for b in bots if b.participant_id in first)
        state = await shown_tiles_play(page, "phone, page 1")
        assert state["status"] == "Page 1 of 3" and state["pager"], state
        slots = await page.evaluate("window.circle.slots")
        carried = {s["participant_id"] for s in slots if s["kind"] == "video"} - {None}
        assert carried == set(first), slots

        await page.get_by_role("button", name="Next page of participants").click()
        await view_matches_what_is_shown(page, live, pid, 6)
        second = others_shown(await shown(page))
        assert not set(second) & set(first)
        state = await shown_tiles_play(page, "phone, page 2")
        assert state["status"] == "Page 2 of 3", state
        slots = await page.evaluate("window.circle.slots")
        carried = {s["participant_id"] for s in slots if s["kind"] == "video"} - {None}
        assert carried == set(second), slots
        await until(
            lambda: all(watched(b) for b in bots if b.participant_id in second),
            5,
            "page 2's publishers told they are watched",
        )
        await page.get_by_role("button", name="Next page of participants").click()
        await view_matches_what_is_shown(page, live, pid, 4)
        assert await page.get_by_role("button", name="Next page of participants").is_disabled()
    finally:
        for bot in bots:
            await bot.close()
    assert page.circle_exceptions == []  # type: ignore[attr-defined]
    await page.context.close()
