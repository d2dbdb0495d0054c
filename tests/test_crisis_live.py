"""Crisis readiness over real sockets: the safety check reaches only the leader who asks (never
another participant or another session's facilitator), each look is audited, a crisis response
hands the group to the co-facilitator, a drop alerts the leaders, the return lands in the same
1:1, the record is exported to the group's leaders only, and the safety check is gone when the
session ends (kept only in the crisis record). Nothing of it is ever logged."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.store import Group, Invite
from server.web import STORE
from tests.clients import Client, call, cookie_of, group_session, signed_in, token_of
from tests.conftest import API_KEY, RunningServer, serve, until

WHERE, CONTACT, PHONE = "4 Quiet Lane, Leeds", "Robin Vale", "+44 113 496 0000"
SAFETY = {"location": WHERE, "contact_name": CONTACT, "contact_phone": PHONE}


async def connected(server: RunningServer, url: str) -> Client:
    client = Client()
    await client.connect(server, {"token": token_of(url)})
    return client


def got(client: Client, event: str) -> list[Any]:
    return [data for name, data in client.events if name == event]


def heard(client: Client) -> str:
    return json.dumps(client.events, default=str)


async def test_safety_info_privacy_and_a_crisis_response_end_to_end(
    circle_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    a = await circle_server.create_session("Group A")
    b = await circle_server.create_session("Group B")
    lead, co, pat, other, lead_b = [
        await connected(circle_server, url)
        for url in (
            a["facilitator_url"],
            a["cofacilitator_url"],
            a["invite_url"],
            a["invite_url"],
            b["facilitator_url"],
        )
    ]
    again = Client()
    try:
        await lead.call("join", {"name": "Fran"})
        # a co-lead link with no account knocks: the facilitator lets the co-lead in
        cas = (await co.call("join", {"name": "Cas"}))["participant_id"]
        assert (await lead.call("control", {"action": "admit", "target": cas}))["ok"]
        await until(lambda: got(co, "admitted"), 3, "Cas is admitted")
        await lead_b.call("join", {"name": "Bo"})
        bad = await pat.call("join", {"name": "Pat", "safety": {"location": WHERE, "x": 1}})
        assert bad["error"] == "invalid"
        bad = await pat.call("join", {"name": "Pat", "safety": {**SAFETY, "contact_phone": "<b>"}})
        assert bad["error"] == "invalid"
        joined = await pat.call("join", {"name": "Pat", "safety": SAFETY})
        pid = joined["participant_id"]
        await other.call("join", {"name": "Olly", "safety": {"location": "Leeds"}})

        # the privacy matrix: only the leader who asks receives it
        assert (await other.call("control", {"action": "safety_view", "target": pid}))[
            "error"
        ] == "forbidden"
        assert (await pat.call("control", {"action": "safety_view", "target": pid}))[
            "error"
        ] == "forbidden"
        assert (await lead_b.call("control", {"action": "safety_view", "target": pid}))[
            "error"
        ] == "not_found"  # not in their session
        assert (await lead.call("control", {"action": "safety_view", "target": pid}))["ok"]
        await until(lambda: got(lead, "safety_info"), 3, "the lead sees the safety check")
        info = got(lead, "safety_info")[0]
        assert (info["location"], info["contact_name"], info["contact_phone"]) == (
            WHERE,
            CONTACT,
            PHONE,
        )
        assert info["regions"] == ["GB"]
        assert (await co.call("control", {"action": "safety_view", "target": pid}))["ok"]
        await until(lambda: got(co, "safety_info"), 3, "the co-facilitator sees it on asking")

        # one click: a 1:1 with the lead, the group to the co-facilitator
        assert (await lead.call("control", {"action": "crisis_start", "target": pid}))["ok"]
        await until(lambda: got(co, "group_handed_over"), 3, "the co-facilitator leads")
        assert got(co, "group_handed_over")[0]["message"] == "You are now leading the group"
        await until(lambda: len(got(lead, "safety_info")) == 2, 3, "the lead sees where")
        live = circle_server.live.sessions[a["session_id"]]
        assert live.session.participants[pid].room_id == f"private-{pid}"
        note = {"action": "crisis_note", "target": pid, "kind": "called_emergency"}
        assert (await lead.call("control", note))["ok"]

        # a drop: the leaders are alerted at once with where and whom
        await pat.sio.disconnect()
        await until(lambda: got(co, "crisis_alert"), 3, "the alert")
        for leader in (lead, co):
            alert = got(leader, "crisis_alert")[0]
            assert (alert["participant_id"], alert["kind"]) == (pid, "dropped")
            assert (alert["location"], alert["contact_phone"]) == (WHERE, PHONE)
        # the return: the same person, in the same 1:1
        await again.connect(circle_server, {"token": token_of(a["invite_url"])})
        key = joined["rejoin_key"]
        back = await again.call("join", {"name": "Pat", "rejoin_key": key, "safety": SAFETY})
        assert back["resumed"] is True and back["participant_id"] == pid
        assert back["me"]["room"] == f"private-{pid}"
        end = {"action": "crisis_end", "target": pid, "note": "Safe with family"}
        assert (await lead.call("control", end))["ok"]
        await until(lambda: got(co, "crisis_updated")[-1]["ended_at"], 3, "the end")
        kinds = [x["kind"] for x in got(co, "crisis_updated")[-1]["actions"]]
        assert kinds == [
            "started",
            "group_handed_over",
            "called_emergency",
            "dropped",
            "returned",
            "resolved",
        ]

        # the group and the other session heard nothing of it
        for outsider in (other, lead_b):
            text = heard(outsider)
            assert WHERE not in text and PHONE not in text and CONTACT not in text
            assert not {"crisis_updated", "crisis_alert", "safety_info", "group_handed_over"} & {
                name for name, _ in outsider.events
            }
        assert WHERE not in heard(pat) + heard(again)  # nor the person, of themselves

        # audited: who viewed whose safety information, when
        store = circle_server.app[STORE]
        audit = await store.audit_of_session(a["session_id"])
        views = [(e.actor_id, e.target_id, e.outcome) for e in audit if e.action == "safety_view"]
        lead_id = next(p.id for p in live.session.participants.values() if p.role == "facilitator")
        assert (lead_id, pid, "ok") in views
        assert sum(outcome == "forbidden" for _, _, outcome in views) == 2
        assert all(WHERE not in json.dumps(e.detail) for e in audit)

        # the record: exported to the group's leaders (here the API key) only
        url = f"{circle_server.base_url}/api/sessions/{a['session_id']}/crises"
        key = {"Authorization": f"Bearer {API_KEY}"}
        async with aiohttp.ClientSession() as http:
            async with http.get(url, headers=key) as r:
                assert r.status == 200
                [record] = (await r.json())["crises"]
            async with http.get(url + "?format=csv", headers=key) as r:
                csv_text = await r.text()
            async with http.get(url) as r:
                assert r.status == 401
        assert record["participant"]["name"] == "Pat" and record["safety"]["location"] == WHERE
        assert record["actions"][-1]["note"] == "Safe with family"
        assert "called_emergency" in csv_text and WHERE in csv_text
        stranger = await signed_in(circle_server, "fac-z", "z@example.org")
        async with stranger, stranger.get(url) as r:
            assert r.status == 404  # not a leader of the group

        # the session ends: the safety checks go; only the crisis record keeps one
        state = await store.get_live_state(a["session_id"])
        assert state is not None and WHERE not in json.dumps(state)
        assert (await lead.call("control", {"action": "end"}))["ok"]
        await until(lambda: a["session_id"] not in circle_server.live.sessions, 5, "finished")
        assert live.session.safety == {}
        summary = await store.get_summary(a["session_id"])
        assert summary is not None and WHERE not in json.dumps(summary.data)
        assert await store.get_live_state(a["session_id"]) is None
        assert len(await store.crises_of_session(a["session_id"])) == 1
    finally:
        for client in (lead, co, pat, other, lead_b, again):
            if client.sio.connected:
                await client.sio.disconnect()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (WHERE, CONTACT, PHONE, "Safe with family"):
        assert secret not in logged


async def test_no_safety_check_when_the_session_does_not_ask(circle_server: RunningServer) -> None:
    session = await circle_server.create_session(safety_check=False)
    pat = await connected(circle_server, session["invite_url"])
    try:
        await pat.call("join", {"name": "Pat", "safety": SAFETY})
        live = circle_server.live.sessions[session["session_id"]]
        assert live.session.safety == {}
    finally:
        await pat.sio.disconnect()


async def test_a_member_leaves_with_the_next_session_and_help_lines_for_their_place(
    circle_server: RunningServer,
) -> None:
    """As the session ends, each member (only they) is told the group's next session and the
    help lines for where they said they were; a member who gave no place gets every region's."""
    dana, session = await group_session(circle_server, waiting_room=False)
    next_week = datetime.fromtimestamp(time.time() + 7 * 86400, timezone(timedelta(hours=-5)))
    start = next_week.replace(microsecond=0).isoformat()
    later = {
        "title": "Tuesday, next week",
        "group_id": session["group_id"],
        "scheduled_start": start,
    }
    status, _ = await call(dana, "POST", f"{circle_server.base_url}/api/sessions", later)
    assert status == 201
    lead = Client()
    await lead.connect(
        circle_server,
        {"token": token_of(session["facilitator_url"])},
        cookie_of(circle_server, dana),
    )
    sam, ana = [await connected(circle_server, session["invite_url"]) for _ in range(2)]
    try:
        await lead.call("join", {"name": "Dana"})
        await sam.call("join", {"name": "Sam", "safety": {**SAFETY, "location": "Austin, TX"}})
        await ana.call("join", {"name": "Ana"})
        assert (await lead.call("control", {"action": "end"}))["ok"]
        await until(lambda: got(sam, "after_session") and got(ana, "after_session"), 5, "told")
        mine = got(sam, "after_session")[0]
        assert mine["next_session"] == {"title": "Tuesday, next week", "scheduled_start": start}
        assert [r["code"] for r in mine["help_lines"]] == ["US"]
        assert len(got(ana, "after_session")[0]["help_lines"]) > 1  # no place given: all
        assert got(lead, "after_session") == []
        assert "Austin" not in heard(ana)
    finally:
        for client in (lead, sam, ana):
            await client.sio.disconnect()
        await dana.close()


