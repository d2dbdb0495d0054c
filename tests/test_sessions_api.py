"""Sessions, personal invites and the audit log over HTTP, as a signed-in facilitator and with
the API key; other facilitators see nothing of them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import aiohttp

from server import accounts
from server.store import AuditEntry
from server.web import STORE
from tests.clients import call, grant_of, signed_in
from tests.conftest import API_KEY, RunningServer

# Two months ahead, in a zone of its own (starts are bounded to within a year of now).
START = (
    (datetime.now(UTC) + timedelta(days=60))
    .replace(microsecond=0)
    .astimezone(timezone(timedelta(hours=-5)))
)


async def test_facilitator_makes_a_group_invites_and_a_session(
    circle_server: RunningServer,
) -> None:
    base = circle_server.base_url
    dana = await signed_in(circle_server, "f_dana", "dana@example.org")
    sam = await signed_in(circle_server, "f_sam", "sam@example.org")
    try:
        status, group = await call(dana, "POST", f"{base}/api/groups", {"name": "Tuesday IOP"})
        assert status == 201
        status, invite = await call(
            dana, "POST", f"{base}/api/groups/{group['id']}/invites", {"label": "R. (Tuesdays)"}
        )
        assert status == 201 and invite["label"] == "R. (Tuesdays)"
        status, session = await call(
            dana,
            "POST",
            f"{base}/api/sessions",
            {
                "title": "Week 3",
                "group_id": group["id"],
                "scheduled_start": START.isoformat(),
            },
        )
        assert status == 201, session
        assert session["waiting_room"] is True  # the default
        assert session["created_by"] == "f_dana" and session["group_id"] == group["id"]
        assert session["scheduled_start"] == START.isoformat()
        lead = grant_of(circle_server, session["facilitator_url"])
        assert (lead.role.value, lead.facilitator_id) == ("facilitator", "f_dana")
        assert grant_of(circle_server, session["cofacilitator_url"]).role.value == "cofacilitator"
        # links stay valid until a day after the scheduled start, not a day after now
        assert lead.expires_at >= START.timestamp() + 23 * 3600
        [personal] = session["personal_invites"]
        assert personal["label"] == "R. (Tuesdays)"
        personal_grant = grant_of(circle_server, personal["url"])
        assert personal_grant.invite_token_id is not None
        assert personal_grant.role.value == "participant"

        status, listed = await call(dana, "GET", f"{base}/api/sessions")
        assert [s["session_id"] for s in listed["sessions"]] == [session["session_id"]]

        # Sam leads nothing here: not the group, not the session, not its audit log.
        sid = session["session_id"]
        assert (await call(sam, "GET", f"{base}/api/sessions"))[1] == {"sessions": []}
        assert (await call(sam, "GET", f"{base}/api/sessions/{sid}"))[0] == 404
        assert (await call(sam, "GET", f"{base}/api/sessions/{sid}/audit"))[0] == 404
        assert (await call(sam, "GET", f"{base}/api/groups/{group['id']}/invites"))[0] == 404
        refused = await call(
            sam, "POST", f"{base}/api/sessions", {"title": "x", "group_id": group["id"]}
        )
        assert refused == (
            404,
            {"error": "not_found", "message": "group_id: no such group of yours"},
        )

        # the audit log of the session, to its leader and to the API key
        await circle_server.app[STORE].append_audit(
            AuditEntry(sid, "p_1", "facilitator", "mute", "p_2", {}, time.time(), "ok")
        )
        status, audit = await call(dana, "GET", f"{base}/api/sessions/{sid}/audit")
        assert status == 200
        assert [(e["action"], e["target_id"]) for e in audit["entries"]] == [("mute", "p_2")]
        async with aiohttp.ClientSession() as key_http:
            async with key_http.get(
                f"{base}/api/sessions/{sid}/audit",
                headers={"Authorization": f"Bearer {API_KEY}"},
            ) as r:
                assert r.status == 200 and len((await r.json())["entries"]) == 1

        # a revoked invite no longer gets a personal link
        status, _ = await call(
            dana, "DELETE", f"{base}/api/groups/{group['id']}/invites/{invite['id']}"
        )
        assert status == 200
        status, again = await call(dana, "GET", f"{base}/api/sessions/{sid}")
        assert again["personal_invites"] == []
    finally:
        await dana.close()
        await sam.close()


async def test_bad_session_bodies_and_expired_cookies(circle_server: RunningServer) -> None:
    base = circle_server.base_url
    dana = await signed_in(circle_server, "f_dana", "dana@example.org")
    try:
        cases = [
            ({"title": "x", "scheduled_start": "2030-01-08T18:00:00"}, "scheduled_start"),
            ({"title": "x", "scheduled_start": "next tuesday"}, "scheduled_start"),
            ({"title": "x", "waiting_room": "yes"}, "waiting_room"),
            ({"title": "   "}, "title"),
            ({"title": "x", "group_id": ""}, "group_id"),
        ]
        for body, field in cases:
            status, reply = await call(dana, "POST", f"{base}/api/sessions", body)
            assert status == 400 and reply["message"].startswith(field), (body, reply)
        status, reply = await call(
            dana, "POST", f"{base}/api/sessions", {"title": "x", "group_id": "g_nope"}
        )
        assert status == 404
        status, reply = await call(dana, "POST", f"{base}/api/groups", {"name": " \t "})
        assert (status, reply["message"]) == (400, "name: must not be blank")
        _, group = await call(dana, "POST", f"{base}/api/groups", {"name": "IOP"})
        invites = f"{base}/api/groups/{group['id']}/invites"
        status, reply = await call(dana, "POST", invites, {"label": "   "})
        assert status == 400 and reply["message"].startswith("label")
        assert (await call(dana, "GET", invites))[1] == {"invites": []}
        status, reply = await call(dana, "GET", f"{base}/api/sessions/s_x/audit?limit=0")
        assert status == 404  # unknown session first: nothing to learn about ids
        assert await circle_server.app[STORE].sessions_created_by("f_dana") == []
    finally:
        await dana.close()
    expired = accounts.issue_cookie(
        circle_server.settings.secret, "f_dana", time.time() - accounts.COOKIE_TTL_S - 1
    )
    async with aiohttp.ClientSession(
        cookies={accounts.COOKIE_NAME: expired}, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as stale:
        status, reply = await call(stale, "POST", f"{base}/api/sessions", {"title": "x"})
        assert (status, reply["error"]) == (401, "unauthorized")
        assert (await call(stale, "GET", f"{base}/api/me"))[0] == 401
    assert await circle_server.app[STORE].sessions_created_by("f_dana") == []
