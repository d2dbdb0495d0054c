"""Issue 15, finding 4: a far-future start is refused before it is stored, and no route ever
answers a bare text/plain error or a traceback."""

from __future__ import annotations

import argparse

import aiohttp
import pytest

from server.config import add_serve_arguments, settings_from_args
from server.web import STORE
from tests.conftest import API_KEY, RunningServer

KEY = {"Authorization": f"Bearer {API_KEY}"}


async def test_far_future_start_is_refused_and_not_stored(circle_server: RunningServer) -> None:
    async with aiohttp.ClientSession(headers=KEY) as http:
        for when in ("9999-12-31T23:59:59+00:00", "2000-01-01T00:00:00Z", "0001-01-01T00:00Z"):
            async with http.post(
                f"{circle_server.base_url}/api/sessions",
                json={"title": "Far", "scheduled_start": when},
            ) as r:
                assert r.status == 400, when
                body = await r.json()
                assert body["error"] == "invalid" and "scheduled_start" in body["message"]
    async with aiohttp.ClientSession(headers=KEY) as http:
        async with http.get(f"{circle_server.base_url}/api/sessions") as r:
            assert r.status in (200, 400)  # the API key lists nothing, but never a 500


@pytest.mark.unit
def test_link_lifetimes_are_bounded() -> None:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    with pytest.raises(SystemExit):
        settings_from_args(parser.parse_args(["--token-ttl-hours", "1e9", "--data-dir", "/x"]))


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/no-such-route", 404),
        ("GET", "/no-such-page", 404),
        ("PUT", "/api/sessions", 405),
        ("GET", "/static/../../etc/passwd", 404),
    ],
)
async def test_http_errors_are_json(
    circle_server: RunningServer, method: str, path: str, status: int
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, circle_server.base_url + path, headers=KEY) as r,
    ):
        assert r.status == status
        assert r.content_type == "application/json"
        body = await r.json()
        assert set(body) == {"error", "message"}


async def test_an_unexpected_error_is_a_json_500_without_details(
    circle_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(email: str) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(circle_server.app[STORE], "find_facilitator_by_email", broken)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            circle_server.base_url + "/api/auth/signin",
            json={"email": "a@b.example", "password": "x" * 12},
        ) as r,
    ):
        assert r.status == 500
        assert r.content_type == "application/json"
        text = await r.text()
        assert "secret internals" not in text and "Traceback" not in text
