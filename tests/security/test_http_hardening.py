"""Issue 15, findings 7, 8 and 9: CSRF (JSON and same origin on unsafe methods), the socket's
Origin check, security headers, and links never built from an untrusted Host header."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import jwt
import socketio

from tests.clients import signed_in, token_of
from tests.conftest import API_KEY, RunningServer, serve

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


async def raw_post(server: RunningServer, path: str, host: str, body: bytes) -> tuple[int, bytes]:
    """POST with exactly this Host header (no client library tidies it): status and body."""
    settings = server.settings
    reader, writer = await asyncio.open_connection(settings.host, settings.port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


async def test_a_host_read_one_way_and_linked_another_is_refused(
    circle_server: RunningServer,
) -> None:
    """Issue 26, finding 10: `localhost:PORT/@evil.com` (and `#@`, `?x=@`) is `localhost` to a
    URL splitter but `evil.com` to the URL aiohttp builds links from; a space was a 500."""
    port = circle_server.settings.port
    body = json.dumps({"title": "T"}).encode()
    for host in (
        f"localhost:{port}/@evil.com",
        f"localhost:{port}#@evil.com",
        f"localhost:{port}?x=@evil.com",
        f"someone@localhost:{port}",
        f"localhost:{port} evil.com",
        "localhost:99999",
    ):
        status, answer = await raw_post(circle_server, "/api/sessions", host, body)
        assert b"evil.com" not in answer, host
        assert (status, json.loads(answer)["error"]) == (400, "invalid"), (host, answer)
    status, answer = await raw_post(circle_server, "/api/sessions", f"localhost:{port}", body)
    link = json.loads(answer)["invite_url"]
    assert status == 201 and link.startswith(f"http://localhost:{port}/s/")


async def test_links_come_from_the_public_url_whatever_the_host(tmp_path: Path) -> None:
    async with serve(tmp_path, public_url="https://circle.example.org") as server:
        body = json.dumps({"title": "T"}).encode()
        status, answer = await raw_post(server, "/api/sessions", "circle.example.org:8443", body)
        assert status == 201, answer
        assert json.loads(answer)["invite_url"].startswith("https://circle.example.org/s/")
        for host, refused in (
            ("localhost", (421, "misdirected")),
            ("evil.com", (421, "misdirected")),
            ("circle.example.org:1/@evil.com", (400, "invalid")),
        ):
            status, answer = await raw_post(server, "/api/sessions", host, body)
            assert (status, json.loads(answer)["error"]) == refused, host


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
