"""A real Chromium subscriber takes transport-cc in the subscribe offer: every packet the
server sends it carries the transport-wide sequence number, its feedback (RTCP PT 205 FMT 15,
captured here as Chromium sent it) reads back to exactly the numbers the server sent, and the
estimate it feeds is what the page's video is allocated within. Chromium must be installed at
/usr/bin/chromium; without it this test fails."""

from __future__ import annotations

import asyncio
from itertools import pairwise

import pytest
from playwright.async_api import Browser

from server.bot.client import Bot
from server.bot.media import EncodedMedia
from server.live.session import LiveSession
from server.media import downlink_feedback
from server.media.transport_feedback import Feedback
from tests.browser.helpers import WAIT_S, join, joined, open_page, wait_for
from tests.conftest import RunningServer


async def test_chromium_feedback_reads_back_what_was_sent_and_feeds_the_allocation(
    circle_server: RunningServer,
    browser: Browser,
    small_media: EncodedMedia,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    captured: list[bytes] = []
    parse = downlink_feedback.feedback_in

    def recording(data: bytes) -> list[Feedback]:
        captured.append(data)
        return parse(data)

    monkeypatch.setattr(downlink_feedback, "feedback_in", recording)
    created = await circle_server.create_session("Downlink")
    page = await open_page(browser, created["facilitator_url"])
    await join(page, "Ana")
    ana = await joined(page, 1, "Ana alone")
    bot = Bot(created["invite_url"], "Bot", small_media, subscribe=False)
    try:
        await bot.start()
        await bot.wait_connected()
        await joined(page, 2, "Ana with the bot")
        live: LiveSession = circle_server.live.sessions[created["session_id"]]
        media = live.router.participants[ana]
        reader = media.feedback
        assert reader is not None and media.transport_cc_id is not None
        for _ in range(int(WAIT_S / 0.2)):
            if reader.reports >= 30:
                break
            await asyncio.sleep(0.2)
        assert reader.reports >= 30, "Chromium sent no transport-cc feedback"

        # Chromium's packets, as it sent them: every number it reports is one we sent, in
        # order and without a gap from one report to the next; on loopback nearly all arrived.
        reports = [feedback for data in captured for feedback in parse(data)]
        numbers = [
            (feedback.base_sequence + offset) & 0xFFFF
            for feedback in reports
            for offset in range(len(feedback.arrivals))
        ]
        gaps = [(b - a) & 0xFFFF for a, b in pairwise(numbers) if (b - a) & 0xFFFF != 1]
        assert len(gaps) <= 2, gaps  # a report may repeat one number, or a late one come back
        recent = numbers[-500:]
        assert all(reader.numbering.sent(seq) is not None for seq in recent)
        arrived = [t for feedback in reports for t in feedback.arrivals if t is not None]
        assert len(arrived) >= 0.95 * len(numbers)
        assert reader.estimator.estimate_bps >= 300_000

        # The estimate is what the page's video is allocated within: the bot's tile fits.
        assert bot.participant_id is not None
        allocation = live.router.video.allocation(ana)
        assert allocation is not None and bot.participant_id in allocation.layers
        await wait_for(
            page,
            f"document.querySelector('.tile[data-participant-id=\"{bot.participant_id}\"] video')"
            "?.videoWidth > 0",
            "the bot's video to play in Ana's page",
        )
    finally:
        await bot.close()
