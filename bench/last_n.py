"""Last-N benchmark: one room of bots through the real server, three ways over the same media.

    .venv/bin/python -m bench.last_n [--people 12] [--shown 4] [--window 8] [--warmup 3]

The server runs pinned to core 0, the bots (in this process) to core 1. Phases, each measured
over the same window after a warm-up:
- `everyone`: no bot reports a view, so each gets every other's video (as before last-N);
- `view of N`: each bot reports the N bots after it (a ring: every camera is watched);
- `views in the first half`: each bot reports N of the first half only: the other cameras
  are watched by nobody, told so, and stop sending.
For each: the server's CPU (core fraction), video packets/s sent by the bots, video and audio
packets/s the bots received (audio must not fall), and the server's own count of packets sent
and of frames dropped at backed-up sockets, per second.
Bounded: it stops by itself. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from bench.forwarding import process_cpu_s
from bench.harness import ServerProcess, everyone_hears_everyone, start_server
from server.bot.client import Bot
from server.bot.media import EncodedMedia, generate_clip
from server.media import aiortc_hooks


def counts(bots: list[Bot]) -> dict[str, int]:
    """Packets so far: video the bots sent (the server received), video and audio they got."""
    return {
        "video in": sum(bot.sent("video") for bot in bots),
        "video out": sum(bot.received("video") for bot in bots),
        "audio out": sum(bot.received("audio") for bot in bots),
    }


async def report_views(bots: list[Bot], choose: list[list[Bot]]) -> None:
    for bot, shown in zip(bots, choose, strict=True):
        tiles = [{"participant_id": b.participant_id, "width": 320, "height": 240} for b in shown]
        await bot.request("view", {"tiles": tiles})


async def forwarded(server: ServerProcess) -> dict[str, int]:
    """The server's own counters: every packet it sent, and frames a backed-up socket dropped."""
    stats = await asyncio.to_thread(server.api, "/api/stats")
    return {"server out": stats["packets_out"], "server dropped": stats["frames_dropped"]}


async def measure(
    label: str, bots: list[Bot], server: ServerProcess, args: argparse.Namespace
) -> None:
    await asyncio.sleep(args.warmup)
    cpu0, t0 = process_cpu_s(server.pid), time.monotonic()
    before = {**counts(bots), **await forwarded(server)}
    await asyncio.sleep(args.window)
    span = time.monotonic() - t0
    cpu = (process_cpu_s(server.pid) - cpu0) / span
    after = {**counts(bots), **await forwarded(server)}
    rates = " | ".join(f"{(after[k] - before[k]) / span:.0f}" for k in before)
    print(f"| {label} | {cpu:.2f} | {rates} |", flush=True)


async def run(args: argparse.Namespace) -> None:
    os.sched_setaffinity(0, {1})
    aiortc_hooks.restrict_host_addresses(["127.0.0.1"])
    with tempfile.TemporaryDirectory() as tmp:
        clip = generate_clip(Path(tmp) / "clip.webm", seconds=6, width=320, height=240, fps=15)
        media = EncodedMedia.load(clip, clip)
        with start_server(Path(tmp), Path(tmp) / "server.log", core=0) as server:
            created = server.api("/api/sessions", {"title": "Last-N", "waiting_room": False})
            bots = [Bot(created["invite_url"], f"B{i}", media) for i in range(args.people)]
            try:
                for bot in bots:
                    await bot.start()
                for bot in bots:
                    await bot.wait_connected()
                async with asyncio.timeout(30):
                    while not everyone_hears_everyone(bots):
                        await asyncio.sleep(0.2)
                n, shown = len(bots), args.shown
                print(f"{n} people, clip 320x240 15 fps; each view shows {shown} others")
                print(
                    "| phase | server CPU (cores) | video in/s | video out/s | audio out/s"
                    " | server packets out/s | frames dropped/s |"
                )
                print("| --- | --- | --- | --- | --- | --- | --- |")
                await measure("everyone", bots, server, args)
                ring = [[bots[(i + j) % n] for j in range(1, shown + 1)] for i in range(n)]
                await report_views(bots, ring)
                await measure(f"view of {shown}", bots, server, args)
                half = bots[: n // 2]
                await report_views(
                    bots, [[b for b in half if b is not bot][:shown] for bot in bots]
                )
                await measure("views in the first half", bots, server, args)
            finally:
                for bot in bots:
                    await bot.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=12)
    parser.add_argument("--shown", type=int, default=4)
    parser.add_argument("--window", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
