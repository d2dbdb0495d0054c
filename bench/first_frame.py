"""Join to first frame: how long a newcomer waits to hear and see a room (issue 18's target:
under 1 s on loopback).

    .venv/bin/python -m bench.first_frame [--publishers 4] [--trials 10] [--json PATH] [--chromium]

A real `circle serve` runs pinned to core 0; this process (all bots) to core 1. The publishers
(bots sending the generated 640x480 VP8 20 fps + Opus clip, and watching each other, as in a
session) form the room first. Then, one trial at a time, a new bot joins, subscribes only,
and leaves again once it has audio and a keyframe from everyone. Each trial's clock starts
before its socket connects, so the times include signalling, ICE, DTLS and the keyframe
request's round trip (a new subscriber's video waits for a keyframe, which the server asks
each publisher for). Per trial:
- `signalled`: joined, subscribed and answered (the bot's start() returned);
- `connected`: its subscribing peer connection connected (ICE and DTLS);
- `first audio` / `audio from all`: the first Opus packet from any / from the last publisher
  (a silent publisher sends one every 400 ms: DTX);
- `first keyframe` / `everyone visible`: the first VP8 keyframe (a picture a decoder can show)
  from any / from the last publisher.
With `--chromium` the joiner is a headless Chromium page instead, and a publisher is seen at
its first decoded frame (bench/first_frame_page.py says how that is timed).
Bounded: a trial gives up after TRIAL_LIMIT_S. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.first_frame_page import page_join
from bench.forwarding import bench_clip, machine
from bench.harness import CHROMIUM, CHROMIUM_ARGS, everyone_hears_everyone, start_server
from server.bot.client import Bot
from server.bot.media import EncodedMedia
from server.bot.stats import FirstArrivals
from server.media import aiortc_hooks

if TYPE_CHECKING:
    from playwright.async_api import Browser

MEASURES = (
    "signalled",
    "connected",
    "first audio",
    "audio from all",
    "first keyframe",
    "everyone visible",
)
TRIAL_LIMIT_S = 10.0
ROOM_LIMIT_S = 30.0
POLL_S = 0.005  # how finely `connected` is seen (its state has no event a caller can await)
SETTLE_S = 1.0  # between trials: the leaver's slots freed, the room back to steady


@dataclass
class Trial:
    """Milliseconds from the start of the join to each measure (None: not within the limit)."""

    ms: dict[str, float | None] = field(default_factory=dict)


async def watch_connected(bot: Bot, t0: float, trial: Trial) -> None:
    while True:
        pc = bot.subscribe_pc
        if pc is not None and pc.connectionState == "connected":
            trial.ms["connected"] = 1000 * (time.monotonic() - t0)
            return
        await asyncio.sleep(POLL_S)


def first_and_last(times: list[float | None], t0: float) -> tuple[float | None, float | None]:
    """(ms to the earliest, ms to the latest) of `times`; the latest is None if one is None."""
    seen = [t for t in times if t is not None]
    first = 1000 * (min(seen) - t0) if seen else None
    last = 1000 * (max(seen) - t0) if len(seen) == len(times) else None
    return first, last


async def bot_trial(invite: str, index: int, publishers: list[Bot]) -> Trial:
    arrivals = FirstArrivals()
    ids = [p.participant_id or "" for p in publishers]
    result = Trial()
    t0 = time.monotonic()
    joiner = Bot(invite, f"Joiner {index}", publish=False, receive_counter=arrivals)
    watcher = asyncio.create_task(watch_connected(joiner, t0, result))
    try:
        async with asyncio.timeout(TRIAL_LIMIT_S):
            await joiner.start()
            result.ms["signalled"] = 1000 * (time.monotonic() - t0)
            while not all(
                i in arrivals.first_keyframe and ("audio", i) in arrivals.first_packet for i in ids
            ):
                await asyncio.sleep(0.01)
    except TimeoutError:
        pass  # what came is kept; the rest stays None
    finally:
        watcher.cancel()
        await joiner.leave()
    audio = [arrivals.first_packet.get(("audio", i)) for i in ids]
    keyframes = [arrivals.first_keyframe.get(i) for i in ids]
    return finished(result, audio, keyframes, t0)


async def chromium_trial(browser: Browser, invite: str, index: int, publishers: list[Bot]) -> Trial:
    ids = [p.participant_id or "" for p in publishers]
    join = await page_join(browser, invite, index, ids, TRIAL_LIMIT_S)
    audio, video = [join.audio.get(i) for i in ids], [join.video.get(i) for i in ids]
    return finished(Trial(dict(join.marks)), audio, video, join.t0)


def finished(
    result: Trial, audio: list[float | None], pictures: list[float | None], t0: float
) -> Trial:
    """`result` with the first and last of the publishers' audio and picture times."""
    result.ms["first audio"], result.ms["audio from all"] = first_and_last(audio, t0)
    result.ms["first keyframe"], result.ms["everyone visible"] = first_and_last(pictures, t0)
    return result


