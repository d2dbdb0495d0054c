"""A crisis response in real Chromium: a participant fills the safety check before joining, the
facilitator starts a crisis response with one click on the participant's tile, sees where they
are, whom to call and the emergency numbers, the co-facilitator is handed the group, and the
record shows each action with its time. The rest of the group's page never receives any of it
(checked on the socket frames it receives)."""

from __future__ import annotations

import json
import re

from playwright.async_api import Browser

from tests.browser.helpers import (
    DESKTOP,
    WAIT_S,
    all_joined,
    join,
    joined,
    open_page,
    sees_and_hears,
    wait_for,
)
from tests.browser.helpers import PHONE as PHONE_VIEW
from tests.browser.test_browser_private_talk import events_of, record_socket
from tests.conftest import RunningServer

WHERE, CONTACT, PHONE = "22 Birch Road, Toronto, Ontario", "Jo Park", "+1 416 555 0199"


async def test_safety_check_and_a_crisis_response(
    circle_server: RunningServer, browser: Browser
) -> None:
    created = await circle_server.create_session("Thursday IOP")
    lead = await open_page(browser, created["facilitator_url"])
    co = await open_page(browser, created["cofacilitator_url"])
    sam = await open_page(browser, created["invite_url"])
    alex = await open_page(browser, created["invite_url"])
    frames = record_socket(alex)
    await join(lead, "Dana")
    lead_id = await joined(lead, 1, "the facilitator")
    await join(co, "Chris")
    # a co-lead link with no account knocks; the facilitator lets Chris in
    await lead.get_by_role("button", name="Admit Chris").first.click()
    await joined(co, 2, "the co-facilitator")

    # the safety check: plain words on why and who sees it
    check = sam.locator("#safety-check")
    await check.wait_for(state="visible", timeout=WAIT_S * 1000)
    assert "only the facilitators see this" in (await check.inner_text()).lower()
    await sam.get_by_label("Where you are now").fill(WHERE)
    await sam.get_by_label("Emergency contact's name").fill(CONTACT)
    await sam.get_by_label("Emergency contact's phone").fill(PHONE)
    await join(sam, "Sam")
    sam_id = await joined(sam, 3, "Sam")
    assert await alex.locator("#safety-check").is_visible()
    await join(alex, "Alex")  # skipping the check is allowed: leaders see "not given"
    await joined(alex, 4, "Alex")

    # on Sam's tile (where a mis-tap is easy) a dialog naming Sam asks first
    await lead.locator(f'.tile[data-participant-id="{sam_id}"] .tile-crisis').click()
    confirm = lead.locator("#confirm-dialog")
    await confirm.get_by_role("heading", name="Start a crisis response for Sam?").wait_for()
    await confirm.get_by_role("button", name="Start crisis response for Sam").click()
    panel = lead.locator("#crisis-panel")
    await panel.get_by_text(WHERE).wait_for(timeout=WAIT_S * 1000)
    text = await panel.inner_text()
    assert CONTACT in text and PHONE in text
    assert "911" in text and "988" in text  # Canada, guessed from "Ontario"
    await wait_for(
        lead,
        f"window.circle.room === 'private-{sam_id}'",
        "the facilitator in the 1:1 with Sam",
    )
    await (
        sam.locator("#private-bar")
        .get_by_text("Private talk with Dana")
        .wait_for(timeout=WAIT_S * 1000)
    )
    # the person in crisis sees and hears the facilitator, and the facilitator them
    await sees_and_hears(sam, lead_id, "Sam, of the facilitator")
    await sees_and_hears(lead, sam_id, "the facilitator, of Sam")
    # the co-facilitator gets the group
    await (
        co.locator("#leading-bar")
        .get_by_text("You are now leading the group")
        .wait_for(timeout=WAIT_S * 1000)
    )

    await panel.get_by_role("button", name="Called emergency services").click()
    await panel.get_by_label("Note").fill("Sam is safe at home, sister on the way")
    await panel.get_by_role("button", name="Add note").click()
    await panel.get_by_role("button", name="Resolved").click()
    log = panel.locator("#crisis-log li")
    await log.filter(has_text="Resolved").wait_for(timeout=WAIT_S * 1000)
    lines = await log.all_inner_texts()
    timed = [re.match(r"^(\d{1,2}:\d{2}:\d{2}(?:\s?[AP]M)?) (.*)$", line) for line in lines]
    assert all(timed), lines  # each action with its time
    kinds = [m.group(2) for m in timed if m]
    assert kinds[0].startswith("Crisis response started")
    assert kinds[1].startswith("Group handed to the co-facilitator")
    assert kinds[2].startswith("Called emergency services")
    assert kinds[3].startswith("Note: Sam is safe at home")
    assert kinds[4].startswith("Resolved")

    # the group's page never received where Sam is, whom to call, or that there was a crisis
    received = json.dumps(frames, default=str)
    assert WHERE not in received and PHONE not in received and CONTACT not in received
    for name in ("safety_info", "crisis_updated", "crisis_alert", "group_handed_over"):
        assert events_of(frames, name) == []
    assert not await alex.locator("#crisis-panel").is_visible()
    for page in (lead, co, sam, alex):
        assert page.circle_exceptions == []  # type: ignore[attr-defined]


async def test_a_crisis_with_the_group_held_names_the_person_and_hides_them_in_the_group(
    circle_server: RunningServer, browser: Browser
) -> None:
    """No co-facilitator: the dialog names the person; with "Mute the group" the group sees
    the person in crisis muted and stepped away like anyone away, never the only one unmuted;
    the person sees and hears the facilitator (on a phone)."""
    created = await circle_server.create_session("Thursday IOP")
    (lead, lead_id), (sam, sam_id), (alex, _) = await all_joined(
        browser,
        created,
        [
            ("facilitator_url", "Dana", DESKTOP),
            ("invite_url", "Sam", PHONE_VIEW),
            ("invite_url", "Alex", DESKTOP),
        ],
    )

    await lead.locator(f'.tile[data-participant-id="{sam_id}"] .tile-crisis').click()
    dialog = lead.locator("#crisis-dialog")
    await dialog.get_by_role("heading", name="Start a crisis response for Sam").wait_for()
    assert "While you are with Sam" in await dialog.inner_text()
    await dialog.get_by_role("button", name="Start crisis response for Sam").click()

    await sees_and_hears(sam, lead_id, "Sam, of the facilitator")
    tile = alex.locator(f'.tile[data-participant-id="{sam_id}"]')
    await tile.locator(".away-badge").wait_for(state="visible", timeout=WAIT_S * 1000)
    await tile.locator(".mic-state").wait_for(state="visible", timeout=WAIT_S * 1000)
    await alex.locator("#mic-button[aria-pressed='true']").wait_for(timeout=WAIT_S * 1000)
    for page in (lead, sam, alex):
        assert page.circle_exceptions == []  # type: ignore[attr-defined]
        await page.context.close()
