"""One bot for a network-namespace test, run as a child process inside the namespace
(`python -m tests.netns.far_bot INVITE_URL STATS_PATH SECONDS CLIP`): it joins, publishes the
clip and subscribes like any bot (reconnecting and resuming by itself after a drop), and every
0.2 s writes what it knows to STATS_PATH as JSON (its participant id, how often it resumed,
what it received from whom), replacing the file atomically so the test never reads half of it.

ICE gathers only on the addresses in CIRCLE_ICE_ADDRESSES (the namespace's end of the link).
It leaves the session (as a person who says goodbye) after SECONDS, or on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from server.bot.client import Bot
from server.bot.media import EncodedMedia
from server.bot.run import ice_addresses_from_env
from server.media import aiortc_hooks

WRITE_EVERY_S = 0.2


def snapshot(bot: Bot) -> dict[str, Any]:
    stats = bot.stats()
    return {
        "participant_id": bot.participant_id,
        "resumes": bot.resumes,
        "socket_connected": bot.sio.connected,
        "received": stats.received,
        "sent": stats.sent,
        "sources": stats.sources,
        "connections": bot.connection_states(),
    }


def write(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data))
    os.replace(partial, path)


def read(path: Path) -> dict[str, Any]:
    """What the child last wrote ({} before it first has)."""
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data


async def keep_writing(
    stats_path: Path, seconds: float, view: Callable[[], Awaitable[dict[str, Any]]]
) -> None:
    """Write `view()` to `stats_path` every WRITE_EVERY_S until `seconds` pass or SIGTERM."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while not stop.is_set():
                write(stats_path, await view())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), WRITE_EVERY_S)


async def main(invite_url: str, stats_path: Path, seconds: float, clip: Path) -> None:
    addresses = ice_addresses_from_env()
    if addresses:
        aiortc_hooks.restrict_host_addresses(addresses)
    bot = Bot(invite_url, "Far", EncodedMedia.load(clip, clip))

    async def view() -> dict[str, Any]:
        return snapshot(bot)

    try:
        await bot.start()
        await keep_writing(stats_path, seconds, view)
    finally:
        await bot.leave()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    url, path, duration, media = sys.argv[1:5]
    asyncio.run(main(url, Path(path), float(duration), Path(media)))
