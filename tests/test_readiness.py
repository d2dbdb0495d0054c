"""/readyz: 200 on a working server, 503 `not_ready` while draining or when its store (a real
redis-server, stopped mid-run) does not answer, and 200 again once Redis is back; /healthz
says the process lives throughout."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server import readiness
from server.ops_api import READINESS
from server.readiness import Readiness
from tests.conftest import RunningServer, serve
from tests.store.conftest import RedisServer


async def get(server: RunningServer, path: str) -> tuple[int, dict[str, Any]]:
    """The status and JSON body; a readiness answer must never come from a cache."""
    async with aiohttp.ClientSession() as http, http.get(server.base_url + path) as response:
        if path == "/readyz":
            assert response.headers["Cache-Control"] == "no-store"
        return response.status, await response.json()


async def test_ready_unless_draining(tmp_path: Path) -> None:
    async with serve(tmp_path) as server:
        ready = {"ready": True, "draining": False, "reachable": {"sqlite": True}}
        assert await get(server, "/readyz") == (200, ready)
        server.app[READINESS].draining = True
        status, body = await get(server, "/readyz")
        assert (status, body["error"], body["message"]) == (503, "not_ready", "draining")
        assert (body["ready"], body["draining"]) == (False, True)
        assert await get(server, "/healthz") == (200, {"ok": True})


async def test_not_ready_while_redis_is_down(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path, persistent=False)
    redis.start()
    try:
        async with serve(tmp_path, redis_url=redis.url) as server:
            assert await get(server, "/readyz") == (
                200,
                {"ready": True, "draining": False, "reachable": {"redis": True}},
            )
            redis.stop()
            started = time.monotonic()
            status, body = await get(server, "/readyz")
            assert time.monotonic() - started < readiness.PROBE_TIMEOUT_S + 2
            assert (status, body["error"]) == (503, "not_ready")
            assert (body["message"], body["reachable"]) == ("redis unreachable", {"redis": False})
            assert await get(server, "/healthz") == (200, {"ok": True})
            redis.start()  # the same port: the store's client reconnects by itself
            async with asyncio.timeout(15):
                while (await get(server, "/readyz"))[0] != 200:
                    await asyncio.sleep(0.2)
    finally:
        redis.stop()


async def test_a_probe_that_hangs_counts_as_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readiness, "PROBE_TIMEOUT_S", 0.2)

    async def fine() -> None:
        return None

    hung = asyncio.Event()
    state = Readiness(probes={"store": fine, "cluster": hung.wait})
    assert await state.report() == {
        "ready": False,
        "draining": False,
        "reachable": {"store": True, "cluster": False},
    }