def shown(result: Trial) -> str:
    return ", ".join(
        f"{m} {'-' if (v := result.ms.get(m)) is None else f'{v:.0f}'} ms" for m in MEASURES
    )


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """(p50, p90, max) of `values`."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    p90 = statistics.quantiles(values, n=10, method="inclusive")[8]
    return statistics.median(values), p90, max(values)


def table(trials: list[Trial]) -> tuple[str, dict[str, dict[str, float | int]]]:
    """The Markdown table and the same numbers as a dict (measure -> p50, p90, max, missed)."""
    lines = ["| measure | p50 ms | p90 ms | max ms | missed |", "| --- | --- | --- | --- | --- |"]
    summary: dict[str, dict[str, float | int]] = {}
    for measure in MEASURES:
        values = [v for t in trials if (v := t.ms.get(measure)) is not None]
        missed = len(trials) - len(values)
        if not values:
            lines.append(f"| {measure} | - | - | - | {missed} |")
            continue
        p50, p90, top = percentiles(values)
        summary[measure] = {"p50": p50, "p90": p90, "max": top, "missed": missed}
        lines.append(f"| {measure} | {p50:.0f} | {p90:.0f} | {top:.0f} | {missed} |")
    return "\n".join(lines), summary


async def joins(args: argparse.Namespace, invite: str, publishers: list[Bot]) -> list[Trial]:
    """The trials, one at a time, by bots or (`--chromium`) by pages of one browser."""
    if not args.chromium:
        return await each_trial(args, lambda k: bot_trial(invite, k, publishers))
    from playwright.async_api import async_playwright

    # Chromium is not the bots: it may use every core, as a person's computer is not the
    # server's. It inherits the affinity of Playwright's driver, started here.
    pinned = os.sched_getaffinity(0)
    os.sched_setaffinity(0, range(os.cpu_count() or 1))
    try:
        playwright = await async_playwright().start()
    finally:
        os.sched_setaffinity(0, pinned)
    try:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            return await each_trial(args, lambda k: chromium_trial(browser, invite, k, publishers))
        finally:
            await browser.close()
    finally:
        await playwright.stop()


async def each_trial(
    args: argparse.Namespace, one: Callable[[int], Awaitable[Trial]]
) -> list[Trial]:
    trials = []
    for k in range(args.trials):
        await asyncio.sleep(SETTLE_S)
        trials.append(await one(k))
        print(f"trial {k + 1}: {shown(trials[-1])}", flush=True)
    return trials


async def run(args: argparse.Namespace) -> int:
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    aiortc_hooks.restrict_host_addresses(["127.0.0.1"])
    clip = bench_clip(args.width, args.height)
    media = EncodedMedia.load(clip, clip)
    with (
        tempfile.TemporaryDirectory(prefix="circle-bench-") as tmp,
        start_server(
            Path(tmp) / "data",
            Path(tmp) / "server.log",
            extra_args=["--max-participants", str(max(16, args.publishers + 1))],
            core=0,
        ) as server,
    ):
        created = server.api("/api/sessions", {"title": "First frame", "waiting_room": False})
        invite = created["invite_url"]
        publishers = [Bot(invite, f"Publisher {i}", media) for i in range(args.publishers)]
        try:
            async with asyncio.timeout(ROOM_LIMIT_S):
                for bot in publishers:
                    await bot.start()
                for bot in publishers:
                    await bot.wait_connected()
                while not everyone_hears_everyone(publishers):
                    await asyncio.sleep(0.2)
            trials = await joins(args, invite, publishers)
        finally:
            for bot in publishers:
                await bot.leave()
    text, summary = table(trials)
    print()
    print(machine(args))
    joiner = "a Chromium page (a picture: a decoded frame)" if args.chromium else "a bot"
    print(f"{args.publishers} publishers, {len(trials)} joins one at a time, each by {joiner}")
    print(text)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "publishers": args.publishers,
                    "summary": summary,
                    "trials": [t.ms for t in trials],
                },
                indent=2,
            )
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the summary and trials here")
    parser.add_argument(
        "--chromium",
        action="store_true",
        help="the joiner is a headless Chromium page (bench/first_frame_page.py), timed to "
        "each publisher's first decoded frame",
    )
    args = parser.parse_args()
    args.width, args.height = 640, 480
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
