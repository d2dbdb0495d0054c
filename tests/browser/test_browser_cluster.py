"""Chromium pages in a cluster of two `circle serve` processes on one real Redis: a page opened
on the node that does not run the session is sent to the one that does before its pre-join
screen, and when that node is killed (SIGKILL) the page goes on at the other node by itself
(its move ticket, never its rejoin key, in the URL), as the same person, with media."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from bench.harness import ServerProcess
from server.bot.client import Bot
from server.bot.media import EncodedMedia
from tests.browser.helpers import INBOUND_JS, join, open_page, wait_for
from tests.cluster.conftest import cluster_on_own_redis, counter, on_node, open_group
from tests.conftest import until

pytestmark = pytest.mark.usefixtures("loopback_ice")

MEDIA_BACK_S = 15.0  # the bound, from the death to media again


async def inbound_packets(page: Page) -> int:
    stats = await page.evaluate(INBOUND_JS)
    return sum(s["packetsReceived"] for s in stats["inbound"].values())


async def in_session_on(page: Page, node: ServerProcess, pid: str | None, limit_s: float) -> str:
    """Waits until the page is joined on `node` (as `pid`, if given) and receives media."""
    same = f" && window.circle.participantId === '{pid}'" if pid else ""
    await wait_for(
        page,
        f"location.origin === '{node.base}' && window.circle.state === 'joined'"
        f" && window.circle.pcSubscribe !== null{same}",
        f"the page in the session on {node.base}",
        limit_s,
    )
    deadline = time.monotonic() + limit_s
    while await inbound_packets(page) <= 20:
        assert time.monotonic() < deadline, "the page receives no media"
        await asyncio.sleep(0.2)
    joined_as: str = await page.evaluate("window.circle.participantId")
    return joined_as


async def test_a_page_follows_its_session_to_the_owner_and_past_the_owner_s_death(
    tmp_path: Path, browser: Browser, small_media: EncodedMedia
) -> None:
    async with cluster_on_own_redis(tmp_path) as cluster:
        a, b = await cluster.two_nodes()
        session = open_group(a)
        lead = Bot(session["facilitator_url"], "Lead", small_media)
        try:
            await lead.start()
            owner, other = (a, b) if cluster.owner_url(session["session_id"]) == a.base else (b, a)

            page = await open_page(browser, on_node(session["invite_url"], other))
            # sent to the owner before the pre-join screen: the answers are given there
            await wait_for(
                page,
                f"location.origin === '{owner.base}' && window.circle.state === 'prejoin'"
                " && !document.getElementById('join-button').disabled",
                "the pre-join screen on the owner",
            )
            await join(page, "Ana")
            pid = await in_session_on(page, owner, None, 20)
            await until(lambda: lead.received("audio", pid) > 20, 15, "the lead hears the page")

            os.kill(owner.pid, signal.SIGKILL)
            died = time.monotonic()
            await in_session_on(page, other, pid, MEDIA_BACK_S)
            gap = time.monotonic() - died
            print(f"the page receives media again {gap:.1f} s after the owner's death")
            assert gap < MEDIA_BACK_S
            heard = lead.received("audio", pid)
            await until(lambda: lead.received("audio", pid) > heard + 20, 10, "the page heard")
            assert cluster.owner_url(session["session_id"]) == other.base
            failovers = await asyncio.to_thread(counter, other, "circle_failovers_total")
            assert failovers >= 1
            assert not getattr(page, "circle_exceptions", [])
        finally:
            await lead.close()
