"""Bots for bench/forwarding.py and bench/scale.py, in their own process.

Joins `--count` bots, waits until everyone receives everyone, warms up, then measures over a
fixed window and prints one JSON line. It prints `WINDOW_START` and `WINDOW_END` lines at the
window's edges so the parent can sample the server's CPU at the same moments. With `--hold` the
room stays up instead: `READY` once formed, then the totals so far (`TOTALS {...}`) for each
line read from stdin, until stdin closes (the parent times its windows across rooms)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import sys
import time
from pathlib import Path

import uvloop

from bench.harness import KINDS, everyone_hears_everyone
from server.bot.client import Bot, BotError
from server.bot.media import EncodedMedia
from server.media import aiortc_hooks


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def totals(bots: list[Bot]) -> dict[str, dict[str, int]]:
    return {
        "received": {k: sum(b.received(k) for b in bots) for k in KINDS},
        "lost": {k: sum(b.lost(k) for b in bots) for k in KINDS},
        "sent": {k: sum(b.sent(k) for b in bots) for k in KINDS},
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    aiortc_hooks.restrict_host_addresses(["127.0.0.1"])
    media = EncodedMedia.load(args.clip, args.clip)
    bots = [Bot(args.invite_url, f"Bench {i + 1}", media) for i in range(args.count)]
    try:
        for i, bot in enumerate(bots):
            await bot.start()
            await asyncio.sleep(0.1 * (i % 5))  # spread keyframes
        try:
            async with asyncio.timeout(60):
                for bot in bots:
                    await bot.wait_connected()
                while not everyone_hears_everyone(bots):
                    await asyncio.sleep(0.1)
        except (TimeoutError, BotError) as exc:
            return {"error": f"room never formed: {exc or 'timeout'}"}
        gc.collect()
        gc.freeze()  # as the server does: no full-heap GC pauses inside the window
        if args.hold:
            await hold(bots)
            return {}
        await asyncio.sleep(args.warmup)
        before, cpu_before, t0 = totals(bots), cpu_seconds(), time.monotonic()
        print("WINDOW_START", flush=True)
        await asyncio.sleep(args.window)
        after, cpu_after, t1 = totals(bots), cpu_seconds(), time.monotonic()
        print("WINDOW_END", flush=True)
    finally:
        await asyncio.gather(*(b.close() for b in bots), return_exceptions=True)
    delta = {
        key: {k: after[key][k] - before[key][k] for k in KINDS}
        for key in ("received", "lost", "sent")
    }
    return {"seconds": t1 - t0, "bot_cpu_s": cpu_after - cpu_before, **delta}


async def hold(bots: list[Bot]) -> None:
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, sys.stdin.readline):
        print("TOTALS " + json.dumps(totals(bots)), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invite-url", required=True)
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
