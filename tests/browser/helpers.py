"""What the browser tests share besides the `browser` fixture (tests/browser/conftest.py): open a
page that collects its errors, join, wait for a page condition, read a page's inbound media."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Browser, Page

from bench.harness import page_value
from server.accounts import COOKIE_NAME

WAIT_S = 20.0


DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


async def open_page(
    browser: Browser, url: str, viewport: dict[str, int] = DESKTOP, cookie: str | None = None
) -> Page:
    """`cookie`: a signed-in facilitator's (their own link leads only for them)."""
    context = await browser.new_context(viewport=viewport)
    if cookie:
        host = urlsplit(url).hostname or ""
        await context.add_cookies(
            [{"name": COOKIE_NAME, "value": cookie, "domain": host, "path": "/"}]
        )
    page = await context.new_page()
    errors: list[str] = []
    exceptions: list[str] = []
    page.on("pageerror", lambda exc: exceptions.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.circle_errors = errors  # type: ignore[attr-defined]
    page.circle_exceptions = exceptions  # type: ignore[attr-defined]
    await page.goto(url)
    return page


async def join(page: Page, name: str) -> None:
    await page.get_by_label("Your name").fill(name)
    await page.get_by_role("button", name="Join").click()


async def wait_for(page: Page, expression: str, what: str, timeout_s: float = WAIT_S) -> Any:
    """Poll `expression` until it is truthy (bench.harness.page_value)."""
    try:
        return await page_value(page, expression, timeout_s)
    except TimeoutError:
        errors = getattr(page, "circle_exceptions", []) + getattr(page, "circle_errors", [])
        raise AssertionError(f"timed out waiting for {what}; page errors: {errors}") from None


async def joined(page: Page, tiles: int, who: str) -> str:
    await wait_for(
        page,
        "window.circle.state === 'joined' && window.circle.pcSubscribe !== null"
        f" && document.querySelectorAll('.tile[data-participant-id]').length === {tiles}",
        f"{who} to be in the session with {tiles} tiles",
    )
    pid: str = await page.evaluate("window.circle.participantId")
    return pid


async def all_joined(
    browser: Browser, created: dict[str, Any], people: list[tuple[str, str, dict[str, int]]]
) -> list[tuple[Page, str]]:
    """Each (link, name, viewport) of `created` (a session as the API made it) opens its page,
    and they join one after another, each seeing everyone so far; (page, participant id)."""
    pages = [await open_page(browser, created[link], viewport) for link, _, viewport in people]
    out = []
    for count, (page, (_, name, _)) in enumerate(zip(pages, people, strict=True), start=1):
        await join(page, name)
        out.append((page, await joined(page, count, name)))
    return out


INBOUND_JS = """
async () => {
  const c = window.circle;
  const out = {id: c.participantId, slots: c.slots, inbound: {}, tiles: []};
  if (c.pcSubscribe) {
    const stats = await c.pcSubscribe.getStats();
    stats.forEach((r) => {
      if (r.type === 'inbound-rtp') {
        out.inbound[r.mid] = {
          kind: r.kind,
          framesDecoded: r.framesDecoded || 0,
          packetsReceived: r.packetsReceived || 0,
        };
      }
    });
  }
  for (const tile of document.querySelectorAll('.tile[data-participant-id]')) {
    const v = tile.querySelector('video');
    out.tiles.push({
      id: tile.dataset.participantId,
      name: tile.querySelector('.tile-name').textContent,
      muted: v.muted,
      paused: v.paused,
      tracks: v.srcObject ? v.srcObject.getTracks().map((t) => t.kind).sort() : [],
    });
  }
  return out;
}
"""


# One person as `page` receives them: their tile shown, the receiver tracks of their slots, the
# inbound counters of those slots, and whether an unmuted, playing element holds their audio.
PERSON_MEDIA_JS = """
async (pid) => {
  const c = window.circle;
  const pc = c.pcSubscribe;
  const tile = document.querySelector(`.tile[data-participant-id="${CSS.escape(pid)}"]`);
  const out = {tile: Boolean(tile && !tile.hidden && tile.getClientRects().length),
               frames: null, packets: null, tileVideo: false, heard: false};
  if (!pc) return out;
  const slot = (kind) => c.slots.find((s) => s.participant_id === pid && s.kind === kind);
  const track = (s) => {
    const t = s && pc.getTransceivers().find((tr) => tr.mid === String(s.mid));
    return t ? t.receiver.track : null;
  };
  const [audioSlot, videoSlot] = [slot('audio'), slot('video')];
  const [audio, video] = [track(audioSlot), track(videoSlot)];
  const stream = tile ? tile.querySelector('video').srcObject : null;
  out.tileVideo = Boolean(video && stream && stream.getVideoTracks().includes(video));
  out.heard = Boolean(audio) && [...document.querySelectorAll('audio, video')].some(
    (el) => !el.paused && !el.muted && el.volume > 0 && el.srcObject &&
      el.srcObject.getAudioTracks().includes(audio));
  const stats = await pc.getStats();
  stats.forEach((r) => {
    if (r.type !== 'inbound-rtp') return;
    if (videoSlot && r.mid === String(videoSlot.mid)) out.frames = r.framesDecoded || 0;
    if (audioSlot && r.mid === String(audioSlot.mid)) out.packets = r.packetsReceived || 0;
  });
  return out;
}
"""


async def sees_and_hears(page: Page, pid: str, who: str, timeout_s: float = WAIT_S) -> None:
    """`page` shows `pid`'s tile with their video decoding (frames increasing), and an element
    plays their audio track while its packets keep arriving."""
    deadline = time.monotonic() + timeout_s
    first: dict[str, Any] | None = None
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        last = await page.evaluate(PERSON_MEDIA_JS, pid)
        ready = last["tile"] and last["tileVideo"] and last["heard"]
        if not ready or last["frames"] is None or last["packets"] is None:
            first = None
        elif first is None:
            first = last
        elif last["frames"] > first["frames"] and last["packets"] > first["packets"]:
            return
        await asyncio.sleep(0.5)
    errors = getattr(page, "circle_exceptions", []) + getattr(page, "circle_errors", [])
    raise AssertionError(f"{who}: not seen and heard ({last}); page errors: {errors}")


async def drop_socket(server: Any, session_id: str, pid: str) -> None:
    """Cut `pid`'s signalling connection at the transport, as a lost link does: the page's
    socket.io client sees a transport close and reconnects by itself (a socket.io-level
    disconnect from the server would tell it not to)."""
    live = server.live.sessions[session_id]
    sid = live.sids[pid]
    sio = server.live.fanout.sio
    eio_sid = sio.manager.eio_sid_from_sid(sid, "/")
    assert eio_sid is not None, f"{pid} has no connection"  # None would disconnect everyone
    await sio.eio.disconnect(eio_sid)
