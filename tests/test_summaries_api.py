"""Summaries through the real server: flushed while a session runs (nothing lost if the server
stops), final at the end, JSON and CSV export, who may read them, deletion and retention."""

from __future__ import annotations

import asyncio
import copy
import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from server import accounts
from server.app import create_app
from server.bot.client import Bot
from server.bot.media import EncodedMedia
from server.store import AuditEntry, Facilitator, Group, Invite, SummaryRecord
from server.summaries_api import purge_expired
from server.web import STORE
from tests.conftest import API_KEY, RunningServer, make_settings, start_app, until

pytestmark = pytest.mark.usefixtures("loopback_ice")
KEY = {"Authorization": f"Bearer {API_KEY}"}
GOLDEN = Path(__file__).parent / "rooms" / "golden" / "summary_trace.json"


async def get(base: str, path: str) -> tuple[int, Any, str]:
    """GET with the API key: (status, JSON body or None, text)."""
    async with aiohttp.ClientSession() as http, http.get(base + path, headers=KEY) as r:
        body = await r.text()
        return r.status, (await r.json() if r.content_type == "application/json" else None), body


async def test_flushed_while_running_final_at_the_end_and_exported(
    circle_server: RunningServer, small_media: EncodedMedia
) -> None:
    store = circle_server.app[STORE]
    await store.add_group(Group("g_1", "Tuesday IOP", "f_x", ("f_x",), time.time()))
    await store.add_invite(Invite("i_ana", "g_1", "Ana", "it_ana", time.time()))
    session = await circle_server.create_session("Week 3", group_id="g_1")
    sid = session["session_id"]
    lead = Bot(session["facilitator_url"], "Lead", None, subscribe=False)
    ana = Bot(session["personal_invites"][0]["url"], "Ana", small_media, subscribe=False)
    ben = Bot(session["invite_url"], "Ben", small_media, subscribe=False)
    try:
        for bot in (lead, ana, ben):
            await bot.start()
        await asyncio.sleep(6.5)  # one flush at least
        stored = await store.get_summary(sid)
        assert stored is not None and stored.final is False
        assert stored.data["in_progress"] is True
        names = {p["name"] for p in stored.data["participants"]}
        assert names == {"Lead", "Ana", "Ben"}
        assert max(p["attendance"]["present_s"] for p in stored.data["participants"]) >= 1.0
        status, live, _ = await get(circle_server.base_url, f"/api/sessions/{sid}/summary")
        assert status == 200 and live["in_progress"] is True

        await lead.request("control", {"action": "end"})
        await until(lambda: sid not in circle_server.live.sessions, 5, "the session closes")
    finally:
        for bot in (lead, ana, ben):
            await bot.close()
    final = await store.get_summary(sid)
    assert final is not None and final.final is True and final.data["in_progress"] is False
    people = {p["name"]: p for p in final.data["participants"]}
    assert people["Ana"]["invite_id"] == "i_ana" and people["Ben"]["invite_id"] is None
    assert people["Ana"]["speaking"]["speaking_s"] > 0  # the clip speaks in bursts
    assert final.data["session"]["ended_at"] is not None

    status, data, _ = await get(circle_server.base_url, f"/api/sessions/{sid}/summary")
    assert status == 200 and data == final.data
    status, _, text = await get(circle_server.base_url, f"/api/sessions/{sid}/summary?format=csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert status == 200 and sorted(r["name"] for r in rows) == ["Ana", "Ben", "Lead"]
    assert (await get(circle_server.base_url, f"/api/sessions/{sid}/summary?format=xml"))[0] == 400
    status, trends, _ = await get(circle_server.base_url, "/api/groups/g_1/trends")
    assert [p["name"] for p in trends["participants"]] == ["Ana"]


async def test_nothing_measured_is_lost_when_the_server_stops(
    tmp_path: Path, small_media: EncodedMedia
) -> None:
    settings = make_settings(tmp_path)
    base = f"http://{settings.host}:{settings.port}"

    async def serve() -> web.AppRunner:
        return await start_app(create_app(settings), settings)

    runner = await serve()
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{base}/api/sessions", json={"title": "T", "waiting_room": False}, headers=KEY
        ) as r,
    ):
        session = await r.json()
    bot = Bot(session["invite_url"], "Ana", small_media, subscribe=False)
    await bot.start()
    await asyncio.sleep(6.0)
    await runner.cleanup()  # the server stops mid-session
    await bot.close()
    runner = await serve()  # and starts again on the same data directory
    try:
        status, data, _ = await get(base, f"/api/sessions/{session['session_id']}/summary")
        assert status == 200 and data["in_progress"] is True
        [ana] = data["participants"]
        assert ana["attendance"]["present_s"] >= 5.0  # at most the last seconds are missing
    finally:
        await runner.cleanup()


