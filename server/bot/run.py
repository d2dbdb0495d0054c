"""Running bots: `run_bots` starts several against one invite and reports; `cli_main` is
`circle bot`."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from pathlib import Path

from server.bot.client import Bot
from server.bot.media import EncodedMedia, default_clip
from server.bot.stats import BotReport
from server.media import aiortc_hooks

ICE_ENV = "CIRCLE_ICE_ADDRESSES"


def ice_addresses_from_env() -> list[str] | None:
    value = os.environ.get(ICE_ENV, "").strip()
    return [a.strip() for a in value.split(",") if a.strip()] or None


def load_media(audio: str | Path | None, video: str | Path | None) -> EncodedMedia:
    """The files given, or the default generated clip (cached) when neither is."""
    if audio is None and video is None:
        clip = default_clip()
        return EncodedMedia.load(clip, clip)
    return EncodedMedia.load(audio, video)


async def run_bots(
    invite_url: str,
    count: int,
    duration: float | None,
    audio: str | Path | None = None,
    video: str | Path | None = None,
    names: Sequence[str] | None = None,
    *,
    media: EncodedMedia | None = None,
    stagger_s: float = 0.2,
    report: BotReport | None = None,
) -> BotReport:
    """Run `count` bots for `duration` seconds (None: until cancelled) and report.

    Bots start `stagger_s` apart, so their keyframes do not all fall on the same instant.
    `report`, if given, is filled in even when the run is cancelled (Ctrl-C)."""
    if media is None:
        media = await asyncio.to_thread(load_media, audio, video)
    bots = [
        Bot(invite_url, names[i] if names and i < len(names) else f"Bot {i + 1}", media)
        for i in range(count)
    ]
    report = report if report is not None else BotReport()
    started_at = time.monotonic()

    async def start(i: int, bot: Bot) -> None:
        await asyncio.sleep(i * stagger_s)
        await bot.start()

    try:
        await asyncio.gather(*(start(i, b) for i, b in enumerate(bots)))
        started_at = time.monotonic()
        if duration is None:
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(duration)
    finally:
        report.seconds = time.monotonic() - started_at
        report.bots = [b.stats() for b in bots]
        await asyncio.shield(asyncio.gather(*(b.leave() for b in bots), return_exceptions=True))
    return report


async def cli_main(
    invite_url: str,
    count: int,
    duration: float | None,
    audio: str | None,
    video: str | None,
    ice_addresses: Sequence[str] | None = None,
) -> int:
    """`circle bot`: run the bots, print a per-bot table at the end (and on Ctrl-C)."""
    addresses = list(ice_addresses) if ice_addresses else ice_addresses_from_env()
    if addresses:
        aiortc_hooks.restrict_host_addresses(addresses)
    report = BotReport()
    try:
        await run_bots(invite_url, count, duration, audio, video, report=report)
    finally:
        print(report.table(), flush=True)
    return 0
