"""What the namespace tests share: an impaired link to a fresh namespace (tests/netns/
impaired_link.py), a real server in the test's loop listening on this side of it, and a child
process run inside the namespace."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from server.app import create_app
from server.config import MediaConfig, TurnConfig
from server.media import aiortc_hooks
from tests.conftest import RunningServer, make_settings, start_app
from tests.netns.impaired_link import ImpairedLink


@pytest.fixture
async def link() -> AsyncIterator[ImpairedLink]:
    try:
        made = ImpairedLink.create()
    except PermissionError as exc:
        pytest.fail(str(exc))
    made.start()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
async def server_on_link(link: ImpairedLink, tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A server on this side of the link; aiortc peers made in the test's process (the server
    and near bots) gather ICE candidates on this side's address only."""
    async with serve_on_link(link, tmp_path) as server:
        yield server


@asynccontextmanager
async def serve_on_link(
    link: ImpairedLink, tmp_path: Path, turn: TurnConfig | None = None, transport_cc: bool = True
) -> AsyncIterator[RunningServer]:
    """The server of `server_on_link`, with `turn` credentials in its join replies (and
    transport-cc with publishers, unless told not to: bench.uplink compares)."""
    media = MediaConfig(
        slots_per_kind=15, remote_networks=(link.subnet,), turn=turn, transport_cc=transport_cc
    )
    settings = make_settings(
        tmp_path, host=link.near_ip, ice_host_addresses=(link.near_ip,), media=media
    )
    app = create_app(settings)
    runner = await start_app(app, settings)
    aiortc_hooks.restrict_host_addresses([link.near_ip])
    try:
        yield RunningServer(f"http://{settings.host}:{settings.port}", app, settings)
    finally:
        await runner.cleanup()
        aiortc_hooks.restrict_host_addresses(None)


async def run_inside(
    link: ImpairedLink, args: Sequence[str], **kwargs: object
) -> asyncio.subprocess.Process:
    """`python args...` as a child process in the link's namespace, ICE on its far address."""
    return await asyncio.create_subprocess_exec(
        *link.exec_prefix(),
        sys.executable,
        *args,
        env={**os.environ, "CIRCLE_ICE_ADDRESSES": link.far_ip},
        **kwargs,  # type: ignore[arg-type]
    )


async def stop_child(child: asyncio.subprocess.Process, limit_s: float = 10.0) -> None:
    if child.returncode is None:
        child.terminate()
    try:
        await asyncio.wait_for(child.wait(), limit_s)
    except TimeoutError:
        child.kill()
        await child.wait()
