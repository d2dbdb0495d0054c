"""Simulcast from a real headless Chromium: its camera (640x480) goes up as two layers, "h"
(half) and "f" (full; Chromium may send it smaller for a while when its CPU or bandwidth is
short, so sizes are compared with what Chromium reports sending); the server reads both sizes
from their keyframes, forwards a second Chromium page the layer its tile of that camera needs
(a large tile "f", a small one "h", switching at keyframes while the video keeps playing), and
has the publisher stop encoding the layer nobody gets. A bot publishing one layer plays beside
it, unchanged. Chromium must be installed at /usr/bin/chromium; without it these tests fail."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from rooms.model import MAIN_ROOM
from server.bot.client import Bot
from server.bot.media import EncodedMedia
from server.live.session import LiveSession
from server.media.producer import Producer
from tests.browser.helpers import join, joined, open_page
from tests.conftest import RunningServer

# Our camera's layers as the page encodes them: whether each is on, frames sent so far and
# the size of the last one.
LAYERS_SENT_JS = """
async () => {
  const sender = window.circle.pcPublish.getSenders().find((s) => s.track?.kind === 'video');
  const out = {};
  for (const e of sender.getParameters().encodings) out[e.rid] = { active: e.active, frames: 0 };
  (await sender.getStats()).forEach((r) => {
    if (r.type === 'outbound-rtp' && out[r.rid]) {
      Object.assign(out[r.rid], {
        frames: r.framesSent || 0,
        size: [r.frameWidth || 0, r.frameHeight || 0],
      });
    }
  });
  return out;
}
"""

# The video a page decodes from `pid`'s slot: frames so far and their size.
RECEIVED_JS = """
async (pid) => {
  const c = window.circle;
  const slot = c.slots.find((s) => s.kind === 'video' && s.participant_id === pid);
  if (!slot || !c.pcSubscribe) return null;
  let found = null;
  (await c.pcSubscribe.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video' && r.mid === slot.mid) {
      found = { frames: r.framesDecoded || 0, width: r.frameWidth || 0 };
    }
  });
  return found;
}
"""

WAIT_S = 30.0


async def layers_sent(page: Page) -> dict[str, Any]:
    sent: dict[str, Any] = await page.evaluate(LAYERS_SENT_JS)
    return sent


async def received(page: Page, pid: str) -> dict[str, Any]:
    got: dict[str, Any] | None = await page.evaluate(RECEIVED_JS, pid)
    return got or {"frames": 0, "width": 0}


def forwarded(live: LiveSession, watcher: str, publisher: str) -> Producer | None:
    """The producer (the publisher's layer) feeding the watcher's slot of that publisher."""
    for consumer in live.router.participants[watcher].slots["video"]:
        producer = live.router.graph.producer_of(consumer)
        if producer is not None and producer.participant_id == publisher:
            return producer
    return None


async def plays_layer(
    page: Page, live: LiveSession, watcher: str, publisher: str, rid: str, what: str
) -> None:
    """The server forwards layer `rid` of `publisher` to `watcher`, whose page decodes it at
    the size the server read from that layer's keyframes, and more frames a moment later."""
    deadline = time.monotonic() + WAIT_S
    got = await received(page, publisher)
    while time.monotonic() < deadline:
        producer = forwarded(live, watcher, publisher)
        got = await received(page, publisher)
        if producer is not None and producer.rid == rid and producer.size is not None:
            if got["width"] == producer.size[0]:
                break
        await asyncio.sleep(0.2)
    producer = forwarded(live, watcher, publisher)
    assert producer is not None and producer.rid == rid, (what, producer and producer.rid)
    assert producer.size is not None and got["width"] == producer.size[0], (what, got)
    await grows(page, publisher, what)


async def grows(page: Page, pid: str, what: str) -> None:
    before = (await received(page, pid))["frames"]
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if (await received(page, pid))["frames"] > before + 5:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what}: {pid}'s video does not play: {await received(page, pid)}")


