"""One-click moderation in real Chromium: admit from the "is waiting" notice, mute from the tile,
lower a hand from the queue; tabs that follow the ARIA pattern; an alert-settings form that keeps
what is typed across reports; and ending the session, confirmed, onto "Session ended"."""

from __future__ import annotations

from playwright.async_api import Browser

from tests.browser.helpers import WAIT_S, join, joined, open_page, wait_for
from tests.conftest import RunningServer


async def test_admit_mute_lower_hand_tabs_settings_and_end(
    circle_server: RunningServer, browser: Browser
) -> None:
    created = await circle_server.create_session("Tuesday IOP", waiting_room=True)
    lead = await open_page(browser, created["facilitator_url"])
    sam = await open_page(browser, created["invite_url"])
    await join(lead, "Dana")
    await joined(lead, 1, "the facilitator")

    # Knocking: focus goes to the waiting heading. Admit: one click, in the notice.
    await join(sam, "Sam")
    await wait_for(
        sam, "document.activeElement?.id === 'waiting-heading-main'", "focus on the heading"
    )
    # the knock says which link it came with (a stranger with the general one, here)
    notice = lead.locator(".notice", has_text="Sam is waiting to be let in (general link)")
    await notice.get_by_role("button", name="Admit Sam").click()
    sam_id = await joined(sam, 2, "Sam, admitted")
    await joined(lead, 2, "the facilitator, seeing Sam")

    # Mute: one click, on Sam's tile.
    await (
        lead.locator(f'.tile[data-participant-id="{sam_id}"]')
        .get_by_role("button", name="Mute Sam")
        .click()
    )
    await wait_for(
        sam, "document.querySelector('#mic-button').getAttribute('aria-pressed') === 'true'", "mute"
    )

    # Lower a hand: one click, in the hand queue.
    await sam.get_by_role("button", name="Raise hand").click()
    await lead.get_by_role("button", name="People").click()
    await lead.get_by_role("button", name="Lower Sam's hand").click()
    await wait_for(sam, "document.querySelector('#hand-button').textContent === 'Raise hand'", "")

    # Tabs: clicking the selected tab keeps the panel; arrow keys move between tabs.
    await lead.locator("#tab-people").click()
    assert await lead.locator("#panel").is_visible()
    await lead.locator("#tab-people").press("ArrowRight")
    assert await lead.locator("#tab-chat").get_attribute("aria-selected") == "true"
    assert await lead.evaluate("document.activeElement.id") == "tab-chat"
    await lead.locator("#tab-chat").press("End")
    assert await lead.locator("#tab-engagement").get_attribute("aria-selected") == "true"

    # The alert settings keep what was typed while reports arrive (every second).
    await lead.get_by_text("Measurement and alerts").click()
    field = lead.get_by_label("Alert when someone has over (%) of the last 10 minutes")
    await field.fill("55")
    await lead.locator("#balance").click()  # leave the field without saving
    await lead.wait_for_timeout(2500)
    assert await field.input_value() == "55"

    # End: away from everyday tools, confirmed with its consequence, then where to go next.
    await lead.locator("#tab-people").click()
    await lead.get_by_role("button", name="End session for everyone").click()
    dialog = lead.locator("#confirm-dialog")
    await dialog.get_by_text("nobody can join this session again").wait_for()
    await dialog.get_by_role("button", name="End session for everyone").click()
    await lead.get_by_role("heading", name="Session ended").wait_for(timeout=WAIT_S * 1000)
    link = lead.get_by_role("link", name="View summary")
    assert await link.get_attribute("href") == f"/sessions/{created['session_id']}/summary"
    assert await lead.get_by_role("link", name="Back to console").is_visible()
    assert await lead.locator("#my-role").is_hidden()
    await sam.get_by_role("heading", name="The session has ended").wait_for(timeout=WAIT_S * 1000)

    for page in (lead, sam):
        assert page.circle_exceptions == []  # type: ignore[attr-defined]
        await page.context.close()
