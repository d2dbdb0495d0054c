"""Running bots: `run_bots` starts several against one invite and reports; `cli_main` is
`circle bot`."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from server.bot.client import Bot, BotError
from server.bot.media import EncodedMedia, default_clip
from server.bot.stats import ERROR, ICE_FAILED, JOINED, REFUSED, BotReport, BotStats
from server.media import aiortc_hooks

log = logging.getLogger(__name__)

ICE_ENV = "CIRCLE_ICE_ADDRESSES"
CONNECT_LIMIT_S = 20.0  # a joined bot's peer connections must connect within this


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
    connect_limit_s: float = CONNECT_LIMIT_S,
    report: BotReport | None = None,
) -> BotReport:
    """Run `count` bots for `duration` seconds (None: until cancelled) and report each one's
    outcome: joined, refused (with the server's reason), ICE failed, or error. A bot that does
    not join leaves at once; the others keep running.

    Bots start `stagger_s` apart, so their keyframes do not all fall on the same instant.
    `report`, if given, is filled in even when the run is cancelled (Ctrl-C)."""
    if media is None:
        media = await asyncio.to_thread(load_media, audio, video)
    bots = [
        Bot(invite_url, names[i] if names and i < len(names) else f"Bot {i + 1}", media)
        for i in range(count)
    ]
    outcomes: dict[int, tuple[str, str]] = {}
    report = report if report is not None else BotReport()
    started_at = time.monotonic()

    async def start(i: int, bot: Bot) -> None:
        await asyncio.sleep(i * stagger_s)
        outcomes[i] = await _start(bot, connect_limit_s)
        if outcomes[i][0] != JOINED:
            log.warning("%s: %s %s", bot.name, outcomes[i][0], outcomes[i][1])
            await bot.leave()

    try:
        await asyncio.gather(*(start(i, b) for i, b in enumerate(bots)))
        started_at = time.monotonic()
        if duration is None:
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(duration)
    finally:
        report.seconds = time.monotonic() - started_at
        report.bots = [_stats(b, outcomes.get(i)) for i, b in enumerate(bots)]
        await asyncio.shield(asyncio.gather(*(b.leave() for b in bots), return_exceptions=True))
    return report


def _stats(bot: Bot, outcome: tuple[str, str] | None) -> BotStats:
    what, detail = outcome or (ERROR, "stopped before it had joined")
    return replace(bot.stats(), outcome=what, detail=detail)


async def _start(bot: Bot, connect_limit_s: float) -> tuple[str, str]:
    """Join, publish, subscribe and wait for both peer connections: (outcome, detail)."""
    try:
        await bot.start()
    except BotError as exc:
        if exc.code is None:
            return ERROR, str(exc)
        server_said = f"{exc.code}: {exc.reason}" if exc.reason else exc.code
        # The server drops someone whose peer connection failed, so a request after that is
        # refused (`not_joined`): the failure, not the refusal, is what happened.
        if await _peer_failed(bot, connect_limit_s):
            return ICE_FAILED, f"{bot.connection_states()}; then the server said {server_said}"
        return REFUSED, server_said
    except Exception as exc:  # whatever it was, this bot stops here and the others go on
        return ERROR, f"{type(exc).__name__}: {exc}"
    try:
        await bot.wait_connected(connect_limit_s)
    except (BotError, TimeoutError):
        return ICE_FAILED, bot.connection_states()
    return JOINED, ""


async def _peer_failed(bot: Bot, limit_s: float) -> bool:
    """Whether one of the bot's peer connections fails within `limit_s` (False at once when it
    has none, or when they all connect)."""
    pcs = [pc for pc in (bot.publish_pc, bot.subscribe_pc) if pc is not None]
    loop = asyncio.get_running_loop()
    until = loop.time() + limit_s
    while pcs and loop.time() < until:
        if any("failed" in (pc.iceConnectionState, pc.connectionState) for pc in pcs):
            return True
        if all(pc.connectionState == "connected" for pc in pcs):
            return False
        await asyncio.sleep(0.05)
    return False


async def cli_main(
    invite_url: str,
    count: int,
    duration: float | None,
    audio: str | None,
    video: str | None,
    ice_addresses: Sequence[str] | None = None,
    *,
    media: EncodedMedia | None = None,
) -> int:
    """`circle bot`: run the bots, print a per-bot table at the end (and on Ctrl-C); exit 1 when
    any bot did not join, or joined but sent or received no media."""
    addresses = list(ice_addresses) if ice_addresses else ice_addresses_from_env()
    if addresses:
        aiortc_hooks.restrict_host_addresses(addresses)
    report = BotReport()
    try:
        await run_bots(invite_url, count, duration, audio, video, media=media, report=report)
    finally:
        print(report.table(), flush=True)
    return report.exit_code
