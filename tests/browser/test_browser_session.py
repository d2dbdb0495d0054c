"""The session page in real headless Chromium: three people join and receive each other's media.

Chromium must be installed at /usr/bin/chromium; without it these tests fail (they never skip).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import pytest
from playwright.async_api import Browser

from rooms.model import Role
from server import tokens
from server.tokens import SessionGrant
from tests.browser.helpers import INBOUND_JS, WAIT_S, join, open_page, sees_and_hears, wait_for

# Set to a file path to save a screenshot of the facilitator's page with three people in it.
SCREENSHOT = os.environ.get("CIRCLE_SCREENSHOT")


def media_from(snapshot: dict[str, Any], pid: str) -> tuple[int, int] | None:
    """(video framesDecoded, audio packetsReceived) of participant `pid` in a page's stats."""
    counters = {}
    for slot in snapshot["slots"]:
        if slot["participant_id"] != pid:
            continue
        stat = snapshot["inbound"].get(slot["mid"])
        if stat is None:
            return None
        key = "framesDecoded" if slot["kind"] == "video" else "packetsReceived"
        counters[slot["kind"]] = stat[key]
    if set(counters) != {"audio", "video"}:
        return None
    return counters["video"], counters["audio"]


async def test_three_people_see_and_hear_each_other(circle_server: Any, browser: Browser) -> None:
    created = await circle_server.create_session("Tuesday evening group")
    people = [
        ("Dana", created["facilitator_url"]),
        ("Alex", created["invite_url"]),
        ("Sam", created["invite_url"]),
    ]
    pages = [await open_page(browser, url) for _, url in people]
    for page, (name, _) in zip(pages, people, strict=True):
        await join(page, name)
    for page, (name, _) in zip(pages, people, strict=True):
        await wait_for(
            page,
            "window.circle.state === 'joined' && window.circle.pcSubscribe !== null"
            " && document.querySelectorAll('.tile[data-participant-id]').length === 3",
            f"{name} to join and see three tiles",
        )
    ids = [await p.evaluate("window.circle.participantId") for p in pages]
    assert len(set(ids)) == 3

    roles = [await p.locator("#my-role").inner_text() for p in pages]
    assert "facilitator" in roles[0].lower()
    assert "participant" in roles[1].lower()
    # The facilitator's tile carries a visible role badge on the others' pages.
    badge = pages[1].locator(f'.tile[data-participant-id="{ids[0]}"] .role-badge')
    assert await badge.inner_text() == "Facilitator"

    # Every page must receive growing video frames and audio packets from both other people.
    previous: list[dict[str, tuple[int, int]]] = [{} for _ in pages]
    good: list[set[str]] = [set() for _ in pages]
    deadline = time.monotonic() + WAIT_S
    snapshots: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        snapshots = [await p.evaluate(INBOUND_JS) for p in pages]
        for i, snap in enumerate(snapshots):
            for pid in ids:
                if pid == ids[i]:
                    continue
                now = media_from(snap, pid)
                before = previous[i].get(pid)
                if now and before and now[0] > before[0] > 0 and now[1] > before[1] > 0:
                    good[i].add(pid)
                if now:
                    previous[i][pid] = now
        if all(len(g) == 2 for g in good):
            break
        await asyncio.sleep(1.0)
    assert all(len(g) == 2 for g in good), (
        f"media not flowing everywhere: received={good}, last stats={snapshots}, "
        f"page errors={[getattr(p, 'circle_errors', []) for p in pages]}"
    )

    # Each remote tile plays its video, and an element of its own plays each person's sound;
    # tiles themselves are muted (sound never depends on a tile being drawn).
    for i, snap in enumerate(snapshots):
        for tile in snap["tiles"]:
            assert tile["muted"], tile
            if tile["id"] == ids[i]:
                assert "(you)" in tile["name"]
            else:
                assert tile == {**tile, "paused": False, "tracks": ["video"]}, tile
        for pid in ids:
            if pid != ids[i]:
                await sees_and_hears(pages[i], pid, f"page {i} of {pid}")

    # Muting shows up as text on the others' tiles.
    await pages[1].get_by_role("button", name="Mute microphone").click()
    assert await pages[1].locator("#mic-button").get_attribute("aria-pressed") == "true"
    muted_label = pages[0].locator(f'.tile[data-participant-id="{ids[1]}"] .mic-state')
    await muted_label.wait_for(state="visible", timeout=WAIT_S * 1000)
    await pages[1].get_by_role("button", name="Unmute microphone").click()
    await muted_label.wait_for(state="hidden", timeout=WAIT_S * 1000)

    # The fake microphone beeps, so someone becomes the active speaker; their tile says so.
    speaker = await wait_for(
        pages[0],
        "window.circle.activeSpeaker && document.querySelector("
        "`.tile.speaking[data-speaking='true'][data-participant-id='${window.circle.activeSpeaker}']`"
        ") && window.circle.activeSpeaker",
        "an active speaker highlight",
    )
    assert speaker in ids
    assert await pages[0].locator(".tile.speaking").count() == 1

    if SCREENSHOT:
        await pages[0].screenshot(path=SCREENSHOT)

    # Leaving, confirmed (issue 14): the page says so, and the others drop the tile.
    await pages[2].get_by_role("button", name="Leave").click()
    await pages[2].locator("#confirm-dialog").get_by_role("button", name="Leave").click()
    await pages[2].get_by_text("You left the session").wait_for(timeout=WAIT_S * 1000)
    await wait_for(
        pages[0],
        f"!document.querySelector('.tile[data-participant-id=\"{ids[2]}\"]')",
        "the facilitator's page to drop the tile of the person who left",
    )
    for page in pages:
        assert page.circle_exceptions == []  # type: ignore[attr-defined]
        await page.context.close()


