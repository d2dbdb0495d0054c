"""Issue 15, finding 2: the facilitator can replace the general invite link of a session (a
running one too); the old link stops joining, people already in stay."""

from __future__ import annotations

import aiohttp

from server.tokens import verify
from server.web import STORE
from tests.clients import Client, call, grant_of, signed_in, token_of
from tests.conftest import API_KEY, RunningServer


async def test_rotating_the_general_link_revokes_the_old_one(
    circle_server: RunningServer,
) -> None:
    session = await circle_server.create_session()
    sid = session["session_id"]
    inside, late, fresh = Client(), Client(), Client()
    await inside.connect(circle_server, {"token": token_of(session["invite_url"])})
    assert (await inside.call("join", {"name": "Ari"}))["ok"]
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{circle_server.base_url}/api/sessions/{sid}/invite_link",
            json={},
            headers={"Authorization": f"Bearer {API_KEY}"},
        ) as r,
    ):
        assert r.status == 200, await r.text()
        rotated = await r.json()
    assert token_of(rotated["invite_url"]) != token_of(session["invite_url"])
    again = await circle_server.api_get(f"/api/sessions/{sid}")
    secret = circle_server.settings.secret
    assert verify(secret, token_of(again["invite_url"]), 0).link_id == (
        verify(secret, token_of(rotated["invite_url"]), 0).link_id
    )
    await late.connect(circle_server, {"token": token_of(session["invite_url"])})
    assert (await late.call("join", {"name": "Old link"}))["error"] == "invalid_token"
    await fresh.connect(circle_server, {"token": token_of(rotated["invite_url"])})
    assert (await fresh.call("join", {"name": "New link"}))["ok"]
    assert (await inside.call("media_state", {"audio": False}))["ok"]  # still in
    for client in (inside, late, fresh):
        await client.sio.disconnect()


async def test_a_revoked_link_learns_nothing(circle_server: RunningServer) -> None:
    """Issue 26, finding 11: `POST /api/link` refuses a link that cannot join (a replaced
    general link, a revoked or blocked personal invite), telling neither title nor leader."""
    base = circle_server.base_url
    dana = await signed_in(circle_server, "f_dana", "dana@example.org")
    try:
        _, group = await call(dana, "POST", f"{base}/api/groups", {"name": "Tuesday IOP"})
        invites = f"{base}/api/groups/{group['id']}/invites"
        assert (await call(dana, "POST", invites, {"label": "R."}))[0] == 201
        _, revoked = await call(dana, "POST", invites, {"label": "S."})
        _, session = await call(
            dana, "POST", f"{base}/api/sessions", {"title": "Secret title", "group_id": group["id"]}
        )
        sid = session["session_id"]
        links = {p["label"]: p["url"] for p in session["personal_invites"]}
        blocked = grant_of(circle_server, links["R."]).invite_token_id
        assert blocked is not None
        await circle_server.app[STORE].block_invite(sid, blocked)
        assert (await call(dana, "DELETE", f"{invites}/{revoked['id']}"))[0] == 200
        assert (await call(dana, "POST", f"{base}/api/sessions/{sid}/invite_link", {}))[0] == 200
        _, now = await call(dana, "GET", f"{base}/api/sessions/{sid}")
        async with aiohttp.ClientSession() as anon:
            for url, error in (
                (session["invite_url"], "invalid_token"),
                (session["cofacilitator_url"], "invalid_token"),
                (links["S."], "invalid_token"),
                (links["R."], "blocked"),
            ):
                status, about = await call(
                    anon, "POST", f"{base}/api/link", {"token": token_of(url)}
                )
                assert (status, about["error"]) == (403 if error == "blocked" else 401, error)
                assert "Secret title" not in str(about) and "F_Dana" not in str(about)
            status, about = await call(
                anon, "POST", f"{base}/api/link", {"token": token_of(now["invite_url"])}
            )
            assert status == 200 and about["title"] == "Secret title"
    finally:
        await dana.close()