async def only_encodes(page: Page, rid: str, what: str) -> None:
    """The page's camera settles on encoding layer `rid` only: the other layer is off and sends
    no frames for 1.5 s while `rid` keeps sending. (Chromium's own estimate, fed by transport-cc,
    may pause a layer for a moment on a loaded machine: the steady state is what counts.)"""

    def only(sent: dict[str, Any]) -> bool:
        return all(layer["active"] == (r == rid) for r, layer in sent.items())

    deadline = time.monotonic() + WAIT_S
    first = second = await layers_sent(page)
    while time.monotonic() < deadline:
        first = await layers_sent(page)
        if not only(first):
            await asyncio.sleep(0.2)
            continue
        await asyncio.sleep(1.5)
        second = await layers_sent(page)
        grew = {r: second[r]["frames"] > first[r]["frames"] for r in first}
        if only(second) and all(g == (r == rid) for r, g in grew.items()):
            return
    raise AssertionError((what, first, second))


@pytest.mark.usefixtures("loopback_ice")
async def test_each_subscriber_gets_the_layer_its_tile_needs(
    circle_server: RunningServer, browser: Browser, small_media: EncodedMedia
) -> None:
    created = await circle_server.create_session("Simulcast")
    publisher = await open_page(browser, created["facilitator_url"])
    await join(publisher, "Ana")
    ana = await joined(publisher, 1, "the publisher alone")
    # Chromium's fake microphone beeps, which would make Ana the active speaker, whose tile
    # gets the top layer whatever its size: she mutes so only tile sizes choose her layer.
    await publisher.get_by_role("button", name="Mute microphone").click()
    watcher = await open_page(browser, created["invite_url"])
    await watcher.set_viewport_size({"width": 1280, "height": 800})
    await join(watcher, "Ben")
    ben = await joined(watcher, 2, "the watcher with the publisher")
    bot = Bot(created["invite_url"], "Bot", small_media, subscribe=False)
    try:
        await bot.start()
        await bot.wait_connected()
        await joined(watcher, 3, "the watcher with the publisher and the bot")
        live: LiveSession = circle_server.live.sessions[created["session_id"]]

        # The server reads both layers' sizes from their keyframes.
        def layers() -> set[tuple[str, int, int]]:
            camera = live.router.participants[ana].camera
            assert camera is not None and camera.simulcast
            available = camera.available(time.monotonic())
            return {(layer.rid, layer.width, layer.height) for layer in available}

        # ... the sizes Chromium reports sending (the full one larger than the half; a layer
        # already paused reports none)
        async def sized() -> bool:
            sent = await layers_sent(publisher)
            found = {rid: (width, height) for rid, width, height in layers()}
            return (
                set(found) == {"h", "f"}
                and all(
                    found[rid] == tuple(sent[rid]["size"]) for rid in found if sent[rid]["size"][0]
                )
                and found["f"][0] > found["h"][0]
            )

        for _ in range(int(WAIT_S / 0.2)):
            if await sized():
                break
            await asyncio.sleep(0.2)
        assert await sized(), (layers(), await layers_sent(publisher))

        # A large tile gets "f"; "h", which nobody gets, is off at the publisher.
        await plays_layer(watcher, live, ben, ana, "f", "a large tile")
        tile = next(
            t for t in await watcher.evaluate("window.circle.view") if t["participant_id"] == ana
        )
        assert tile["width"] > 320, tile
        await only_encodes(publisher, "f", "a large tile only")
        assert bot.participant_id is not None
        await grows(watcher, bot.participant_id, "the bot beside a simulcast camera")

        # A small tile (a phone's grid) gets "h", switched at its keyframe, still playing.
        for _ in range(int(WAIT_S / 0.2)):
            if live.router.video.speaker(MAIN_ROOM) != ana:
                break
            await asyncio.sleep(0.2)
        assert live.router.video.speaker(MAIN_ROOM) != ana, "Ana, muted, still speaks"
        await watcher.set_viewport_size({"width": 390, "height": 844})
        await plays_layer(watcher, live, ben, ana, "h", "a small tile")
        await only_encodes(publisher, "h", "a small tile only")

        # Large again: back to "f".
        await watcher.set_viewport_size({"width": 1280, "height": 800})
        await plays_layer(watcher, live, ben, ana, "f", "a large tile again")
        await only_encodes(publisher, "f", "a large tile again")
        await grows(watcher, bot.participant_id, "the bot after the switches")
    finally:
        await bot.close()
    for page in (publisher, watcher):
        assert page.circle_exceptions == []  # type: ignore[attr-defined]
        await page.context.close()
