"""The summary and group pages in real headless Chromium.

After a real session (a facilitator, two members with personal invites and a guest on the
general link, all bots sending media; made through the API with the facilitator's cookie): the
page while it runs ("in progress", refreshing) and once ended; every participant's row, the
charts drawn, CSV and JSON downloads, who may read it, deleting it; the group's page with the
members' sparklines. Then both pages with a richer summary (breakout rooms, poor connections,
speaking not measured) and four weeks of trends, served in place of the API.

Chromium must be installed at /usr/bin/chromium; without it these tests fail (they never skip).
"""

from __future__ import annotations

import asyncio
import copy
import csv
import io
import json
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, Dialog, Page, Route, expect

from server import accounts
from server.bot.client import Bot
from server.bot.media import EncodedMedia
from server.store import Facilitator
from server.web import STORE
from tests.browser.helpers import wait_for
from tests.conftest import RunningServer, until

PASSWORD = "a long enough passphrase"
GOLDEN = Path(__file__).parent.parent / "rooms" / "golden" / "summary_trace.json"
# Set to a directory to save screenshots of both pages (live and rich, and the summary printed).
SCREENSHOTS = os.environ.get("CIRCLE_REPORT_SCREENSHOTS")
PUBLISH_S = 6.0

CHARTS_DRAWN = (
    "['share-chart', 'timeline-chart', 'quality-chart'].every((id) => {"
    " const c = document.getElementById(id);"
    " return c && c.width > 0 && c.height > 0 && Chart.getChart(c) !== undefined; })"
)
SPARKS_DRAWN = (
    "(n) => { const cs = [...document.querySelectorAll('#trends .spark canvas')];"
    " return cs.length === n && cs.every((c) => c.width > 0 && Chart.getChart(c)); }"
)


# -- helpers ---------------------------------------------------------------------------------


async def add_facilitator(server: RunningServer, fid: str, email: str, name: str) -> None:
    password_hash = accounts.hash_password(PASSWORD)
    await server.app[STORE].add_facilitator(
        Facilitator(fid, email, password_hash, name, "LCSW", time.time())
    )


class Api:
    """The REST API as one signed-in facilitator (or nobody), over real HTTP."""

    def __init__(self, http: aiohttp.ClientSession, base: str, cookie: str | None) -> None:
        self.http, self.base, self.cookie = http, base, cookie

    @classmethod
    async def sign_in(cls, http: aiohttp.ClientSession, base: str, email: str) -> Api:
        body = {"email": email, "password": PASSWORD}
        async with http.post(f"{base}/api/auth/signin", json=body) as response:
            assert response.status == 200, await response.text()
            return cls(http, base, response.cookies[accounts.COOKIE_NAME].value)

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Cookie": f"{accounts.COOKIE_NAME}={self.cookie}"} if self.cookie else {}
        async with self.http.request(
            method, self.base + path, json=body, headers=headers
        ) as response:
            text = await response.text()
            is_json = response.content_type == "application/json"
            return response.status, json.loads(text) if is_json else text


async def page_of(browser: Browser) -> tuple[BrowserContext, Page, list[str]]:
    """A page whose uncaught exceptions and console errors are collected."""
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-US", accept_downloads=True
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"exception: {exc}"))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return context, page, errors


async def shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/{name}.png", full_page=True)


async def chart_data(page: Page, canvas_id: str) -> Any:
    return await page.evaluate(
        "(id) => { const c = Chart.getChart(document.getElementById(id));"
        " return {labels: c.data.labels, legend: c.legend ? c.legend.legendItems.map((i) => i.text)"
        " : [], datasets: c.data.datasets.map((d) => ({label: d.label, n: d.data.length}))}; }",
        canvas_id,
    )


# -- after a real session --------------------------------------------------------------------


