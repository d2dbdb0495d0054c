"""Facilitator accounts over HTTP: CLI-created account, sign-in cookie, profile, groups."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import pytest

from server.cli import main
from server.web import STORE
from tests.conftest import RunningServer

PASSWORD = "a long enough passphrase"


async def add_facilitator(server: RunningServer, email: str = "Dana@Example.org") -> None:
    from server import accounts
    from server.store import Facilitator

    await server.app[STORE].add_facilitator(
        Facilitator("f_dana", email, accounts.hash_password(PASSWORD), "Dana", "LCSW", time.time())
    )


async def test_sign_in_profile_groups_sign_out(circle_server: RunningServer) -> None:
    await add_facilitator(circle_server)
    base = circle_server.base_url
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{base}/api/me") as r:
            assert r.status == 401 and (await r.json())["error"] == "unauthorized"
        async with http.post(
            f"{base}/api/auth/signin", json={"email": "dana@example.org", "password": "nope"}
        ) as wrong:
            assert wrong.status == 401
            wrong_message = (await wrong.json())["message"]
        async with http.post(
            f"{base}/api/auth/signin", json={"email": "who@example.org", "password": "nope"}
        ) as unknown:
            assert (unknown.status, (await unknown.json())["message"]) == (401, wrong_message)
        async with http.post(
            f"{base}/api/auth/signin", json={"email": " DANA@example.org", "password": PASSWORD}
        ) as ok:
            assert ok.status == 200
            cookie = ok.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
            assert "Secure" not in cookie  # plain HTTP on loopback
        async with http.get(f"{base}/api/me") as me:
            assert await me.json() == {
                "id": "f_dana",
                "email": "dana@example.org",
                "display_name": "Dana",
                "credentials": "LCSW",
            }
        async with http.patch(f"{base}/api/me", json={"credentials": "LCSW, CAC"}) as patched:
            assert (await patched.json())["credentials"] == "LCSW, CAC"
        async with http.patch(f"{base}/api/me", json={"display_name": ""}) as bad:
            assert bad.status == 400 and (await bad.json())["message"].startswith("display_name")
        async with http.post(f"{base}/api/groups", json={"name": " Tuesday  IOP "}) as created:
            assert created.status == 201
            group = await created.json()
            assert group["name"] == "Tuesday IOP" and group["facilitator_ids"] == ["f_dana"]
        async with http.get(f"{base}/api/groups") as listed:
            assert [g["id"] for g in (await listed.json())["groups"]] == [group["id"]]
        async with http.post(f"{base}/api/auth/signout", json={}) as out:
            assert out.status == 200
        async with http.get(f"{base}/api/me") as after:
            assert after.status == 401


async def test_forged_cookie_and_sign_in_flood_are_refused(circle_server: RunningServer) -> None:
    await add_facilitator(circle_server)
    base = circle_server.base_url
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/api/me", cookies={"circle_session": "forged"}) as r:
            assert r.status == 401
        statuses = []
        for _ in range(12):
            async with http.post(
                f"{base}/api/auth/signin", json={"email": "dana@example.org", "password": "x"}
            ) as r:
                statuses.append(r.status)
        assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]


def test_cli_adds_a_facilitator_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CIRCLE_FACILITATOR_PASSWORD", PASSWORD)
    monkeypatch.delenv("REDIS_URL", raising=False)
    args = ["facilitator", "add", "sam@example.org", "--name", "Sam", "--credentials", "MD"]
    args += ["--data-dir", str(tmp_path)]
    assert main(args) == 0
    assert "Added facilitator" in capsys.readouterr().out
    assert main(args) == 1
    assert "already exists" in capsys.readouterr().err
    monkeypatch.setenv("CIRCLE_FACILITATOR_PASSWORD", "short")
    assert main([*args[:2], "other@example.org", "--data-dir", str(tmp_path)]) == 1
