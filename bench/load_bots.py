"""Bots for bench/forwarding.py and bench/scale.py, in their own process.

Joins `--count` bots (to a Circle session, or to a Janus VideoRoom with `--janus`), waits until
everyone receives everyone, warms up, then measures over a fixed window and prints one JSON
line. It prints `WINDOW_START` and `WINDOW_END` lines at the window's edges so the parent can
sample the server's CPU at the same moments. With `--delay` it also times video packets from
the sending bot to the receiving ones (bench/delay_probe.py). With `--hold` the room stays up
instead: `READY` once formed, then the totals so far (`TOTALS {...}`) for each line read from
stdin, until stdin closes (the parent times its windows across rooms)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import uvloop
from aiohttp import ClientSession, TCPConnector

from bench.delay_probe import DelayProbe, ProbedReceiveCounter, StampingVp8Packer
from bench.harness import KINDS, LOOPBACK, everyone_hears_everyone
from bench.janus_client import JanusBot, JanusError
from server.bot.client import Bot, BotError
from server.bot.media import EncodedMedia
from server.media import aiortc_hooks


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def totals(bots: list[Any]) -> dict[str, dict[str, int]]:
    return {
        "received": {k: sum(b.received(k) for b in bots) for k in KINDS},
        "lost": {k: sum(b.lost(k) for b in bots) for k in KINDS},
        "sent": {k: sum(b.sent(k) for b in bots) for k in KINDS},
    }


async def start_circle_bots(
    args: argparse.Namespace, media: EncodedMedia, probe: DelayProbe | None
) -> list[Bot]:
    bots = [
        Bot(args.invite_url, f"Bench {i + 1}", media, **probe_parts(probe))
        for i in range(args.count)
    ]
    for i, bot in enumerate(bots):
        await bot.start()
        await asyncio.sleep(0.1 * (i % 5))  # spread keyframes
    return bots


async def start_janus_bots(
    args: argparse.Namespace, media: EncodedMedia, probe: DelayProbe | None, http: ClientSession
) -> list[JanusBot]:
    """Everyone publishes, then everyone subscribes to everyone else on one connection."""
    bots = [
        JanusBot(http, args.janus, args.room, f"Bench {i + 1}", media, **probe_parts(probe))
        for i in range(args.count)
    ]
    for i, bot in enumerate(bots):
        await bot.start()
        await asyncio.sleep(0.1 * (i % 5))  # spread keyframes
    for bot in bots:
        await bot.subscribe([other.feed for other in bots if other is not bot and other.feed])
    return bots


def probe_parts(probe: DelayProbe | None) -> dict[str, Any]:
    if probe is None:
        return {}
    return {
        "receive_counter": ProbedReceiveCounter(probe),
        "video_packer": StampingVp8Packer(probe),
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    aiortc_hooks.restrict_host_addresses([args.ice_address])
    media = EncodedMedia.load(args.clip, args.clip)
    probe = DelayProbe() if args.delay else None
    bots: list[Any] = []
    async with ClientSession(connector=TCPConnector(limit=0)) as http:
        try:
            try:
                async with asyncio.timeout(60 + 2 * args.count):
                    if args.janus:
                        bots = await start_janus_bots(args, media, probe, http)
                    else:
                        bots = await start_circle_bots(args, media, probe)
                    for bot in bots:
                        await bot.wait_connected()
                    while not everyone_hears_everyone(bots):
                        await asyncio.sleep(0.1)
            except (TimeoutError, BotError, JanusError) as exc:
                return {"error": f"room never formed: {exc or 'timeout'}"}
            gc.collect()
            gc.freeze()  # as the server does: no full-heap GC pauses inside the window
            if args.hold:
                await hold(bots)
                return {}
            await asyncio.sleep(args.warmup)
            before, cpu_before, t0 = totals(bots), cpu_seconds(), time.monotonic()
            if probe is not None:
                probe.measuring = True
            print("WINDOW_START", flush=True)
            await asyncio.sleep(args.window)
            after, cpu_after, t1 = totals(bots), cpu_seconds(), time.monotonic()
            print("WINDOW_END", flush=True)
            if probe is not None:
                probe.measuring = False
        finally:
            await asyncio.gather(*(b.close() for b in bots), return_exceptions=True)
    delta = {
        key: {k: after[key][k] - before[key][k] for k in KINDS}
        for key in ("received", "lost", "sent")
    }
    delay = {} if probe is None else {f"p{p}": probe.percentile_ms(p) for p in (50, 99)}
    return {"seconds": t1 - t0, "bot_cpu_s": cpu_after - cpu_before, "delay_ms": delay, **delta}


async def hold(bots: list[Bot]) -> None:
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, sys.stdin.readline):
        print("TOTALS " + json.dumps(totals(bots)), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--invite-url", help="a Circle session's invite link")
    target.add_argument("--janus", help="a Janus HTTP API URL (with --room)")
    parser.add_argument("--room", type=int, help="the Janus VideoRoom to join")
    parser.add_argument("--ice-address", default=LOOPBACK, help="gather ICE only here")
    parser.add_argument("--delay", action="store_true", help="time video packets end to end")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--clip", type=Path, required=True)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--hold", action="store_true", help="keep the room up (see above)")
    args = parser.parse_args()
    uvloop.install()
    result = asyncio.run(run(args))
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
