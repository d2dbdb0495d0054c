"""What the live tests share besides their fixtures (tests/conftest.py): clients of a running
server, over HTTP (a signed-in facilitator), socket.io and aiortc bots."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest
import socketio
from yarl import URL

from bench.harness import KINDS
from server import accounts, tokens
from server.bot.client import Bot
from server.bot.media import EncodedMedia
from server.store import Facilitator
from server.web import STORE
from tests.conftest import RunningServer

PASSWORD = "a long enough passphrase"


async def signed_in(server: RunningServer, fid: str, email: str) -> aiohttp.ClientSession:
    await server.app[STORE].add_facilitator(
        Facilitator(fid, email, accounts.hash_password(PASSWORD), fid.title(), "PhD", time.time())
    )
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.post(
        f"{server.base_url}/api/auth/signin", json={"email": email, "password": PASSWORD}
    ) as r:
        assert r.status == 200
    return http


def cookie_of(server: RunningServer, http: aiohttp.ClientSession) -> str:
    """The sign-in cookie `signed_in` got."""
    return http.cookie_jar.filter_cookies(URL(server.base_url))[accounts.COOKIE_NAME].value


async def call(
    http: aiohttp.ClientSession, method: str, url: str, body: object = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}  # unsafe methods must say JSON
    async with http.request(method, url, json=body, headers=headers) as r:
        return r.status, await r.json()


async def group_session(
    server: RunningServer, waiting_room: bool
) -> tuple[aiohttp.ClientSession, dict[str, Any]]:
    """Dana, signed in, with her group "Tuesday", a personal invite for Sam and a session of
    the group (as the console gets it: its links, Sam's among `personal_invites`)."""
    dana = await signed_in(server, "f_dana", "dana@example.org")
    base = server.base_url
    status, group = await call(dana, "POST", f"{base}/api/groups", {"name": "Tuesday"})
    assert status == 201
    status, _ = await call(
        dana, "POST", f"{base}/api/groups/{group['id']}/invites", {"label": "Sam"}
    )
    assert status == 201
    body = {"title": "Tuesday", "group_id": group["id"], "waiting_room": waiting_room}
    status, session = await call(dana, "POST", f"{base}/api/sessions", body)
    assert status == 201, session
    return dana, session


def grant_of(server: RunningServer, url: str) -> tokens.SessionGrant:
    return tokens.verify(server.settings.secret, url.split("#t=")[1], time.time())


def token_of(url: str) -> str:
    return url.split("#t=", 1)[1]


class Client:
    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(serializer="msgpack", reconnection=False)
        self.errors: list[dict[str, Any]] = []
        self.events: list[tuple[str, Any]] = []
        self.sio.on("error", self.errors.append)
        self.sio.on("*", lambda event, data: self.events.append((event, data)))

    async def connect(
        self, server: RunningServer, auth: dict[str, Any], cookie: str | None = None
    ) -> None:
        """`cookie`: a signed-in account's (a facilitator's own link leads only for them)."""
        headers = {"Cookie": f"{accounts.COOKIE_NAME}={cookie}"} if cookie else {}
        await self.sio.connect(
            server.base_url, auth=auth, headers=headers, transports=["websocket"]
        )

    async def call(self, event: str, data: Any = None) -> dict[str, Any]:
        reply: dict[str, Any] = await self.sio.call(event, data, timeout=10)
        return reply


async def refused_connect(server: RunningServer, auth: dict[str, Any] | None) -> Any:
    client = socketio.AsyncClient(serializer="msgpack", reconnection=False)
    refusal: list[Any] = []
    client.on("connect_error", refusal.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(server.base_url, auth=auth, transports=["websocket"])
    return refusal[0]


async def start_bots(url: str, media: EncodedMedia, names: list[str]) -> list[Bot]:
    bots = [Bot(url, name, media) for name in names]
    for bot in bots:
        await bot.start()
    for bot in bots:
        await bot.wait_connected()
    return bots


def snapshot(bots: list[Bot]) -> dict[str, dict[tuple[str, str], int]]:
    return {
        bot.name: {
            (kind, other.participant_id or ""): bot.received(kind, other.participant_id)
            for other in bots
            if other is not bot
            for kind in KINDS
        }
        for bot in bots
    }