async def crises(server: RunningServer, session_id: str, fmt: str = "json") -> Any:
    url = f"{server.base_url}/api/sessions/{session_id}/crises?format={fmt}"
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers={"Authorization": f"Bearer {API_KEY}"}) as r,
    ):
        assert r.status == 200
        return await r.json() if fmt == "json" else await r.text()


async def test_the_record_keeps_the_safety_answers_of_a_person_who_left_before_the_end(
    circle_server: RunningServer,
) -> None:
    store = circle_server.app[STORE]
    now = time.time()
    await store.add_group(Group("g_1", "Tuesday IOP", "f_x", ("f_x",), now))
    await store.add_invite(Invite("i_pat", "g_1", "Patricia Moss", "it_pat", now))
    session = await circle_server.create_session(
        "Week 3", group_id="g_1", scheduled_start="2026-12-07T15:00:00-05:00"
    )
    sid = session["session_id"]
    lead = await connected(circle_server, session["facilitator_url"])
    pat = await connected(circle_server, session["personal_invites"][0]["url"])
    try:
        await lead.call("join", {"name": "Fran"})
        pid = (await pat.call("join", {"name": "Pat", "safety": SAFETY}))["participant_id"]
        assert (await lead.call("control", {"action": "crisis_start", "target": pid}))["ok"]
        end = {"action": "crisis_end", "target": pid, "note": "Safe with family"}
        assert (await lead.call("control", end))["ok"]
        assert (await pat.call("leave", {}))["ok"]  # they go home; the session goes on
        assert (await lead.call("control", {"action": "end"}))["ok"]
        await until(lambda: sid not in circle_server.live.sessions, 5, "finished")
    finally:
        for client in (lead, pat):
            if client.sio.connected:
                await client.sio.disconnect()
    [record] = (await crises(circle_server, sid))["crises"]
    assert record["safety"]["location"] == WHERE  # as it was, never null
    assert record["participant"]["invite_id"] == "i_pat"
    rows = list(csv.DictReader(io.StringIO(await crises(circle_server, sid, "csv"))))
    # as the leader saw them: the name they used and the invite that brought them
    assert {(r["participant"], r["invite"], r["participant_id"]) for r in rows} == {
        ("Pat", "Patricia Moss", pid)
    }
    assert {r["location"] for r in rows} == {WHERE}
    assert all(r["action_at"].endswith("-05:00") for r in rows)  # the session's zone


