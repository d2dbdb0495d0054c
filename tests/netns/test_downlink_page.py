"""A Chromium participant whose downlink is 1 Mbit/s with a 200 ms drop-tail queue (a home
router's; tests/netns/impaired_link.py), in a room of three bots each publishing 640x480 VP8 at
~450 kbit/s plus Opus: about 1.4 Mbit/s of video for a link of 1 Mbit/s. The server estimates
the page's downlink from its transport-cc feedback and sends the video that fits after
everyone's audio: tiles are paused, and say why on the page; the bottleneck stops overflowing
and the page's audio stays clean. Behaviour is asserted, with margins for a loaded machine,
not timing. (Whether a tile also keeps playing at 1 Mbit/s is not asserted: without pacing, a
resumed tile's keyframe leaves as one burst that overflows the 200 ms queue; see
docs/quality.md.)"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from server.bot.client import Bot
from server.bot.clip import generate_clip
from server.bot.media import EncodedMedia
from tests.conftest import RunningServer, until
from tests.netns.conftest import run_inside, stop_child
from tests.netns.far_bot import read
from tests.netns.impaired_link import ImpairedLink, Impairment

PUBLISHERS = 3
ADAPT_WITHIN_S = 45.0
SETTLE_S = 10.0  # the first keyframes and the first cuts, as the targets allow
WINDOW_S = 15.0


def concealed_share(before: dict[str, Any], after: dict[str, Any]) -> float:
    """Audio the page concealed (not counting silence) over what it played, between views."""
    played: dict[str, float] = {
        key: float(after["audio"][key] - before["audio"][key])
        for key in ("samples", "concealed", "silent")
    }
    return (played["concealed"] - played["silent"]) / max(played["samples"], 1.0)


async def test_a_page_on_a_1_mbit_link_gets_the_video_that_fits_and_clean_audio(
    link: ImpairedLink, server_on_link: RunningServer, tmp_path: Path
) -> None:
    clip = generate_clip(tmp_path / "vga.webm", seconds=6, video_bitrate=450_000)
    media = EncodedMedia.load(clip, clip)
    link.downstream = Impairment(rate_kbps=1000, queue_ms=200)
    session = await server_on_link.create_session("Home link")
    bots = [
        Bot(
            session["facilitator_url" if i == 0 else "invite_url"],
            f"Bot {i}",
            media,
            subscribe=False,
        )
        for i in range(PUBLISHERS)
    ]
    for bot in bots:
        await bot.start()
    page = tmp_path / "page.json"
    child = await run_inside(
        link, ["-m", "tests.netns.far_page", session["invite_url"], "Sam", str(page), "240"]
    )
    try:
        live = server_on_link.live.sessions[session["session_id"]]
        await until(lambda: read(page).get("state") == "joined", 60, "the page joins")
        sam = read(page)["participant_id"]

        # Adapted: the estimate leaves some tiles without video, and the page says why.
        def adapted() -> bool:
            allocation = live.router.video.allocation(sam)
            return (
                allocation is not None
                and bool(allocation.paused)
                and read(page).get("held_notes", 0) >= 1
            )

        await until(adapted, ADAPT_WITHIN_S, f"the page's video adapts ({read(page)})")
        allocation = live.router.video.allocation(sam)
        assert allocation is not None
        assert allocation.budget_bps < 1_300_000, allocation.trace  # near the link, not above

        # Then, over a window: audio clean, the bottleneck no longer overflowing.
        settled = time.monotonic()
        await until(lambda: time.monotonic() - settled >= SETTLE_S, SETTLE_S + 5, "settling")
        first, dropped, sent = read(page), link.packets["down_queue_dropped"], link.packets["down"]
        started = time.monotonic()
        await until(lambda: time.monotonic() - started >= WINDOW_S, WINDOW_S + 5, "the window")
        last = read(page)
        share = concealed_share(first, last)
        assert share < 0.05, (share, first["audio"], last["audio"])
        queue_drops = (link.packets["down_queue_dropped"] - dropped) / max(
            link.packets["down"] - sent, 1
        )
        # Sending everything, the bottleneck dropped about a third of it here (70-94 % in the
        # issue's measurements); adapted, it drops less. What is left is a resumed tile's
        # keyframe now and then, which leaves in one burst (no pacing yet): 0-14 % in runs
        # here, so the 2 % target is a benchmark figure still to reach, not asserted.
        assert queue_drops < 0.25, (queue_drops, link.packets)
        assert last["held_notes"] >= 1
    finally:
        await stop_child(child)
        for bot in bots:
            await bot.close()
