"""REST API: creating sessions, and its refusals."""

from __future__ import annotations

import time

import aiohttp

from rooms.model import Role
from server import tokens
from tests.conftest import API_KEY, RunningServer


async def post(
    server: RunningServer, body: object, key: str | None = API_KEY, raw: bytes | None = None
):
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    async with aiohttp.ClientSession() as http:
        kwargs = {"data": raw} if raw is not None else {"json": body}
        async with http.post(f"{server.base_url}/api/sessions", headers=headers, **kwargs) as r:
            return r.status, await r.json(), r.headers


async def test_create_session_returns_role_links_with_expiring_tokens(
    circle_server: RunningServer,
) -> None:
    status, body, headers = await post(circle_server, {"title": "Tuesday evening group"})
    assert status == 201
    assert headers["Cache-Control"] == "no-store"
    secret = circle_server.settings.secret
    for key, role in (("facilitator_url", Role.FACILITATOR), ("invite_url", Role.PARTICIPANT)):
        url = body[key]
        assert url.startswith(f"{circle_server.base_url}/s/{body['session_id']}#t=")
        grant = tokens.verify(secret, url.split("#t=")[1], now=time.time())
        assert grant.role is role and grant.session_id == body["session_id"]
        assert grant.title == ""  # the title stays out of the token (issue 15, finding 9)
        assert 23 * 3600 < grant.expires_at - time.time() <= 24 * 3600
    async with aiohttp.ClientSession() as http:
        async with http.get(body["invite_url"].split("#")[0]) as page:
            assert page.status == 200
            assert "Your name" in await page.text()
        async with http.get(f"{circle_server.base_url}/vendor/socket.io.msgpack.min.js") as js:
            assert js.status == 200


async def test_refusals_name_the_problem(circle_server: RunningServer) -> None:
    assert (await post(circle_server, {"title": "x"}, key=None))[:2] == (
        401,
        {
            "error": "unauthorized",
            "message": "sign in, or send the API key (Authorization: Bearer)",
        },
    )
    assert (await post(circle_server, {"title": "x"}, key="wrong"))[0] == 401
    cases = [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": 5}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "colour": "red"}, "colour"),
        ([1, 2], "body"),
    ]
    for body, field in cases:
        status, reply, _ = await post(circle_server, body)
        assert status == 400 and reply["error"] == "invalid", (body, reply)
        assert reply["message"].startswith(field), (body, reply)
    status, reply, _ = await post(circle_server, None, raw=b"{not json")
    assert (status, reply["error"]) == (400, "invalid")
    status, reply, _ = await post(circle_server, None, raw=b'{"title": "' + b"x" * 20_000 + b'"}')
    assert (status, reply["error"]) == (413, "too_large")
    assert circle_server.live.sessions == {}