@pytest.mark.usefixtures("loopback_ice")
async def test_summary_and_group_pages_after_a_real_session(
    circle_server: RunningServer,
    browser: Browser,
    small_media: EncodedMedia,
) -> None:
    base = circle_server.base_url
    await add_facilitator(circle_server, "f_dana", "dana@example.org", "Dana")
    await add_facilitator(circle_server, "f_eve", "eve@example.org", "Eve")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        dana = await Api.sign_in(http, base, "dana@example.org")
        eve = await Api.sign_in(http, base, "eve@example.org")
        status, group = await dana.call("POST", "/api/groups", {"name": "Tuesday IOP"})
        assert status == 201, group
        gid = group["id"]
        for label in ("Ana", "Bo"):
            status, invite = await dana.call("POST", f"/api/groups/{gid}/invites", {"label": label})
            assert status == 201, invite
        status, created = await dana.call(
            "POST", "/api/sessions", {"title": "Week 3", "group_id": gid, "waiting_room": False}
        )
        assert status == 201, created
        sid = created["session_id"]
        personal = {i["label"]: i["url"] for i in created["personal_invites"]}
        bots = [
            Bot(created["facilitator_url"], "Dana", None, subscribe=False, cookie=dana.cookie),
            Bot(personal["Ana"], "Ana", small_media, subscribe=False),
            Bot(personal["Bo"], "Bo", small_media, subscribe=False),
            Bot(created["invite_url"], "Cy", small_media, subscribe=False),  # no personal invite
        ]
        context, page, errors = await page_of(browser)
        try:
            for bot in bots:
                await bot.start()
            started = time.monotonic()

            # Signed out, the page sends the browser to sign in, which sends it back.
            summary_url = f"{base}/sessions/{sid}/summary"
            await page.goto(summary_url)
            next_page = quote(f"/sessions/{sid}/summary", safe="")
            await page.wait_for_url(f"{base}/signin?next={next_page}")
            await page.get_by_label("Email").fill("dana@example.org")
            await page.get_by_label("Password").fill(PASSWORD)
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(summary_url)
            errors.clear()  # the 401 before signing in is expected

            # While it runs: in progress, every person already there.
            await wait_for(page, "document.querySelectorAll('#people tbody tr').length === 4", "4")
            await expect(page.locator("#progress")).to_be_visible()
            await expect(page.locator("#progress")).to_contain_text("In progress")

            await asyncio.sleep(max(0.0, PUBLISH_S - (time.monotonic() - started)))
            await bots[0].request("control", {"action": "end"})
            await until(lambda: sid not in circle_server.live.sessions, 5, "the end")
        finally:
            for bot in bots:
                await bot.close()

        # The page refreshes itself (every 10 s) and shows the final summary.
        await expect(page.locator("#progress")).to_be_hidden(timeout=15000)
        await wait_for(page, CHARTS_DRAWN, "the three charts")
        rows = await page.locator("#people tbody th[scope=row]").all_inner_texts()
        assert sorted(rows) == ["Ana", "Bo", "Cy", "Dana"]
        await expect(page.locator("h1")).to_have_text("Week 3: session summary")
        await expect(page.locator("#facts")).to_contain_text("led by Dana, LCSW")
        headers = await page.locator("#people thead th").all_inner_texts()
        assert headers[:6] == ["Name", "Role", "Present", "Speaking", "Share %", "Turns"]
        assert await page.locator("#people thead th[scope=col]").count() == len(headers)
        ana = page.locator("#people tbody tr").filter(has=page.get_by_text("Ana", exact=True))
        assert "participant" in await ana.inner_text()
        share_label = await page.locator("#share-chart").get_attribute("aria-label")
        assert share_label and "Ana" in share_label and "Bo" in share_label and "%" in share_label
        assert await page.locator("#share-chart").get_attribute("role") == "img"
        timeline = await chart_data(page, "timeline-chart")
        assert sorted(timeline["labels"]) == ["Ana", "Bo", "Cy", "Dana"]
        assert "Present" in [d["label"] for d in timeline["datasets"]]
        quality = await chart_data(page, "quality-chart")
        assert quality["legend"] == ["excellent", "good", "poor", "lost"]
        assert {"Ana sending", "Bo sending", "Cy sending"} <= set(quality["labels"])

        # CSV: one row per participant, fetched with the page's own cookie.
        link = page.get_by_role("link", name="Download CSV")
        assert await link.get_attribute("href") == f"/api/sessions/{sid}/summary?format=csv"
        csv_text = await page.evaluate(
            "fetch(document.getElementById('csv').href).then(r => r.text())"
        )
        table = list(csv.DictReader(io.StringIO(csv_text)))
        assert sorted(r["name"] for r in table) == ["Ana", "Bo", "Cy", "Dana"]
        invited = {r["name"] for r in table if r["invite_id"]}
        assert invited == {"Ana", "Bo"}
        # JSON: the summary the page shows, as a file named after the session.
        async with page.expect_download() as download_info:
            await page.get_by_role("button", name="Download JSON").click()
        download = await download_info.value
        assert download.suggested_filename == f"circle-{sid}.json"
        saved = json.loads(await asyncio.to_thread(Path(await download.path()).read_text))
        assert saved["schema"] == "circle.summary/1" and saved["session"]["id"] == sid
        assert saved["in_progress"] is False and len(saved["participants"]) == 4
        await shot(page, "summary")

        # Who may read it: not a participant's link, not another facilitator.
        status, _ = await Api(http, base, None).call("GET", f"/api/sessions/{sid}/summary")
        assert status == 401
        token = personal["Ana"].split("#t=")[1]
        async with http.get(
            f"{base}/api/sessions/{sid}/summary", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.status == 401
        status, body = await eve.call("GET", f"/api/sessions/{sid}/summary")
        assert status == 404 and body["error"] == "not_found"
        status, _ = await eve.call("GET", f"/api/groups/{gid}/trends")
        assert status == 404

        # The group page: the two members with personal invites, not the guest.
        await page.goto(f"{base}/groups/{gid}")
        await wait_for(page, "document.querySelectorAll('#trends tr.member').length === 2", "2")
        members = await page.locator("#trends tr.member th").all_inner_texts()
        assert sorted(m.splitlines()[0] for m in members) == ["Ana", "Bo"]
        await wait_for(page, f"({SPARKS_DRAWN})(10)", "ten sparklines")
        session_link = page.get_by_role("link", name="Week 3")
        assert await session_link.get_attribute("href") == f"/sessions/{sid}/summary"
        await expect(page.locator("#trends tr.member").first).to_contain_text("latest")
        await shot(page, "group")

        # Deleting: a cancelled confirm keeps everything; an accepted one deletes it.
        await page.goto(summary_url)
        await wait_for(page, CHARTS_DRAWN, "the charts again")
        dialogs: list[str] = []

        async def answer(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            await (dialog.dismiss() if len(dialogs) == 1 else dialog.accept())

        page.on("dialog", answer)
        delete = page.get_by_role("button", name="Delete this session's data")
        await delete.click()
        await until(lambda: len(dialogs) == 1, 5, "the first confirm")
        status, _ = await dana.call("GET", f"/api/sessions/{sid}/summary")
        assert status == 200
        await delete.click()
        await expect(page.locator("#status")).to_have_text("This session's data was deleted.")
        assert "Delete this session" in dialogs[1]
        await expect(page.locator("#report")).to_be_hidden()
        status, _ = await dana.call("GET", f"/api/sessions/{sid}/summary")
        assert status == 404

    assert errors == []
    await context.close()


# -- a richer summary and several weeks, served in place of the API --------------------------

T0 = 1_780_000_000.0  # the session's start (unix seconds)


def level_link(changes: list[tuple[float, str]], end: float) -> dict[str, Any]:
    seconds: dict[str, float] = {}
    for (at, level), nxt in zip(changes, [*changes[1:], (end, "")], strict=True):
        seconds[level] = seconds.get(level, 0.0) + nxt[0] - at
    timeline = [[T0 + at, level] for at, level in changes]
    return {
        "seconds_in": seconds,
        "poor_s": seconds.get("poor", 0.0),
        "lost_s": seconds.get("lost", 0.0),
        "worst": [],
        "timeline": timeline,
    }


def rich_summary() -> dict[str, Any]:
    """A 50-minute session: breakout rooms, a member with a bad connection who dropped out for
    a while, one whose speaking was not measured, alerts; the shape of the golden summary."""
    golden = json.loads(GOLDEN.read_text())
    end = 3000.0
    turns = [
        ("f", "main", 10, 70),
        ("a", "main", 75, 230),
        ("b", "main", 240, 300),
        ("a", "main", 305, 420),
        ("f", "main", 430, 480),
        ("b", "main", 490, 530),
        ("a", "b1", 1230, 1500),
        ("f", "b2", 1250, 1330),
        ("b", "b1", 1800, 1900),
        ("a", "b1", 1910, 2050),
        ("f", "main", 2150, 2250),
        ("a", "main", 2260, 2500),
        ("b", "main", 2510, 2560),
        ("f", "main", 2600, 2990),
    ]

    def person(
        pid: str,
        name: str,
        role: str,
        spans: list[tuple[float, float | None]],
        rooms: dict[str, float],
        up: list[tuple[float, str]],
        measured: bool = True,
        alerts: tuple[tuple[str, float], ...] = (),
    ) -> dict[str, Any]:
        p = copy.deepcopy(golden["participants"][0])
        mine = [(s, e) for who, _, s, e in turns if who == pid]
        spoken = sum(e - s for s, e in mine)
        total = sum(e - s for _, _, s, e in turns)
        present = sum((e if e is not None else end) - s for s, e in spans)
        invite = None if role == "facilitator" else f"i_{pid}"
        p.update(id=pid, invite_id=invite, name=name, role=role)
        p["attendance"].update(
            joined_at=T0 + spans[0][0],
            left_at=None if spans[-1][1] is None else T0 + spans[-1][1],
            joins=len(spans),
            spans=[[T0 + s, None if e is None else T0 + e] for s, e in spans],
            present_s=present,
            muted_s=present / 4,
            camera_on_s=present * 0.9,
        )
        p["speaking"] = {"measured": False}
        if measured:
            p["speaking"] = {
                "measured": True,
                "speaking_s": spoken,
                "share_pct": round(100 * spoken / total, 1),
                "turns": len(mine),
                "mean_turn_s": spoken / len(mine) if mine else None,
                "longest_turn_s": max((e - s for s, e in mine), default=0.0),
                "overlap_s": 4.0,
                "overlaps": 2,
                "interruptions": 1 if pid == "a" else 0,
                "interrupted": 1 if pid == "b" else 0,
                "longest_silence_s": 1100.0 if pid == "b" else 600.0,
            }
        p["participation"] = {
            "hand_raises": 2 if pid == "b" else 0,
            "chat_messages": 3,
            "reactions": 1,
            "help_requests": 1 if pid == "c" else 0,
        }
        names = {"main": "main", "b1": "Coping skills", "b2": "Relapse plans"}
        p["rooms"] = [{"room": r, "name": names[r], "seconds": s} for r, s in rooms.items()]
        left = spans[-1][1] if spans[-1][1] is not None else end
        p["quality"] = {"up": level_link(up, left), "down": level_link(up[:1], left)}
        p["alerts"] = [{"kind": k, "participant_id": pid, "at": T0 + at} for k, at in alerts]
        p["alert_count"] = len(alerts)
        return p

    participants = [
        person(
            "f", "Dana", "facilitator", [(0, None)], {"main": 2100, "b2": 900}, [(5, "excellent")]
        ),
        person(
            "a",
            "Ana",
            "participant",
            [(0, None)],
            {"main": 2100, "b1": 900},
            [(5, "excellent"), (1400, "good"), (1600, "excellent")],
            alerts=(("dominating", 2400),),
        ),
        person(
            "b",
            "Bo",
            "participant",
            [(120, 1500), (1700, None)],
            {"main": 1780, "b1": 600},
            [
                (125, "good"),
                (900, "poor"),
                (1000, "lost"),
                (1100, "poor"),
                (1700, "good"),
                (2200, "excellent"),
            ],
            alerts=(("connection_poor", 900), ("connection_lost", 1000)),
        ),
        person(
            "c",
            "Cy",
            "participant",
            [(60, None)],
            {"main": 2040, "b2": 900},
            [(65, "excellent"), (2000, "good")],
            measured=False,
        ),
    ]
    assert [set(p) for p in participants] == [set(golden["participants"][0])] * 4
    data = copy.deepcopy(golden)
    data.update(
        in_progress=True,
        generated_at=T0 + end,
        measuring=True,
        participants=participants,
        timeline=[
            {"participant_id": who, "room": room, "start": T0 + s, "end": T0 + e}
            for who, room, s, e in turns
        ],
        room_names={"b1": "Coping skills", "b2": "Relapse plans"},
        balance_index=0.81,
        follows={"f": {"a": 3, "b": 0}, "a": {"b": 3, "f": 2}, "b": {"a": 1, "f": 2}},
    )
    data["session"].update(
        id="s_rich",
        title="Tuesday IOP, week 4",
        started_at=T0,
        created_at=T0 - 600,
        ended_at=None,
        duration_s=end,
        facilitators=[{"name": "Dana", "credentials": "LCSW, CAC"}],
    )
    return data


def rich_trends() -> dict[str, Any]:
    weeks = [(f"s_w{i}", f"Week {i}", T0 + (i - 4) * 7 * 86400) for i in range(1, 5)]

    def points(values: list[tuple[float, float, int, float, float] | None]) -> list[Any]:
        out = []
        for (sid, title, at), v in zip(weeks, values, strict=True):
            point: dict[str, Any] = {"session_id": sid, "title": title, "started_at": at}
            point["attended"] = v is not None
            if v is not None:
                keys = ("present_s", "share_pct", "turns", "longest_silence_s")
                point.update(zip(keys, v[:4], strict=True), poor_connection_s=v[4])
            out.append(point)
        return out

    return {
        "group": {"id": "g_rich", "name": "Tuesday IOP"},
        "sessions": [
            {"session_id": s, "title": t, "started_at": at, "in_progress": s == "s_w4"}
            for s, t, at in weeks
        ],
        "participants": [
            {
                "invite_id": "i_a",
                "name": "Ana",
                "sessions": points(
                    [
                        (3000, 31.0, 6, 900, 0),
                        (3000, 38.0, 7, 700, 0),
                        (2950, 47.0, 8, 650, 0),
                        (3000, 58.0, 9, 600, 0),
                    ]
                ),
            },
            {
                "invite_id": "i_b",
                "name": "Bo",
                "sessions": points(
                    [
                        (3000, 29.0, 7, 600, 30),
                        (2400, 18.0, 4, 1000, 240),
                        None,
                        (2600, 11.0, 3, 1100, 500),
                    ]
                ),
            },
            {
                "invite_id": "i_c",
                "name": "Cy",
                "sessions": points([(3000, 24.0, 5, 800, 0), (1200, 9.0, 1, 1200, 0), None, None]),
            },
        ],
    }


async def test_pages_show_rooms_quality_unmeasured_speech_and_weeks_of_trends(
    circle_server: RunningServer, browser: Browser
) -> None:
    base = circle_server.base_url
    summary, trends = rich_summary(), rich_trends()
    context, page, errors = await page_of(browser)
    served: list[str] = []

    async def serve(route: Route) -> None:
        served.append(route.request.url)
        await route.fulfill(json=summary if "/summary" in route.request.url else trends)

    await page.route(f"{base}/api/sessions/s_rich/summary", serve)
    await page.route(f"{base}/api/groups/g_rich/trends", serve)

    await page.goto(f"{base}/sessions/s_rich/summary")
    await wait_for(page, CHARTS_DRAWN, "the three charts")
    await expect(page.locator("#progress")).to_be_visible()
    await expect(page.locator("#facts")).to_contain_text("led by Dana, LCSW, CAC")
    facts = (await page.locator("#facts").inner_text()).replace("\xa0", " ")
    assert "running for 50 min" in facts
    group_link = page.get_by_role("link", name="Group trends")
    assert await group_link.get_attribute("href") == "/groups/g_1"
    cy = page.locator("#people tbody tr").filter(has=page.get_by_text("Cy", exact=True))
    unmeasured = cy.locator("td.unmeasured")
    await expect(unmeasured).to_have_text("Not measured")
    assert await unmeasured.get_attribute("colspan") == "8"  # across the speaking columns
    bo = page.locator("#people tbody tr").filter(has=page.get_by_text("Bo", exact=True))
    bo_text = (await bo.inner_text()).replace("\xa0", " ")  # no-break: a number and its unit
    assert "sending: poor 11 min 40 s, lost 1 min 40 s" in bo_text
    assert "connection lost at 16:40" in bo_text
    rooms = await page.locator("#rooms thead th").all_inner_texts()
    assert rooms == ["Person", "Main room", "Coping skills", "Relapse plans"]
    assert await page.locator("#follows tbody tr").count() == 4
    timeline = await chart_data(page, "timeline-chart")
    labels = [d["label"] for d in timeline["datasets"]]
    assert labels == [
        "Speaking in Main room",
        "Speaking in Coping skills",
        "Speaking in Relapse plans",
        "Present",
    ]
    quality = await chart_data(page, "quality-chart")
    assert quality["legend"] == ["excellent", "good", "poor", "lost"]
    assert "Bo sending" in quality["labels"]
    share = await chart_data(page, "share-chart")
    assert share["labels"] == ["Dana", "Ana", "Bo"]  # Cy was not measured
    await shot(page, "summary-rich")
    await page.emulate_media(media="print")
    await page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    await expect(page.locator("#actions")).to_be_hidden()
    await shot(page, "summary-rich-print")
    await page.emulate_media(media="screen")

    await page.goto(f"{base}/groups/g_rich")
    await wait_for(page, f"({SPARKS_DRAWN})(15)", "fifteen sparklines")
    assert await page.locator("#sessions li").count() == 4
    await expect(page.locator("#sessions li").last).to_contain_text("in progress")
    cy_row = page.locator("#trends tr.member").filter(has=page.get_by_text("Cy", exact=True))
    await expect(cy_row).to_contain_text("came to 2 of 4")
    await expect(cy_row).to_contain_text("missed the latest")
    ana_row = page.locator("#trends tr.member").filter(has=page.get_by_text("Ana", exact=True))
    await expect(ana_row).to_contain_text("latest 58% (before: 47%)")
    await expect(cy_row).to_contain_text("latest 20 min (before: 50 min)")  # came: not zeros
    bo_present = await page.evaluate(
        "Chart.getChart(document.querySelector('tr[data-invite-id=i_b] .spark canvas'))"
        ".data.datasets[0].data"
    )
    assert bo_present == [50, 40, 0, pytest.approx(43.33, abs=0.01)]  # missed: zero
    await shot(page, "group-rich")
    assert any("/summary" in u for u in served) and any("/trends" in u for u in served)
    assert errors == []
    await context.close()


async def test_a_microphone_too_noisy_to_measure_shows_words_not_numbers(
    circle_server: RunningServer, browser: Browser
) -> None:
    base = circle_server.base_url
    summary = rich_summary()
    for p in summary["participants"]:
        if p["id"] == "b":  # as rooms/summary.py writes it: no numbers of their noise
            p["speaking"] = {"measured": True, "noisy_microphone": True}
    summary["timeline"] = [t for t in summary["timeline"] if t["participant_id"] != "b"]
    context, page, errors = await page_of(browser)

    async def serve(route: Route) -> None:
        await route.fulfill(json=summary)

    await page.route(f"{base}/api/sessions/s_rich/summary", serve)
    await page.goto(f"{base}/sessions/s_rich/summary")
    await wait_for(page, CHARTS_DRAWN, "the three charts")
    bo = page.locator("#people tbody tr").filter(has=page.get_by_text("Bo", exact=True))
    noisy = bo.locator("td.unmeasured")
    await expect(noisy).to_have_text("Microphone too noisy to measure")
    assert await noisy.get_attribute("colspan") == "8"  # across the speaking columns
    share = await chart_data(page, "share-chart")
    assert "Bo" not in share["labels"]
    assert errors == []
    await context.close()
