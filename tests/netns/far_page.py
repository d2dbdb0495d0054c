"""A Chromium participant for a network-namespace test, run as a child process inside the
namespace (`python -m tests.netns.far_page URL NAME STATS_PATH SECONDS [CHROMIUM_ARG...]`), so
that the browser's traffic (page, socket, WebRTC) crosses the test's link while Playwright drives
it over a pipe that no cut can touch. It joins as NAME, then every 0.2 s writes the page's own
view to STATS_PATH as JSON (state, participant id, room, its peer connections' states, the
packets its subscribe connection received of each kind, the audio it played and concealed, each
video's frames decoded, the tiles saying their video is paused to keep sound clear, and the kind
and relay protocol of the local candidate each connection uses), replacing the file
atomically. It closes the browser after SECONDS, or on SIGTERM."""

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
  const received = { audio: 0, video: 0 };
  const audio = { samples: 0, concealed: 0, silent: 0 };
  const frames = {};
  const candidates = {};
  for (const [name, pc] of [["publish", c.pcPublish], ["subscribe", c.pcSubscribe]]) {
    if (!pc) continue;
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (name === "subscribe" && s.type === "inbound-rtp") {
        received[s.kind] += s.packetsReceived;
        if (s.kind === "audio") {
          audio.samples += s.totalSamplesReceived || 0;
          audio.concealed += s.concealedSamples || 0;
          audio.silent += s.silentConcealedSamples || 0;
        } else {
          frames[s.mid] = s.framesDecoded || 0;
        }
      }
      if (s.type === "transport" && s.selectedCandidatePairId) {
        const local = stats.get(stats.get(s.selectedCandidatePairId).localCandidateId);
        candidates[name] = [local.candidateType, local.relayProtocol || null];
      }
    });
  }
  return {
    state: c.state,
    participant_id: c.participantId,
    room: c.room,
    publish: c.pcPublish ? c.pcPublish.connectionState : null,
    subscribe: c.pcSubscribe ? c.pcSubscribe.connectionState : null,
    received,
    candidates,
    audio,
    frames,
    held_notes: [...document.querySelectorAll(".video-note")].filter(
      (n) => !n.hidden && n.textContent.includes("keep sound"),
    ).length,
  };
}"""


async def main(
    url: str, name: str, stats_path: Path, seconds: float, chromium_args: list[str]
) -> None:
    async with async_playwright() as pw:
        # The server is not on loopback here: its origin must count as secure for the page to
        # have a camera and microphone (and with them, its real ICE addresses, not mDNS names).
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                *CHROMIUM_ARGS,
                f"--unsafely-treat-insecure-origin-as-secure={origin}",
                *chromium_args,
            ],
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
    asyncio.run(main(page_url, person, Path(path), float(duration), sys.argv[5:]))
