"""Connection quality in real headless Chromium: the facilitator sees a level for every
participant, sending and receiving, with details; each participant sees their own.

Chromium must be installed at /usr/bin/chromium; without it these tests fail (they never skip).
"""

from __future__ import annotations

from playwright.async_api import Browser

from tests.browser.helpers import join, joined, open_page, wait_for
from tests.conftest import RunningServer

LEVEL = "(Excellent|Good|Poor|Lost)"


async def test_every_participant_has_a_quality_indicator(
    circle_server: RunningServer, browser: Browser
) -> None:
    created = await circle_server.create_session("Tuesday IOP")
    pages = [
        await open_page(browser, created[key])
        for key in ("facilitator_url", "invite_url", "invite_url")
    ]
    for page, name in zip(pages, ["Dana", "Ana", "Ben"], strict=True):
        await join(page, name)
    ids = [await joined(page, 3, "everyone") for page in pages]
    lead = pages[0]
    await lead.get_by_role("button", name="People").first.click()
    for pid in ids:
        await wait_for(
            lead,
            f"/^Connection: ↑ {LEVEL} ↓ {LEVEL}$/.test(document.querySelector("
            f"'#people-list li[data-participant-id=\"{pid}\"] .quality summary')?.textContent)",
            f"a sending and receiving level for {pid}",
        )
    row = lead.locator(f'#people-list li[data-participant-id="{ids[1]}"] .quality')
    await row.locator("summary").click()
    details = await row.inner_text()
    assert "Sending:" in details and "Receiving:" in details and "loss" in details
    for page in pages[1:]:
        await wait_for(
            page,
            f"/^Your connection: {LEVEL}$/.test(document.querySelector('#my-quality').textContent)",
            "the participant's own indicator",
        )
        assert await page.locator("#people-list .quality").count() == 0  # leaders only
    for page in pages:
        assert page.circle_exceptions == []  # type: ignore[attr-defined]
        await page.context.close()
