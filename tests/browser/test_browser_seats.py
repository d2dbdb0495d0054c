"""Nobody takes someone's seat, in Chromium (issue 26, finding 1): a link's fragment never skips
the pre-join screen nor sets the page's rejoin key; the page keeps the key the server gave it
and comes back as itself after its connection drops; a personal link opened on a second device
knocks, and the facilitator's page says who is joining again from another device."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import Browser

from tests.browser.helpers import join, joined, open_page, wait_for
from tests.clients import cookie_of, group_session
from tests.conftest import RunningServer, until

pytestmark = pytest.mark.usefixtures("loopback_ice")

PLANTED = "attacker-chosen-key-0123456789"
SETTLE_S = 3.0  # long enough for a page that would join at once to have joined


async def test_a_crafted_fragment_neither_joins_nor_plants_a_key(
    circle_server: RunningServer, browser: Browser
) -> None:
    dana, session = await group_session(circle_server, waiting_room=False)
    try:
        crafted = f"{session['invite_url']}&r={PLANTED}&n=Sam&m=1&c=1"
        page = await open_page(browser, crafted)
        await wait_for(page, "window.circle.state === 'prejoin'", "the pre-join screen")
        await asyncio.sleep(SETTLE_S)
        assert await page.evaluate("window.circle.state") == "prejoin"
        assert await page.get_by_role("button", name="Join").is_visible()
        assert not circle_server.live.sessions  # nobody joined anything
        stored = await page.evaluate(
            "Object.keys(sessionStorage).filter((k) => k.startsWith('circle-rejoin'))"
            ".map((k) => sessionStorage.getItem(k))"
        )
        assert PLANTED not in stored
        assert "r=" not in await page.evaluate("location.href")
        # a forged move ticket is asked about, refused, and the pre-join screen stays
        forged = await open_page(browser, f"{session['invite_url']}&mv={'x' * 40}")
        await wait_for(forged, "!document.getElementById('join-error').hidden", "the refusal")
        assert await forged.evaluate("window.circle.state") == "prejoin"
        assert not [
            p
            for live in circle_server.live.sessions.values()
            for p in live.session.participants.values()
        ]
    finally:
        await dana.close()


async def test_the_page_keeps_the_servers_key_and_comes_back_as_itself(
    circle_server: RunningServer, browser: Browser
) -> None:
    dana, session = await group_session(circle_server, waiting_room=True)
    try:
        lead = await open_page(
            browser, session["facilitator_url"], cookie=cookie_of(circle_server, dana)
        )
        await join(lead, "Dana")
        await joined(lead, 1, "Dana")
        sam_url = session["personal_invites"][0]["url"]
        laptop = await open_page(browser, sam_url)
        await join(laptop, "Sam")
        await wait_for(lead, "window.circle.waiting.length === 1", "Sam knocks")
        await lead.get_by_role("button", name="Admit Sam").first.click()
        pid = await joined(laptop, 2, "Sam")
        live: Any = circle_server.live.sessions[session["session_id"]]
        key = await laptop.evaluate(
            f"sessionStorage.getItem('circle-rejoin-{session['session_id']}')"
        )
        assert key and live.session.participants[pid].rejoin_key_hash != key  # a hash kept

        # the page's connection drops (closed under it): it comes back as the same person
        sio, dropped = circle_server.live.fanout.sio, live.sids[pid]
        await sio.eio.disconnect(sio.manager.eio_sid_from_sid(dropped, "/"))
        await until(lambda: live.sids.get(pid) not in (None, dropped), 20, "Sam's seat back")
        await wait_for(
            laptop,
            f"window.circle.state === 'joined' && window.circle.participantId === '{pid}'"
            " && window.circle.pcSubscribe !== null",
            "Sam back as himself",
        )

        # the same personal link on a second device: a knock, and Dana is told
        phone = await open_page(browser, sam_url)
        await join(phone, "Sam")
        await wait_for(phone, "window.circle.state === 'waiting'", "the phone waits")
        notice = lead.get_by_text("Sam is joining again from another device")
        await notice.wait_for(timeout=10_000)
        assert await laptop.evaluate("window.circle.participantId") == pid
        assert await laptop.evaluate("window.circle.state") == "joined"
        for page in (lead, laptop, phone):
            assert not getattr(page, "circle_exceptions", [])
    finally:
        await dana.close()


async def test_a_copy_of_the_facilitators_link_asks_to_sign_in(
    circle_server: RunningServer, browser: Browser
) -> None:
    """Dana's link opened where nobody is signed in (a forwarded email) opens nothing: the page
    says to sign in and offers it, back to this session after."""
    dana, session = await group_session(circle_server, waiting_room=False)
    try:
        page = await open_page(browser, session["facilitator_url"])
        await page.get_by_label("Your name").fill("Dana")
        await page.get_by_role("button", name="Join").click()
        await wait_for(
            page,
            "window.circle.state === 'error' || !document.getElementById('join-error').hidden",
            "the join's answer",
        )
        said = await page.locator("#join-error").inner_text()
        title = await page.locator("#fatal-title").inner_text()
        assert title == "Sign in to lead this session", (title, said)
        link = page.get_by_role("link", name="Sign in")
        sid = session["session_id"]
        assert await link.get_attribute("href") == f"/signin?next=%2Fs%2F{sid}"
        assert not [
            p
            for live in circle_server.live.sessions.values()
            for p in live.session.participants.values()
        ]
    finally:
        await dana.close()