async def test_only_the_groups_leaders_read_and_delete(circle_server: RunningServer) -> None:
    store = circle_server.app[STORE]
    now = time.time()
    for fid in ("f_dana", "f_sam"):
        await store.add_facilitator(
            Facilitator(fid, f"{fid}@x.org", accounts.hash_password("x" * 12), fid, "", now)
        )
    await store.add_group(Group("g_1", "IOP", "f_dana", ("f_dana",), now))
    session = await circle_server.create_session("Week 1", group_id="g_1")
    sid = session["session_id"]
    await store.put_summary(
        SummaryRecord(sid, "g_1", {"schema": "circle.summary/1", "participants": []}, now, True)
    )
    secret = circle_server.settings.secret
    base = circle_server.base_url

    def cookie(fid: str) -> dict[str, str]:
        return {accounts.COOKIE_NAME: accounts.issue_cookie(secret, fid, now)}

    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(f"{base}/api/sessions/{sid}/summary") as r:
            assert r.status == 401  # a participant's browser has no facilitator cookie
        participant_token = session["invite_url"].split("#t=")[1]
        async with anonymous.get(
            f"{base}/api/sessions/{sid}/summary",
            headers={"Authorization": f"Bearer {participant_token}"},
        ) as r:
            assert r.status == 401  # nor does their link's token open anything here
    jar = {"cookie_jar": aiohttp.CookieJar(unsafe=True)}
    async with aiohttp.ClientSession(cookies=cookie("f_sam"), **jar) as sam:
        async with sam.get(f"{base}/api/sessions/{sid}/summary") as r:
            assert r.status == 404
        async with sam.delete(f"{base}/api/sessions/{sid}", json={}) as r:
            assert r.status == 404
        async with sam.get(f"{base}/api/groups/g_1/trends") as r:
            assert r.status == 404
    assert await store.get_summary(sid) is not None
    async with aiohttp.ClientSession(cookies=cookie("f_dana"), **jar) as dana:
        async with dana.get(f"{base}/api/sessions/{sid}/summary") as r:
            assert r.status == 200
        async with dana.delete(f"{base}/api/sessions/{sid}", json={}) as r:
            assert (r.status, (await r.json())["ok"]) == (200, True)
        async with dana.get(f"{base}/api/sessions/{sid}/summary") as r:
            assert r.status == 404
    assert await store.get_summary(sid) is None and await store.get_session(sid) is None
    [deletion] = await store.deletions()
    assert (deletion.session_id, deletion.by, deletion.reason) == (sid, "f_dana", "deleted")


async def test_retention_purges_old_summaries_with_a_fake_clock(
    circle_server: RunningServer,
) -> None:
    store = circle_server.app[STORE]
    day = 86400.0
    now = 1_900_000_000.0
    for sid, age_days in (("s_old", 91), ("s_new", 89)):
        await store.put_summary(
            SummaryRecord(sid, None, {"schema": "circle.summary/1"}, now - age_days * day, True)
        )
    assert await purge_expired(circle_server.app, now) == ["s_old"]
    assert await store.get_summary("s_old") is None and await store.get_summary("s_new") is not None
    [deletion] = await store.deletions()
    assert (deletion.session_id, deletion.by, deletion.reason) == (
        "s_old",
        "retention",
        "retention",
    )


async def test_exports_name_people_as_the_leader_saw_them_with_times_in_the_sessions_zone(
    circle_server: RunningServer,
) -> None:
    store, base = circle_server.app[STORE], circle_server.base_url
    now = time.time()
    dana = Facilitator("f_dana", "dana@x.org", accounts.hash_password("x" * 12), "Dana", "", now)
    await store.add_facilitator(dana)
    await store.add_group(Group("g_1", "Tuesday IOP", "f_dana", ("f_dana",), now - 100))
    for invite_id, label in (("i_a", "Ana Lopez"), ("i_b", "Bo Chen"), ("i_c", "Cy Moss")):
        await store.add_invite(Invite(invite_id, "g_1", label, "it_" + invite_id, now - 60))
    session = await circle_server.create_session(
        "Week 3", group_id="g_1", scheduled_start="2026-12-07T15:00:00-05:00"
    )
    sid = session["session_id"]
    # a finished session's summary (the golden trace: F leads, A and B came with invites i_a, i_b)
    data = copy.deepcopy(json.loads(GOLDEN.read_text()))
    data["session"].update(id=sid, group_id="g_1", created_at=now)
    for p in data["participants"]:
        p["attendance"]["joined_at"] = 1_796_675_537.06  # 2026-12-07 20:32:17 UTC
    await store.put_summary(SummaryRecord(sid, "g_1", data, now, True))

    status, _, text = await get(base, f"/api/sessions/{sid}/summary?format=csv")
    rows = {r["participant_id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert status == 200
    assert rows["a"]["joined_at"] == "2026-12-07T15:32:17-05:00"  # the session's zone
    assert (rows["a"]["invite"], rows["a"]["invite_id"]) == ("Ana Lopez", "i_a")
    assert (rows["b"]["invite"], rows["f"]["invite"]) == ("Bo Chen", "")

    # the trends list every invited member: one who never came is all absences
    status, trends, _ = await get(base, "/api/groups/g_1/trends")
    people = {p["invite_id"]: p for p in trends["participants"]}
    assert status == 200 and set(people) == {"i_a", "i_b", "i_c"}
    assert (people["i_c"]["label"], people["i_c"]["name"]) == ("Cy Moss", None)
    assert [pt["attended"] for pt in people["i_c"]["sessions"]] == [False]

    # the audit log: ids kept, with the names and roles the leader saw
    for entry in (
        AuditEntry(sid, "f", "facilitator", "mute", "a", {}, now, "ok"),
        AuditEntry(sid, "f_dana", "leader", "replace_link", None, {}, now + 1, "ok"),
        AuditEntry(sid, "p_gone", "participant", "chat", None, {}, now + 2, "invalid"),
    ):
        await store.append_audit(entry)
    status, audit, _ = await get(base, f"/api/sessions/{sid}/audit")
    mute, link, chat = audit["entries"]
    assert status == 200
    assert (mute["actor_id"], mute["actor_name"], mute["actor_role"]) == ("f", "F", "facilitator")
    assert (mute["target_id"], mute["target_name"], mute["target_role"]) == (
        "a",
        "A",
        "participant",
    )
    assert (link["actor_name"], link["target_name"], link["target_role"]) == ("Dana", None, None)
    assert chat["actor_name"] is None  # nobody by that id in the record: the id alone
