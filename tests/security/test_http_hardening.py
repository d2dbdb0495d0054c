"""Issue 15, findings 7, 8 and 9: CSRF (JSON and same origin on unsafe methods), the socket's
Origin check, security headers, and links never built from an untrusted Host header."""

from __future__ import annotations

import aiohttp
import jwt
import socketio

from tests.clients import signed_in, token_of
from tests.conftest import API_KEY, RunningServer

KEY = {"Authorization": f"Bearer {API_KEY}"}


async def test_unsafe_methods_need_json_and_the_same_origin(circle_server: RunningServer) -> None:
    base = circle_server.base_url
    http = await signed_in(circle_server, "f_dana", "dana@example.org")
    try:
        form = {"Content-Type": "text/plain"}
        async with http.post(f"{base}/api/groups", data='{"name": "x"}', headers=form) as r:
            assert r.status == 415 and (await r.json())["error"] == "unsupported_media_type"
        cross = {"Origin": "https://evil.example", "Content-Type": "application/json"}
        async with http.post(f"{base}/api/groups", data='{"name": "x"}', headers=cross) as r:
            assert r.status == 403 and (await r.json())["error"] == "forbidden"
        site = {"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"}
        async with http.post(f"{base}/api/groups", data='{"name": "x"}', headers=site) as r:
            assert r.status == 403
        same = {"Origin": base, "Sec-Fetch-Site": "same-origin"}
        async with http.post(f"{base}/api/groups", json={"name": "Tuesdays"}, headers=same) as r:
            assert r.status == 201
    finally:
        await http.close()
    # a cross-site form cannot sign anyone in either
    async with (
        aiohttp.ClientSession() as anon,
        anon.post(
            f"{base}/api/auth/signin",
            data="email=a%40b.c&password=x",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ) as r,
    ):
        assert r.status == 415


async def test_security_headers(circle_server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/console", "/s/s_x", "/static/session.js", "/api/me", "/nope"):
            async with http.get(circle_server.base_url + path) as r:
                csp = r.headers.get("Content-Security-Policy", "")
                assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
                assert "object-src 'none'" in csp
                assert r.headers.get("X-Content-Type-Options") == "nosniff"
                server = r.headers.get("Server", "")
                assert "Python" not in server and "aiohttp" not in server, server


async def test_links_are_not_built_from_an_untrusted_host(circle_server: RunningServer) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{circle_server.base_url}/api/sessions",
            json={"title": "T"},
            headers={**KEY, "Host": "evil.example"},
        ) as r,
    ):
        assert r.status == 421
        assert (await r.json())["error"] == "misdirected"
    session = await circle_server.create_session()
    assert session["invite_url"].startswith(circle_server.base_url + "/s/")
    claims = jwt.decode(token_of(session["invite_url"]), options={"verify_signature": False})
    assert "title" not in claims


async def test_socket_refuses_other_origins(circle_server: RunningServer) -> None:
    session = await circle_server.create_session()
    client = socketio.AsyncClient(serializer="msgpack", reconnection=False)
    try:
        await client.connect(
            circle_server.base_url,
            auth={"token": token_of(session["invite_url"])},
            headers={"Origin": "https://evil.example"},
            transports=["websocket"],
        )
    except socketio.exceptions.ConnectionError:
        pass
    else:
        await client.disconnect()
        raise AssertionError("a socket from another origin was accepted")
    same = socketio.AsyncClient(serializer="msgpack", reconnection=False)
    await same.connect(
        circle_server.base_url,
        auth={"token": token_of(session["invite_url"])},
        headers={"Origin": circle_server.base_url},
        transports=["websocket"],
    )
    await same.disconnect()
