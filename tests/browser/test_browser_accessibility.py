"""axe-core (WCAG 2.0-2.2 A and AA rules) over the pages and states people reach, in real
Chromium at desktop and phone sizes: sign-in, console, pre-join, waiting, the session as a
participant and as a facilitator with each panel open and a knock, a private talk, a crisis
response, the summary and a group's trends. Zero violations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page

from tests.browser.helpers import DESKTOP, PHONE, join, joined, wait_for
from tests.clients import cookie_of, group_session
from tests.conftest import RunningServer

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

RUN_AXE_JS = """
async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
  }));
}
"""


async def violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG A/AA violations on the page as it is now."""
    if not await page.evaluate("typeof axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await page.evaluate(RUN_AXE_JS, WCAG)
    return found


async def opened(
    browser: Browser, url: str, viewport: dict[str, int], cookie: str | None = None
) -> Page:
    # axe is injected as a script: the page's strict CSP would refuse it
    context = await browser.new_context(viewport=viewport, bypass_csp=True)
    if cookie:
        host = url.split("//", 1)[1].split(":", 1)[0]
        await context.add_cookies(
            [{"name": "circle_session", "value": cookie, "domain": host, "path": "/"}]
        )
    page = await context.new_page()
    await page.goto(url)
    return page


async def test_no_wcag_violations_where_people_go(
    circle_server: RunningServer, browser: Browser
) -> None:
    dana, session = await group_session(circle_server, waiting_room=True)
    cookie = cookie_of(circle_server, dana)
    base = circle_server.base_url
    found: dict[str, list[dict[str, Any]]] = {}

    async def check(what: str, page: Page) -> None:
        found[what] = await violations(page)

    try:
        for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page = await opened(browser, f"{base}/signin", viewport)
            await check(f"sign-in, {size}", page)
            await page.context.close()
            page = await opened(browser, f"{base}/console", viewport, cookie)
            await page.get_by_role("heading", name="Groups").first.wait_for()
            await check(f"console, {size}", page)
            await page.context.close()

        lead = await opened(browser, session["facilitator_url"], DESKTOP, cookie)
        await join(lead, "Dana")
        await joined(lead, 1, "Dana")
        await check("session, facilitator alone", lead)
        sam = await opened(browser, session["personal_invites"][0]["url"], PHONE)
        await sam.locator("#safety-check").wait_for(state="visible")
        await check("pre-join with the safety check, phone", sam)
        await join(sam, "Sam")
        await wait_for(sam, "window.circle.state === 'waiting'", "Sam waiting")
        await check("waiting, phone", sam)
        await lead.locator(".notice", has_text="Sam is waiting").wait_for()
        await check("session, facilitator with a knock", lead)
        await lead.get_by_role("button", name="People").first.click()
        await check("People panel with the waiting room", lead)
        await lead.get_by_role("button", name="Admit Sam").first.click()
        await joined(sam, 2, "Sam")
        await check("session, participant, phone", sam)
        for tab in ("Chat", "Rooms", "Engagement", "People"):
            await lead.get_by_role("tab", name=tab).click()
            await check(f"{tab} panel", lead)
        await sam.get_by_role("button", name="I need help").click()
        await lead.locator(".help-alert").get_by_role("button", name="Talk privately now").click()
        await sam.locator("#private-bar").wait_for(state="visible")
        await check("private talk, member, phone", sam)
        await check("private talk, facilitator", lead)
        await lead.locator("#private-bar").get_by_role("button", name="Return to the group").click()
        sam_id = await sam.evaluate("window.circle.participantId")
        await lead.locator(f'.tile[data-participant-id="{sam_id}"] .tile-crisis').click()
        await (
            lead.locator("#crisis-dialog")
            .get_by_role("button", name="Start crisis response for Sam")
            .click()
        )
        await lead.locator("#crisis-panel").wait_for(state="visible")
        await check("crisis panel", lead)
        await lead.get_by_role("button", name="End session for everyone").click()
        await (
            lead.locator("#confirm-dialog")
            .get_by_role("button", name="End session for everyone")
            .click()
        )
        await sam.locator("#fatal").wait_for(state="visible")
        await check("end screen, member, phone", sam)
        summary = await opened(
            browser, f"{base}/sessions/{session['session_id']}/summary", DESKTOP, cookie
        )
        await summary.locator("table").first.wait_for()
        await check("summary", summary)
        trends = await opened(browser, f"{base}/groups/{session['group_id']}", DESKTOP, cookie)
        await trends.locator("main").wait_for()
        await check("group trends", trends)
    finally:
        await dana.close()
    bad = {what: v for what, v in found.items() if v}
    assert bad == {}, "\n".join(f"{what}: {v}" for what, v in bad.items())
