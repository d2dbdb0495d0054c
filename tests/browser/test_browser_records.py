"""Records a therapist can file, in real headless Chromium: the summary's participants table
fits a 1,368 px card and a printed landscape page, printing says whether it includes private
talks and leaves them out unless the therapist ticks them in, and the group's trends page shows
an invited member who never came.

Chromium must be installed at /usr/bin/chromium; without it these tests fail (they never skip).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route, expect

from server import accounts
from server.store import Facilitator, Group, Invite, SummaryRecord
from server.web import STORE
from tests.browser.helpers import wait_for
from tests.browser.test_browser_summary import CHARTS_DRAWN, page_of, rich_summary
from tests.conftest import RunningServer

CARD_PX = 1368  # the summary's card in the issue's report (issue 25)
# A4 landscape less 10 mm margins each side (report.css @page), at the 96 px of a CSS inch
PRINTED_PX = round((297 - 20) / 25.4 * 96)
FIT = """() => {
  const wrap = document.querySelector('#people').closest('.table-wrap');
  const right = wrap.getBoundingClientRect().right;
  const heads = [...document.querySelectorAll('#people thead th')];
  return {
    overflow: wrap.scrollWidth - wrap.clientWidth,
    card: wrap.closest('section').getBoundingClientRect().width,
    outside: heads.filter((th) => th.getBoundingClientRect().right > right + 0.5)
      .map((th) => th.textContent),
    heads: heads.map((th) => th.textContent.replaceAll('\u00ad', '')),
  };
}"""


async def served_summary(page: Page, base: str, summary: dict[str, Any]) -> None:
    async def serve(route: Route) -> None:
        await route.fulfill(json=summary)

    await page.route(f"{base}/api/sessions/{summary['session']['id']}/summary", serve)
    await page.goto(f"{base}/sessions/{summary['session']['id']}/summary")
    await wait_for(page, CHARTS_DRAWN, "the three charts")


async def as_printed(page: Page) -> None:
    await page.emulate_media(media="print")
    await page.evaluate("window.dispatchEvent(new Event('beforeprint'))")


async def test_the_participants_table_fits_the_card_and_the_printed_page(
    circle_server: RunningServer, browser: Browser
) -> None:
    context, page, errors = await page_of(browser)
    # the card is the page less main's padding (1.25 rem each side)
    await page.set_viewport_size({"width": CARD_PX + 40, "height": 900})
    await served_summary(page, circle_server.base_url, rich_summary())
    fit = await page.evaluate(FIT)
    assert fit["card"] == pytest.approx(CARD_PX, abs=1)
    for column in ("Muted", "Camera on", "Connection trouble", "Alerts"):
        assert column in fit["heads"]
    assert (fit["overflow"], fit["outside"]) == (0, [])

    await page.set_viewport_size({"width": PRINTED_PX, "height": 740})
    await as_printed(page)
    fit = await page.evaluate(FIT)
    assert (fit["overflow"], fit["outside"]) == (0, [])
    assert errors == []
    await context.close()


def with_a_private_talk(summary: dict[str, Any]) -> dict[str, Any]:
    """Ana spent five minutes in a 1:1 room with Dana, and spoke there."""
    room = "private-a"
    summary["room_names"][room] = "Private talk with Ana"
    for p in summary["participants"]:
        if p["id"] in ("a", "f"):
            p["rooms"].append({"room": room, "name": "Private talk with Ana", "seconds": 300.0})
    start = summary["session"]["started_at"] + 2400
    summary["timeline"].append(
        {"participant_id": "a", "room": room, "start": start, "end": start + 60}
    )
    return summary


async def private_talk_shown(page: Page) -> dict[str, bool]:
    return {
        "rooms_table": "Private talk with Ana" in await page.locator("#rooms thead").inner_text(),
        "timeline": await page.evaluate(
            "Chart.getChart(document.getElementById('timeline-chart')).data.datasets"
            ".some((d) => d.label.includes('Private talk with Ana') && d.data.length > 0)"
        ),
    }


async def test_printing_leaves_out_private_talks_unless_the_therapist_ticks_them_in(
    circle_server: RunningServer, browser: Browser
) -> None:
    context, page, errors = await page_of(browser)
    await served_summary(page, circle_server.base_url, with_a_private_talk(rich_summary()))
    shown = {"rooms_table": True, "timeline": True}
    assert await private_talk_shown(page) == shown  # on screen: the therapist's own view
    choice = page.get_by_label("Include private talks when printing")
    await expect(choice).not_to_be_checked()  # off unless chosen
    await expect(page.locator("#print-says")).to_have_text(
        "Printing leaves out private talks (1:1 rooms)."
    )

    await as_printed(page)
    assert await private_talk_shown(page) == {"rooms_table": False, "timeline": False}
    await expect(page.locator("#printed-private")).to_be_visible()  # the printout says so
    await expect(page.locator("#printed-private")).to_have_text(
        "Private talks (1:1 rooms) are left out of this printout."
    )
    await page.emulate_media(media="screen")
    await page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    assert await private_talk_shown(page) == shown

    await choice.check()
    await expect(page.locator("#print-says")).to_have_text(
        "Printing includes private talks (1:1 rooms)."
    )
    await as_printed(page)
    assert await private_talk_shown(page) == shown
    await expect(page.locator("#printed-private")).to_have_text(
        "Private talks (1:1 rooms) are included in this printout."
    )
    assert errors == []
    await context.close()


async def test_the_trends_page_shows_an_invited_member_who_never_came(
    circle_server: RunningServer, browser: Browser
) -> None:
    """Through the real API: three members invited, two came, the third shows as absences."""
    store, base = circle_server.app[STORE], circle_server.base_url
    now = time.time()
    dana = Facilitator("f_dana", "dana@x.org", accounts.hash_password("x" * 12), "Dana", "", now)
    await store.add_facilitator(dana)
    await store.add_group(Group("g_1", "Tuesday IOP", "f_dana", ("f_dana",), now - 100))
    for invite_id, label in (("i_a", "Ana Lopez"), ("i_b", "Bo Chen"), ("i_c", "Cy Moss")):
        await store.add_invite(Invite(invite_id, "g_1", label, "it_" + invite_id, now - 60))
    session = await circle_server.create_session("Week 3", group_id="g_1")
    data = rich_summary()
    data["session"].update(id=session["session_id"], group_id="g_1", created_at=now)
    for p in data["participants"]:
        p["invite_id"] = {"a": "i_a", "b": "i_b"}.get(p["id"])
    await store.put_summary(SummaryRecord(session["session_id"], "g_1", data, now, True))

    context, page, errors = await page_of(browser)
    cookie = accounts.issue_cookie(circle_server.settings.secret, "f_dana", now)
    await context.add_cookies([{"name": accounts.COOKIE_NAME, "value": cookie, "url": base}])
    await page.goto(f"{base}/groups/g_1")
    await wait_for(page, "document.querySelectorAll('#trends tr.member').length === 3", "3 rows")
    await expect(page.locator("#status")).to_contain_text("3 members with a personal invite")
    cy = page.locator("#trends tr.member[data-invite-id=i_c]")
    await expect(cy.locator("th strong")).to_have_text("Cy Moss")  # the invite's label
    await expect(cy).to_contain_text("came to 0 of 1")
    await expect(cy.locator(".flag")).to_have_text("never came")
    present = await page.evaluate(
        "Chart.getChart(document.querySelector('tr[data-invite-id=i_c] .spark canvas'))"
        ".data.datasets[0].data"
    )
    assert present == [0]  # an absence on the line
    ana = page.locator("#trends tr.member[data-invite-id=i_a]")
    await expect(ana).to_contain_text("came to 1 of 1")
    assert errors == []
    await context.close()
