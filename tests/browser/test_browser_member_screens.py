"""The member's own screens on a phone (390x844), in real Chromium: the safety check's phone
field is a real field (no zoom-in, an accurate message, optional parts said), "Help requested"
fits its button, and when the session ends the member is shown whom to call for where they
said they were, not a stale connection level."""

from __future__ import annotations

from playwright.async_api import Browser

from tests.browser.helpers import PHONE, WAIT_S, join, joined, open_page
from tests.conftest import RunningServer

FIELD_JS = """
(id) => {
  const el = document.getElementById(id);
  const s = getComputedStyle(el);
  return {height: el.getBoundingClientRect().height, font: parseFloat(s.fontSize)};
}
"""


async def test_a_member_on_a_phone_from_the_safety_check_to_the_end(
    circle_server: RunningServer, browser: Browser
) -> None:
    created = await circle_server.create_session("Thursday IOP")
    lead = await open_page(browser, created["facilitator_url"])
    sam = await open_page(browser, created["invite_url"], PHONE)
    await join(lead, "Dana")
    await joined(lead, 1, "the facilitator")

    await sam.locator("#safety-check").wait_for(state="visible", timeout=WAIT_S * 1000)
    # a real field: as tall as the others, text that a phone does not zoom into
    phone = await sam.evaluate(FIELD_JS, "safety-contact-phone")
    name = await sam.evaluate(FIELD_JS, "name-input")
    assert phone["font"] >= 16 and abs(phone["height"] - name["height"]) <= 2, (phone, name)
    assert "optional" in (await sam.locator("#safety-check").inner_text()).lower()
    # Join is in reach without scrolling, however long the form
    box = await sam.locator("#join-button").bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], box
    await sam.get_by_label("Where you are now", exact=False).fill("Austin, TX")
    await sam.get_by_label("Emergency contact's phone", exact=False).fill("call my sister")
    await join(sam, "Sam")
    error = sam.locator("#join-error")
    await error.wait_for(state="visible", timeout=WAIT_S * 1000)
    said = await error.inner_text()
    assert "digits" in said and "+" in said and "spaces" in said, said
    # what it accepts, it says: +, spaces, brackets and dashes
    await sam.get_by_label("Emergency contact's phone", exact=False).fill("+1 (512) 555-0100")
    await sam.get_by_role("button", name="Join").click()
    await joined(sam, 2, "Sam")

    await sam.get_by_role("button", name="I need help").click()
    help_button = sam.locator("#help-button", has_text="Help requested")
    await help_button.wait_for(timeout=WAIT_S * 1000)
    fits = await help_button.evaluate(
        "(b) => b.scrollWidth <= b.clientWidth + 1 && b.scrollHeight <= b.clientHeight + 1"
    )
    assert fits, "'Help requested' overflows its button"

    await lead.get_by_role("button", name="People").first.click()
    await lead.get_by_role("button", name="End session for everyone").click()
    await (
        lead.locator("#confirm-dialog")
        .get_by_role("button", name="End session for everyone")
        .click()
    )
    support = sam.locator("#after-session")
    await support.wait_for(state="visible", timeout=WAIT_S * 1000)
    text = await support.inner_text()
    assert "988" in text and "United States" in text and "Canada" not in text, text
    assert await sam.locator("#my-quality").is_hidden()
    assert "The session has ended" in await sam.locator("#fatal").inner_text()
    for page in (lead, sam):
        assert page.circle_exceptions == []  # type: ignore[attr-defined]
        await page.context.close()
