"""Connection quality over a real lossy link: the test makes a network namespace joined to this
one by an impaired link (tests/netns/impaired_link.py: netem-like loss and delay, since these
kernels have no sch_netem), runs a bot inside it, and checks what the server reports: upstream
loss near the injected loss, round-trip time near the injected delay, the level going poor and
coming back. Traffic stays on the link the test made; the namespace is removed at the end.

Needs root and iproute2; CI runs as root and `scripts/setup.sh --test` installs iproute2.
Without them this test fails, it does not skip.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from rooms.quality import Level
from server.app import SESSIONS
from server.bot.client import Bot
from server.bot.media import EncodedMedia, generate_clip
from server.live.session import LiveSession
from tests.conftest import RunningServer, until
from tests.netns.conftest import run_inside, stop_child
from tests.netns.impaired_link import ImpairedLink, Impairment

BOT_DELAY_MS = 100


def up_link(live: LiveSession, pid: str) -> Any:
    return live.quality.people[pid].up


def down_link(live: LiveSession, pid: str) -> Any:
    return live.quality.people[pid].down


async def average_while(seconds: float, read: Any) -> float:
    values: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await asyncio.sleep(2.0)
        value = read()
        if value is not None:
            values.append(value)
    assert values, "nothing was reported"
    return sum(values) / len(values)


async def test_loss_and_delay_are_measured_and_the_level_follows(
    link: ImpairedLink, server_on_link: RunningServer, tmp_path: Path
) -> None:
    app, base_url, settings = server_on_link.app, server_on_link.base_url, server_on_link.settings
    import aiohttp

    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{base_url}/api/sessions",
            json={"title": "Lossy", "waiting_room": False},
            headers={"Authorization": f"Bearer {settings.api_key}"},
        ) as response,
    ):
        session = await response.json()
    clip = generate_clip(tmp_path / "speech.webm", seconds=8, video=False)
    # A participant on this side publishes, so the far bot has media to receive and report on.
    near = Bot(session["invite_url"], "Near", EncodedMedia.load(clip, None), subscribe=False)
    await near.start()
    far = await run_inside(
        link,
        [
            "-m",
            "server",
            "bot",
            "--invite-url",
            session["invite_url"],
            "--duration",
            "150",
            "--audio",
            str(clip),
        ],
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        live = app[SESSIONS].sessions[session["session_id"]]

        def far_pid() -> str | None:
            return next((p for p in live.router.participants if p != near.participant_id), None)

        await until(far_pid, 30, "the bot in the namespace joins")
        pid = far_pid()
        assert pid is not None
        await until(lambda: live.quality.level(pid, "up") is not None, 20, "a first judgement")
        await until(
            lambda: live.quality.level(pid, "up") is Level.EXCELLENT,
            20,
            "a clean link is excellent",
        )

        link.upstream = Impairment(loss_pct=5.0, delay_ms=BOT_DELAY_MS)
        await asyncio.sleep(10)  # the 10 s loss window fills with impaired traffic
        loss = await average_while(20, lambda: up_link(live, pid).loss_pct)
        assert abs(loss - 5.0) <= 2.0, f"upstream loss {loss:.1f}% for 5% injected"
        rtt = down_link(live, pid).rtt_ms
        assert rtt is not None and abs(rtt - BOT_DELAY_MS) <= 0.2 * BOT_DELAY_MS, rtt

        link.upstream = Impairment(loss_pct=15.0, delay_ms=BOT_DELAY_MS)
        await asyncio.sleep(10)
        loss = await average_while(16, lambda: up_link(live, pid).loss_pct)
        assert abs(loss - 15.0) <= 2.0, f"upstream loss {loss:.1f}% for 15% injected"
        assert live.quality.level(pid, "up") is Level.POOR

        link.upstream = Impairment()
        await until(
            lambda: live.quality.level(pid, "up") in (Level.GOOD, Level.EXCELLENT),
            20,
            "the level recovers once the impairment is gone",
        )
    finally:
        await stop_child(far)
        await near.close()
