"""Shared fixtures: a real Circle server on a free loopback port, inside the test's loop; and the
test tiers.

Every test has exactly one tier marker (pyproject.toml registers them, `--strict-markers`):
`unit` (pure, no sockets: tests/rooms, and modules elsewhere that say `pytestmark =
pytest.mark.unit`), `live` (a real server, sockets, aiortc or redis-server on loopback: the
default), `browser` (Chromium: tests/browser) and `netns` (network namespaces, root:
tests/netns). So `scripts/test.sh -m unit` runs in seconds. A unit test that binds or connects a
socket fails, so the tier cannot quietly go wrong."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    rtcrtpreceiver,
    rtcrtpsender,
)

from bench.harness import free_port
from server.app import SESSIONS, create_app
from server.config import MediaConfig, Settings
from server.live.registry import LiveSessions
from server.media import aiortc_hooks
from server.media.stats import ForwardingStats
from server.ops_api import STATS

API_KEY = "test-api-key"
LOOPBACK_ONLY = MediaConfig(slots_per_kind=15, remote_networks=("127.0.0.0/8",))


TIERS = ("unit", "live", "browser", "netns")
# else "live"; tests/live/ checks the live-session layer in-process, without sockets
TIER_BY_DIRECTORY = {"rooms": "unit", "live": "unit", "browser": "browser", "netns": "netns"}
TESTS = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by these markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        declared = {mark.name for mark in item.iter_markers() if mark.name in TIERS}
        if len(declared) > 1:
            raise pytest.UsageError(f"{item.nodeid}: more than one tier {sorted(declared)}")
        if not declared:
            top = item.path.relative_to(TESTS).parts[0]
            item.add_marker(TIER_BY_DIRECTORY.get(top, "live"))


@pytest.fixture(autouse=True)
def _unit_tests_open_no_sockets(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if request.node.get_closest_marker("unit") is None:
        return

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"{request.node.nodeid} opens a socket: it is a live test, not unit")

    for method in ("bind", "connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, method, refuse)


@dataclass
class RunningServer:
    base_url: str
    app: web.Application
    settings: Settings
    now: list[float] = field(default_factory=list)  # unused unless a test moves the clock

    @property
    def live(self) -> LiveSessions:
        return self.app[SESSIONS]

    @property
    def stats(self) -> ForwardingStats:
        return self.app[STATS]

    async def create_session(self, title: str = "Test group", **fields: Any) -> dict[str, Any]:
        """A session made with the API key; no waiting room unless asked (media tests)."""
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.base_url}/api/sessions",
                json={"title": title, "waiting_room": False, **fields},
                headers={"Authorization": f"Bearer {API_KEY}"},
            ) as response,
        ):
            assert response.status == 201, await response.text()
            body: dict[str, Any] = await response.json()
            return body

    async def api_get(self, path: str) -> dict[str, Any]:
        """GET `path` with the API key; it must answer 200."""
        async with (
            aiohttp.ClientSession() as http,
            http.get(self.base_url + path, headers={"Authorization": f"Bearer {API_KEY}"}) as r,
        ):
            assert r.status == 200, await r.text()
            body: dict[str, Any] = await r.json()
            return body


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": overrides.get("port") or free_port(),
        "api_key": API_KEY,
        "secret": "test-secret-" + "x" * 32,
        "data_dir": tmp_path,
        "ice_host_addresses": ("127.0.0.1",),
        "media": LOOPBACK_ONLY,
    }
    values.update(overrides)
    return Settings(**values)


async def start_app(app: web.Application, settings: Settings) -> web.AppRunner:
    """`app` served on settings.host and settings.port until the runner's cleanup()."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    return runner


@asynccontextmanager
async def serve(tmp_path: Path, **overrides: Any) -> AsyncIterator[RunningServer]:
    """A real server (`make_settings` with `overrides`) until the block ends."""
    settings = make_settings(tmp_path, **overrides)
    app = create_app(settings)
    runner = await start_app(app, settings)
    try:
        yield RunningServer(f"http://{settings.host}:{settings.port}", app, settings)
    finally:
        await runner.cleanup()


@pytest.fixture
async def circle_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with serve(tmp_path) as server:
        yield server


@pytest.fixture
def loopback_ice() -> Iterator[None]:
    """ICE host candidates on 127.0.0.1 only, for aiortc peers made in the test's process."""
    aiortc_hooks.restrict_host_addresses(["127.0.0.1"])
    yield
    aiortc_hooks.restrict_host_addresses(None)


@pytest.fixture
def codec_count(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every aiortc encoder or decoder created in this process (server and bots alike)."""
    made: list[str] = []
    real_encoder = rtcrtpsender.get_encoder  # type: ignore[attr-defined]
    real_decoder = rtcrtpreceiver.get_decoder  # type: ignore[attr-defined]

    def encoder(codec: Any) -> Any:
        made.append(f"encoder {codec.mimeType}")
        return real_encoder(codec)

    def decoder(codec: Any) -> Any:
        made.append(f"decoder {codec.mimeType}")
        return real_decoder(codec)

    monkeypatch.setattr(rtcrtpsender, "get_encoder", encoder)
    monkeypatch.setattr(rtcrtpreceiver, "get_decoder", decoder)
    yield made


def peer_pair() -> tuple[RTCPeerConnection, RTCPeerConnection]:
    config = RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    return RTCPeerConnection(config), RTCPeerConnection(config)


async def negotiate(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    """Offer/answer between two local aiortc peers (aiortc gathers fully: no trickle)."""
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)


async def until(condition: Callable[[], object], limit_s: float, what: str) -> float:
    """Wait (bounded) until condition() holds; returns the seconds it took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    try:
        async with asyncio.timeout(limit_s):
            while not condition():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not within {limit_s} s: {what}") from None
    return loop.time() - start


@pytest.fixture(scope="session")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small frames keep several bots and the server on one test core."""
    from server.bot.media import generate_clip

    return generate_clip(
        tmp_path_factory.mktemp("media") / "clip.webm",
        seconds=6,
        width=320,
        height=240,
        fps=15,
        keyframe_interval_s=2.0,
    )


@pytest.fixture
def small_media(small_clip: Path) -> Any:
    from server.bot.media import EncodedMedia

    return EncodedMedia.load(small_clip, small_clip)
