"""The engagement panel in real headless Chromium: the facilitator sees a speaking indicator for
the participant whose (fake, beeping) microphone speaks, talk shares and turns; a participant who
opted out on the pre-join screen shows as "not measured"; participants see no metrics.

Chromium must be installed at /usr/bin/chromium; without it these tests fail (they never skip).
"""

from __future__ import annotations

import os

from playwright.async_api import Browser

from tests.browser.helpers import join, joined, open_page, wait_for
from tests.conftest import RunningServer

# Set to a file path to save the facilitator's page with the engagement panel.
SCREENSHOT = os.environ.get("CIRCLE_ENGAGEMENT_SCREENSHOT")


async def test_panel_shows_who_is_speaking(circle_server: RunningServer, browser: Browser) -> None:
    created = await circle_server.create_session("Tuesday IOP")
    lead = await open_page(browser, created["facilitator_url"])
    ana = await open_page(browser, created["invite_url"])
    ben = await open_page(browser, created["invite_url"])
    await join(lead, "Dana")
    await joined(lead, 1, "the facilitator")
    await lead.get_by_role("button", name="Mute microphone").click()  # only Ana's beeps speak
    await join(ana, "Ana")
    await ben.get_by_text("Circle measures how long each person speaks").wait_for()
    await ben.get_by_label("Don't measure my speaking time").check()
    await join(ben, "Ben")
    ana_id = await joined(ana, 3, "Ana")
    ben_id = await joined(ben, 3, "Ben")

    await lead.get_by_role("button", name="People").first.click()
    await lead.get_by_role("tab", name="Engagement").click()
    await wait_for(
        lead,
        f'document.querySelector(\'#engagement-rows tr[data-participant-id="{ana_id}"]'
        "[data-speaking=\"true\"] .speaking-mark')?.textContent === 'Speaking'",
        "a speaking indicator for Ana",
    )
    await wait_for(
        lead,
        f"/[1-9]\\d*%/.test(document.querySelector('#engagement-rows tr[data-participant-id=\""
        f"{ana_id}\"] td')?.textContent || '')",
        "Ana's share of talk",
    )
    if SCREENSHOT:
        await lead.screenshot(path=SCREENSHOT)
    ben_row = lead.locator(f'#engagement-rows tr[data-participant-id="{ben_id}"]')
    assert "not measured" in await ben_row.inner_text()
    assert await ben.locator("#measure-me").is_checked() is False

    # participants never see the group's metrics
    for page in (ana, ben):
        assert await page.locator("#tab-engagement").is_hidden()
        assert await page.locator("#engagement-rows tr").count() == 0
    for page in (lead, ana, ben):
        assert page.circle_exceptions == []  # type: ignore[attr-defined]
        await page.context.close()
