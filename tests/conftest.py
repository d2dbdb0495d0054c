"""Shared fixtures: a real Circle server on a free loopback port, inside the test's loop."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from server.app import SIGNALLING, STATS, create_app
from server.config import Settings
from server.media.router import MediaConfig
from server.media.stats import ForwardingStats
from server.signalling import Signalling

API_KEY = "test-api-key"
LOOPBACK_ONLY = MediaConfig(slots_per_kind=15, remote_networks=("127.0.0.0/8",))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class RunningServer:
    base_url: str
    app: web.Application
    settings: Settings
    now: list[float] = field(default_factory=list)  # unused unless a test moves the clock

    @property
    def signalling(self) -> Signalling:
        return self.app[SIGNALLING]

    @property
    def stats(self) -> ForwardingStats:
        return self.app[STATS]

    async def create_session(self, title: str = "Test group") -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.base_url}/api/sessions",
                json={"title": title},
                headers={"Authorization": f"Bearer {API_KEY}"},
            ) as response,
        ):
            assert response.status == 201, await response.text()
            body: dict[str, Any] = await response.json()
            return body


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": free_port(),
        "api_key": API_KEY,
        "secret": "test-secret-" + "x" * 32,
        "data_dir": tmp_path,
        "ice_host_addresses": ("127.0.0.1",),
        "media": LOOPBACK_ONLY,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def circle_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    settings = make_settings(tmp_path)
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    try:
        yield RunningServer(f"http://{settings.host}:{settings.port}", app, settings)
    finally:
        await runner.cleanup()