def _token(secret: str, session_id: str, expires_at: float) -> str:
    grant = SessionGrant(session_id, "Test group", Role.PARTICIPANT, int(expires_at))
    return tokens.issue(secret, grant)


@pytest.mark.parametrize(
    ("make_token", "expected"),
    [
        # Signed with the wrong key: only the server can tell, after "Join".
        (
            lambda sid, secret: _token("wrong-secret-" + "y" * 32, sid, time.time() + 3600),
            "This link is not valid",
        ),
        # Expired a few seconds ago: the server refuses it with expired_token.
        (lambda sid, secret: _token(secret, sid, time.time() - 5), "This link has expired"),
        # Expired long ago: the page says so before anyone joins.
        (lambda sid, secret: _token(secret, sid, time.time() - 86400), "This link has expired"),
        # Not a token at all.
        (lambda sid, secret: "not-a-token", "This link is not valid"),
    ],
    ids=["bad-signature", "just-expired", "long-expired", "garbage"],
)
async def test_bad_link_explains_itself(
    circle_server: Any, browser: Browser, make_token: Any, expected: str
) -> None:
    created = await circle_server.create_session("Test group")
    sid = created["session_id"]
    token = make_token(sid, circle_server.settings.secret)
    page = await open_page(browser, f"{circle_server.base_url}/s/{sid}#t={token}")
    join_button = page.get_by_role("button", name="Join")
    if await join_button.is_visible():
        await join(page, "Alex")
    heading = page.get_by_role("heading", name=expected)
    await heading.wait_for(timeout=WAIT_S * 1000)
    assert await page.locator("#fatal-message").inner_text()
    assert not await join_button.is_visible()
    assert await page.evaluate("window.circle.participantId") is None
    await page.context.close()


async def test_missing_token_on_prejoin(circle_server: Any, browser: Browser) -> None:
    created = await circle_server.create_session("Test group")
    page = await open_page(browser, f"{circle_server.base_url}/s/{created['session_id']}")
    await page.get_by_role("heading", name="This link is incomplete").wait_for(
        timeout=WAIT_S * 1000
    )
    text = await page.locator("#fatal-message").inner_text()
    assert "facilitator" in text
    assert not await page.get_by_role("button", name="Join").is_visible()
    await page.context.close()


async def test_prejoin_screen_with_camera_preview(circle_server: Any, browser: Browser) -> None:
    created = await circle_server.create_session("Test group")
    page = await open_page(browser, created["invite_url"])
    await page.get_by_label("Your name").wait_for(timeout=WAIT_S * 1000)
    await wait_for(
        page,
        "document.getElementById('preview').srcObject !== null"
        " && document.getElementById('preview').videoWidth > 0",
        "the camera preview",
    )
    assert await page.get_by_role("button", name="Join").is_enabled()
    # the link no longer carries the title (issue 15): a link in someone's history names no group
    assert "Test group" not in await page.locator("#session-title").inner_text()
    assert "#t=" not in page.url  # the token left the address bar for sessionStorage
    # An empty name is refused with a message, and nothing connects.
    await page.get_by_label("Your name").fill("  ")
    await page.get_by_role("button", name="Join").click()
    await page.get_by_text("Please enter your name.").wait_for(timeout=WAIT_S * 1000)
    assert await page.evaluate("window.circle.state") == "prejoin"
    await page.context.close()


async def test_server_unreachable_explains_itself(circle_server: Any, browser: Browser) -> None:
    created = await circle_server.create_session("Test group")
    context = await browser.new_context()
    # Every WebSocket fails at once, as when the server is down or the network blocks it.
    await context.add_init_script(
        """window.WebSocket = class extends EventTarget {
          constructor() {
            super();
            this.readyState = 3;
            setTimeout(() => { this.onerror && this.onerror(new Event('error'));
                               this.onclose && this.onclose({code: 1006, reason: ''}); }, 10);
          }
          send() {}
          close() {}
        };"""
    )
    page = await context.new_page()
    await page.goto(created["invite_url"])
    await join(page, "Alex")
    await page.get_by_role("heading", name="We can't reach the session right now").wait_for(
        timeout=WAIT_S * 1000
    )
    assert await page.get_by_role("button", name="Try again").is_visible()
    await context.close()


async def test_camera_permission_denied_explains_and_still_joins(
    circle_server: Any, browser: Browser
) -> None:
    created = await circle_server.create_session("Test group")
    context = await browser.new_context()
    await context.add_init_script(
        "navigator.mediaDevices.getUserMedia = () =>"
        " Promise.reject(new DOMException('denied', 'NotAllowedError'));"
    )
    page = await context.new_page()
    await page.goto(created["invite_url"])
    message = page.locator("#device-message")
    await message.wait_for(timeout=WAIT_S * 1000)
    assert "Allow" in await message.inner_text()
    await join(page, "Alex")
    await wait_for(page, "window.circle.state === 'joined'", "joining without camera or mic")
    tile = page.locator(".tile.self")
    assert await tile.locator(".mic-state").is_visible()
    assert await tile.locator(".cam-state").is_visible()
    assert await page.locator("#mic-button").is_disabled()
    await context.close()
