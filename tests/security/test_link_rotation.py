"""Issue 15, finding 2: the facilitator can replace the general invite link of a session (a
running one too); the old link stops joining, people already in stay."""

from __future__ import annotations

import aiohttp

from server.tokens import verify
from tests.clients import Client, token_of
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
