"""bench/first_frame.py's `--chromium` joiner: a headless Chromium page joins instead of a bot,
and a publisher counts as seen when the page has decoded a frame of theirs.

The page is polled (its getStats, every PAGE_POLL_S), so each time is late by up to one poll
plus the DevTools round trip; the clock starts just before the Join button's click, after the
prejoin screen's camera preview runs (getUserMedia is not part of the join). Unlike the bot,
the page also publishes its fake camera and microphone, as a person joining does.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.harness import page_value

if TYPE_CHECKING:
    from playwright.async_api import Browser

PAGE_POLL_S = 0.02
MARKS = {"answered": "signalled", "connected": "connected"}  # the page's flag -> the measure
PREJOIN_LIMIT_S = 30.0

# Which publishers the page has audio packets and decoded video frames from, by the slots the
# server assigned; and whether its subscribing connection answered and connected.
PAGE_MEDIA_JS = """
async () => {
  const c = window.circle;
  const out = {answered: false, connected: false, audio: [], video: []};
  const pc = c.pcSubscribe;
  if (!pc) return out;
  out.answered = pc.localDescription !== null;
  out.connected = pc.connectionState === 'connected';
  const inbound = {};
  (await pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp') inbound[r.mid] = r;
  });
  for (const slot of c.slots || []) {
    const r = inbound[slot.mid];
    if (!r || !slot.participant_id) continue;
    if (slot.kind === 'video' && (r.framesDecoded || 0) > 0) out.video.push(slot.participant_id);
    if (slot.kind === 'audio' && (r.packetsReceived || 0) > 0) out.audio.push(slot.participant_id);
  }
  return out;
}
"""


@dataclass
class PageJoin:
    """What one page's join saw: `t0` (monotonic s, just before the click), `marks` (ms after
    it: "signalled", "connected") and the monotonic times of each publisher's first audio
    packet and first decoded frame."""

    t0: float = 0.0
    marks: dict[str, float] = field(default_factory=dict)
    audio: dict[str, float] = field(default_factory=dict)
    video: dict[str, float] = field(default_factory=dict)


async def page_join(
    browser: Browser, invite: str, index: int, ids: list[str], limit_s: float
) -> PageJoin:
    """One join by a fresh page (its own context) until it has audio and a decoded frame from
    each of `ids` or `limit_s` passed; the context is closed after (the page leaves)."""
    context = await browser.new_context()
    join = PageJoin()
    try:
        page = await context.new_page()
        await page.goto(invite)
        await page_value(
            page,
            "document.getElementById('preview')"
            " && document.getElementById('preview').videoWidth > 0",
            PREJOIN_LIMIT_S,
        )
        await page.get_by_label("Your name").fill(f"Joiner {index}")
        join.t0 = t0 = time.monotonic()
        await page.get_by_role("button", name="Join").click()
        while time.monotonic() - t0 < limit_s:
            seen: dict[str, Any] = await page.evaluate(PAGE_MEDIA_JS)
            now = time.monotonic()
            for mark in ("answered", "connected"):
                if seen[mark]:
                    join.marks.setdefault(MARKS[mark], 1000 * (now - t0))
            for pid in seen["audio"]:
                join.audio.setdefault(pid, now)
            for pid in seen["video"]:
                join.video.setdefault(pid, now)
            if all(i in join.audio and i in join.video for i in ids):
                break
            await asyncio.sleep(PAGE_POLL_S)
    finally:
        await context.close()
    return join
