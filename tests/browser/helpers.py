"""What the browser tests share besides the `browser` fixture (tests/browser/conftest.py): open a
page that collects its errors, join, wait for a page condition, read a page's inbound media."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, Page

from bench.harness import page_value

WAIT_S = 20.0


async def open_page(browser: Browser, url: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
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
