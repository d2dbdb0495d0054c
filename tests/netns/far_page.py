"""A Chromium participant for a network-namespace test, run as a child process inside the
namespace (`python -m tests.netns.far_page URL NAME STATS_PATH SECONDS`), so that the browser's
traffic (page, socket, WebRTC) crosses the test's link while Playwright drives it over a pipe
that no cut can touch. It joins as NAME, then every 0.2 s writes the page's own view to
STATS_PATH as JSON (state, participant id, room, its peer connections' states, the audio it
received and concealed, each video's frames decoded, the tiles saying their video is paused to
keep sound clear), replacing the file atomically. It closes the browser after SECONDS, or on
SIGTERM."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import async_playwright

from bench.harness import CHROMIUM, CHROMIUM_ARGS
from tests.netns.far_bot import keep_writing

STATE_JS = """async () => {
  const c = window.circle;
  const view = {
    state: c.state,
    participant_id: c.participantId,
    room: c.room,
    publish: c.pcPublish ? c.pcPublish.connectionState : null,
    subscribe: c.pcSubscribe ? c.pcSubscribe.connectionState : null,
    audio: {samples: 0, concealed: 0, silent: 0},
    frames: {},
    held_notes: 0,
  };
  if (c.pcSubscribe) {
    (await c.pcSubscribe.getStats()).forEach((r) => {
      if (r.type !== 'inbound-rtp') return;
      if (r.kind === 'audio') {
        view.audio.samples += r.totalSamplesReceived || 0;
        view.audio.concealed += r.concealedSamples || 0;
        view.audio.silent += r.silentConcealedSamples || 0;
      } else {
        view.frames[r.mid] = r.framesDecoded || 0;
      }
    });
  }
  const notes = [...document.querySelectorAll('.video-note')];
  view.held_notes = notes.filter((n) => !n.hidden && n.textContent.includes('keep sound')).length;
  return view;
}"""


async def main(url: str, name: str, stats_path: Path, seconds: float) -> None:
    async with async_playwright() as pw:
        # The server is not on loopback here: its origin must count as secure for the page to
        # have a camera and microphone (and with them, its real ICE addresses, not mDNS names).
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, f"--unsafely-treat-insecure-origin-as-secure={origin}"],
            headless=True,
        )
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(url)
            await page.get_by_label("Your name").fill(name)
            await page.get_by_role("button", name="Join").click()

            async def view() -> dict[str, Any]:
                return {**await page.evaluate(STATE_JS), "errors": errors}

            await keep_writing(stats_path, seconds, view)
        finally:
            await browser.close()


if __name__ == "__main__":
    page_url, person, path, duration = sys.argv[1:5]
    asyncio.run(main(page_url, person, Path(path), float(duration)))