async def test_a_restart_keeps_the_safety_answers_of_a_running_crisis_response(
    tmp_path: Path,
) -> None:
    """The server stops mid-response and starts again; nobody's page sends the answers again
    (the person never comes back): the record, and what the leaders see, keep them."""
    async with serve(tmp_path, reconnect_grace_s=1.0) as first:
        session = await first.create_session("Week 3")
        sid = session["session_id"]
        lead = await connected(first, session["facilitator_url"])
        pat = await connected(first, session["invite_url"])
        await lead.call("join", {"name": "Fran"})
        pid = (await pat.call("join", {"name": "Pat", "safety": SAFETY}))["participant_id"]
        assert (await lead.call("control", {"action": "crisis_start", "target": pid}))["ok"]
        for client in (lead, pat):
            await client.sio.disconnect()
    async with serve(tmp_path, reconnect_grace_s=1.0, port=first.settings.port) as second:
        live = second.live.sessions[sid]
        assert live.session.safety[pid].location == WHERE  # the leaders still see where

        async def left() -> bool:
            [record] = (await crises(second, sid))["crises"]
            return "left" in [a["kind"] for a in record["actions"]]

        # their place lapses: "left" is written into the record, rebuilt from memory
        deadline = time.monotonic() + 10
        while not await left():
            assert time.monotonic() < deadline, "the place never lapsed"
            await asyncio.sleep(0.2)
        [record] = (await crises(second, sid))["crises"]
        assert record["safety"]["location"] == WHERE
