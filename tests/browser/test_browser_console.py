"""The facilitator console in real headless Chromium: sign in, profile, a group with a personal
invite, a scheduled session, copying its links, the audit log, sign out.

Chromium must be installed at /usr/bin/chromium; without it these tests fail (they never skip).
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from playwright.async_api import (
    Browser,
    BrowserContext,
    Dialog,
    Locator,
    Page,
    Route,
    expect,
)

from rooms.model import Role
from server import accounts
from server.store import AuditEntry, Facilitator, SummaryRecord
from server.web import STORE
from tests.clients import grant_of
from tests.conftest import RunningServer

PASSWORD = "a long enough passphrase"
# The browser runs in India's zone: a half-hour offset and no summer time, so the expected
# ISO 8601 start is the same on any date.
ZONE_ID = "Asia/Kolkata"
ZONE = timezone(timedelta(hours=5, minutes=30))
# Set to a file path to save a screenshot of the console with a group, a session and its links.
SCREENSHOT = os.environ.get("CIRCLE_CONSOLE_SCREENSHOT")
WAIT_MS = 5000  # actions; Playwright's expect() waits 5 s too


class Watched:
    """A page with its uncaught exceptions and console errors collected."""

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.context = context
        self.page = page
        self.exceptions: list[str] = []
        self.console_errors: list[str] = []
        page.on("pageerror", lambda exc: self.exceptions.append(str(exc)))
        page.on(
            "console",
            lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None,
        )


async def console_page(browser: Browser, server: RunningServer) -> Watched:
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id=ZONE_ID
    )
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base_url)
    context.set_default_timeout(WAIT_MS)
    return Watched(context, await context.new_page())


async def add_facilitator(server: RunningServer) -> None:
    await server.app[STORE].add_facilitator(
        Facilitator(
            "f_dana", "dana@example.org", accounts.hash_password(PASSWORD), "Dana", "", time.time()
        )
    )


async def sign_in(page: Page) -> None:
    await page.get_by_label("Email").fill("dana@example.org")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def api_session(server: RunningServer, session_id: str) -> dict[str, Any]:
    """The session as the server answers for it (with the API key, not the page's cookie)."""
    return await server.api_get(f"/api/sessions/{session_id}")


async def copy_link(page: Page, scope: Locator, label: str) -> str:
    """Click Copy on the link row named `label`; returns what landed on the clipboard."""
    row = scope.locator(".link-row").filter(has=page.get_by_text(label, exact=True))
    await expect(row).to_have_count(1)
    await row.get_by_role("button", name="Copy").click()
    await expect(row.locator(".copy-feedback")).to_have_text(f"Copied: {label}")  # which link
    copied: str = await page.evaluate("navigator.clipboard.readText()")
    assert copied == await row.locator("input").input_value()
    return copied


async def test_console_signs_in_creates_a_session_and_copies_its_links(
    circle_server: RunningServer, browser: Browser
) -> None:
    await add_facilitator(circle_server)
    store = circle_server.app[STORE]
    base = circle_server.base_url
    watched = await console_page(browser, circle_server)
    page = watched.page

    # Not signed in: the console sends the browser to sign in, and sign-in sends it back.
    await page.goto(f"{base}/console")
    await page.wait_for_url(f"{base}/signin?next=/console")
    await sign_in(page)
    await page.wait_for_url(f"{base}/console")
    await expect(page.locator("body[data-ready='true']")).to_have_count(1)
    watched.console_errors.clear()  # the 401s of /api/me before signing in are expected
    await expect(page.get_by_role("heading", name="Circle console")).to_be_visible()
    await expect(page.locator("#me-name")).to_have_text("Dana")

    # Profile: credentials shown in the header and kept by the server.
    await page.get_by_label("Credentials").fill("LCSW, CAC")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#profile-status")).to_have_text("Saved")
    await expect(page.locator("#me-credentials")).to_have_text(", LCSW, CAC")
    stored_me = await store.get_facilitator("f_dana")
    assert stored_me is not None and stored_me.credentials == "LCSW, CAC"

    # A refusal from the server is shown next to the form that caused it.
    async def refuse(route: Route) -> None:
        if route.request.method == "POST":
            await route.fulfill(
                status=400,
                json={"error": "invalid", "message": "name: refused by the test"},
            )
        else:
            await route.continue_()

    await page.route(f"{base}/api/groups", refuse)
    await page.get_by_label("New group name").fill("Tuesday IOP")
    await page.get_by_role("button", name="New group").click()
    await expect(page.locator("#group-error")).to_contain_text("name: refused by the test")
    await page.unroute(f"{base}/api/groups", refuse)
    assert len(watched.console_errors) == 1 and "400" in watched.console_errors[0]
    watched.console_errors.clear()  # Chromium logs the refused request: expected

    # A group, and a personal invite in it.
    await page.get_by_role("button", name="New group").click()
    group_card = page.locator("article.group").filter(
        has=page.get_by_role("heading", name="Tuesday IOP")
    )
    await expect(group_card).to_have_count(1)
    await expect(page.locator("#group-error")).to_have_text("")
    await group_card.get_by_label("Label for a new personal invite").fill("R.")
    await group_card.get_by_role("button", name="Add invite").click()
    await expect(group_card.locator(".invite-label")).to_have_text(["R."])
    [group] = await store.groups_of("f_dana")
    assert group.name == "Tuesday IOP"
    [invite] = await store.invites_of_group(group.id)
    assert invite.label == "R." and not invite.revoked

    # A session of that group, two weeks ahead at 18:00 in the browser's zone.
    day = (datetime.now(ZONE) + timedelta(days=14)).date()
    await page.get_by_label("Title", exact=True).fill("Tuesday IOP, week 3")
    await page.get_by_label("Group", exact=True).select_option(label="Tuesday IOP")
    await expect(page.get_by_label("Waiting room")).to_be_checked()
    await page.get_by_label("Scheduled start").fill(f"{day.isoformat()}T18:00")
    await page.get_by_role("button", name="Create session").click()
    created = page.locator("#created")
    await expect(created).to_be_visible()
    await expect(page.locator("#session-error")).to_have_text("")

    [record] = await store.sessions_created_by("f_dana")
    assert record.title == "Tuesday IOP, week 3"
    assert record.group_id == group.id and record.waiting_room
    assert record.scheduled_start == f"{day.isoformat()}T18:00:00+05:30"
    served = await api_session(circle_server, record.id)  # start ahead: same links every time

    # Copy the participants' link: exactly the server's, a participant token for this session.
    invite_url = await copy_link(page, created, "Invite link for participants")
    assert invite_url == served["invite_url"]
    grant = grant_of(circle_server, invite_url)
    assert (grant.session_id, grant.role, grant.invite_token_id) == (
        record.id,
        Role.PARTICIPANT,
        None,
    )

    # The personal link carries R.'s invite, so R. is recognised in every session.
    personal_url = await copy_link(page, created, "Personal invite link: R.")
    assert personal_url == served["personal_invites"][0]["url"]
    personal = grant_of(circle_server, personal_url)
    assert personal.role == Role.PARTICIPANT and personal.invite_token_id == invite.token_id

    facilitator_url = await copy_link(page, created, "Facilitator link (yours; keep it private)")
    assert grant_of(circle_server, facilitator_url).facilitator_id == "f_dana"
    opener = created.get_by_role("link", name="Open as facilitator")
    assert await opener.get_attribute("href") == facilitator_url

    # The sessions list: group, start in the viewer's zone, status; links and audit log.
    item = page.locator("li.session").filter(
        has=page.get_by_role("heading", name="Tuesday IOP, week 3")
    )
    await expect(item).to_have_count(1)
    await expect(item.locator(".facts")).to_contain_text("Tuesday IOP")
    await expect(item.locator(".facts")).to_contain_text("6:00 PM GMT+5:30")
    await expect(item.locator(".status")).to_have_text("Scheduled")
    links_button = item.get_by_role("button", name="Links")
    await links_button.click()
    await expect(links_button).to_have_attribute("aria-expanded", "true")
    await expect(item.locator(".link-row")).to_have_count(4)
    assert await copy_link(page, item, "Co-facilitator link") == served["cofacilitator_url"]

    await item.get_by_role("button", name="Audit log").click()
    await expect(item.get_by_text("No actions yet.")).to_be_visible()
    await store.append_audit(
        AuditEntry(record.id, "p_1", "participant", "mute_all", None, {}, time.time(), "forbidden")
    )
    await item.get_by_role("button", name="Refresh").click()
    rows = item.locator("table.audit tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("p_1 (participant)")  # no name known: the id
    await expect(rows.first).to_contain_text("mute_all")
    await expect(rows.first).to_contain_text("forbidden")
    # with the session's record, people by the names the leader saw, ids beside them
    people = [("p_1", "Sam Lee", "participant"), ("p_2", "Dana", "facilitator")]
    summary = {
        "schema": "circle.summary/1",
        "participants": [{"id": i, "name": n, "role": r} for i, n, r in people],
    }
    await store.put_summary(SummaryRecord(record.id, record.group_id, summary, time.time(), False))
    await store.append_audit(
        AuditEntry(record.id, "p_2", "facilitator", "mute", "p_1", {}, time.time(), "ok")
    )
    await item.get_by_role("button", name="Refresh").click()
    await expect(rows).to_have_count(2)  # newest first
    await expect(rows.first.locator("td").nth(1)).to_have_text("Dana (facilitator) p_2")
    await expect(rows.first.locator("td").nth(3)).to_have_text("Sam Lee (participant) p_1")
    await expect(rows.last.locator("td").nth(1)).to_have_text("Sam Lee (participant) p_1")

    # Revoking an invite (after confirming) marks it and drops its link from the session.
    await group_card.get_by_label("Label for a new personal invite").fill("S.")
    await group_card.get_by_role("button", name="Add invite").click()
    await expect(group_card.locator(".invite-label")).to_have_text(["R.", "S."])
    await expect(created.locator(".link-row")).to_have_count(5)

    async def accept(dialog: Dialog) -> None:
        assert "Revoke the personal invite for S." in dialog.message
        await dialog.accept()

    page.once("dialog", accept)
    await (
        group_card.locator(".invite")
        .filter(has_text="S.")
        .get_by_role("button", name="Revoke")
        .click()
    )
    await expect(group_card.locator(".invite.revoked")).to_contain_text("Revoked")
    await expect(created.locator(".link-row")).to_have_count(4)

    if SCREENSHOT:
        await page.screenshot(path=SCREENSHOT, full_page=True)
    assert watched.exceptions == [] and watched.console_errors == []

    # Sign out; signing in again ignores a `next` that leaves the site.
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{base}/signin")
    await page.goto(f"{base}/signin?next=//elsewhere.example/console")
    await sign_in(page)
    await page.wait_for_url(f"{base}/console")
    await expect(page.locator("body[data-ready='true']")).to_have_count(1)
    await page.goto(f"{base}/signin")
    await expect(page.get_by_role("link", name="Go to the facilitator console")).to_be_visible()
    assert watched.exceptions == []
    await watched.context.close()
