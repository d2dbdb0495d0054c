"""Soak: a 12-person session (a facilitator and 11 participants, all bots publishing and
subscribing) on a real `circle serve` child process for `--minutes` (30; 5 for a quick run),
with people leaving and coming back, connections dropping (the socket and peer connections
closed without a leave) and resuming a few seconds later, breakout rooms opening, closing and
people moved between them, and private 1:1 rooms. Every `--every` seconds it samples the
server's RSS, open file descriptors, asyncio tasks and its sessions' objects (/api/stats); then
everyone leaves, the empty session is finished (`--empty-session-final-s`), and it samples
until everything is back at the baseline (or `--return-limit-s` passes).

The baseline is taken after a full-size warm-up session (`--warm-up-s`) has come and gone, so
that what a first session loads once (aiortc's modules, codecs) and the memory CPython and
malloc keep for reuse after freeing it are in it; the start-up sample is printed too. It prints
the curve as a table and exits 1 when something grows in the last third of the run or does not
come back (see bench/soak_report.py for the rules). Loopback only; bounded by `--minutes` plus
a few minutes.

    python -m bench.soak --minutes 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import LOOPBACK, ServerProcess, start_server
from bench.soak_report import Sample, header, judge, row, sample, table
from server.bot.client import Bot, BotError
from server.bot.media import EncodedMedia, generate_clip
from server.media import aiortc_hooks

PEOPLE = 11  # participants, besides the facilitator
STEP_LIMIT_S = 90.0  # one action (a bot joining, leaving, a control); bounded whatever happens
ACTIONS = ("leave", "join", "drop", "breakouts", "move", "private")


@dataclass
class Seat:
    """One person: their page's rejoin key outlives each bot that plays them."""

    name: str
    key: str = ""
    bot: Bot | None = None
    back_at: float | None = None  # dropped: resumes then


@dataclass
class Cast:
    invite_url: str
    media: EncodedMedia
    lead: Bot
    seats: list[Seat]
    rng: random.Random
    counts: dict[str, int] = field(default_factory=dict)
    breakouts_open: bool = False
    private_with: str | None = None

    def present(self) -> list[Seat]:
        return [s for s in self.seats if s.bot is not None]

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    async def enter(self, seat: Seat) -> None:
        bot = Bot(self.invite_url, seat.name, self.media)
        if seat.key:
            bot.rejoin_key = seat.key  # the same page, back: the same person
        try:
            await bot.start()
        except BotError as exc:
            self.count(f"failed: {exc.code or exc}")
            await bot.close()
            return
        seat.key, seat.bot, seat.back_at = bot.rejoin_key or "", bot, None

    async def control(self, body: dict[str, object]) -> None:
        try:
            await self.lead.request("control", body)
        except BotError as exc:
            self.count(f"refused {body['action']}: {exc.code}")

    async def step(self, now: float) -> None:
        for seat in self.seats:  # dropped people come back on their own
            if seat.back_at is not None and now >= seat.back_at:
                await self.enter(seat)
                self.count("resumed")
        action = self.rng.choice(ACTIONS)
        present = [s for s in self.present() if s.bot and s.bot.participant_id]
        absent = [s for s in self.seats if s.bot is None and s.back_at is None]
        if action == "join" and absent:
            await self.enter(self.rng.choice(absent))
        elif action == "leave" and len(present) > 6:
            seat = self.rng.choice(present)
            if seat.bot is None or seat.bot.participant_id == self.private_with:
                return
            await seat.bot.leave()
            seat.bot = None
        elif action == "drop" and present:
            seat = self.rng.choice(present)
            assert seat.bot is not None
            await seat.bot.close()  # socket and peer connections gone, no leave
            seat.bot, seat.back_at = None, now + self.rng.uniform(2, 8)
        elif action == "breakouts":
            await self._breakouts()
        elif action == "move" and self.breakouts_open and present:
            pid = self.rng.choice(present).bot.participant_id  # type: ignore[union-attr]
            room = self.rng.choice(["b1", "b2", "b3", "main"])
            await self.control({"action": "breakout_move", "target": pid, "room": room})
        elif action == "private":
            await self._private(present)
        else:
            return
        self.count(action)

    async def _breakouts(self) -> None:
        if self.breakouts_open:
            await self.control({"action": "breakout_close_all"})
        else:
            await self.control({"action": "breakout_create", "count": 3})
            await self.control({"action": "breakout_auto_assign", "seed": self.rng.randrange(99)})
            await self.control(
                {"action": "breakout_open", "duration_s": 600, "return_countdown_s": 0}
            )
        self.breakouts_open = not self.breakouts_open

    async def _private(self, present: list[Seat]) -> None:
        if self.private_with is not None:
            await self.control({"action": "return_to_main", "target": self.private_with})
            self.private_with = None
        elif present and not self.breakouts_open:
            pid = self.rng.choice(present).bot.participant_id  # type: ignore[union-attr]
            await self.control({"action": "private_room", "target": pid})
            self.private_with = pid

    async def everyone_leaves(self) -> None:
        for seat in self.seats:
            if seat.bot is not None:
                await seat.bot.leave()
            seat.bot = seat.back_at = None
        await self.lead.leave()


async def settle(server: ServerProcess, people: int) -> Sample:
    await asyncio.sleep(2)
    return await asyncio.to_thread(sample, server, 0, people)


async def warm_up(server: ServerProcess, media: EncodedMedia, seconds: float) -> None:
    """A full-size session (12 people) that comes and goes: what a first session loads, and
    the memory CPython and malloc keep for reuse once freed, are then in the baseline."""
    session = await asyncio.to_thread(server.api, "/api/sessions", _session_body("Warm-up"))
    bots = [Bot(session["invite_url"], f"W{i}", media) for i in range(1 + PEOPLE)]
    for bot in bots:
        await bot.start()
    await asyncio.sleep(seconds)
    for bot in bots:
        await bot.leave()


async def until_back(
    server: ServerProcess, baseline: Sample, limit_s: float, every_s: float, counts: bool = True
) -> Sample:
    """Samples until no session runs and (`counts`) every count is back at the baseline, or
    `limit_s` passes: the last sample."""
    deadline = time.monotonic() + limit_s
    keys = ("fds", "tasks", "peer_connections_open") if counts else ("peer_connections_open",)
    while True:
        after = await asyncio.to_thread(sample, server, 0, 0)
        back = after["sessions"] == 0 and all(after[k] <= baseline[k] for k in keys)
        if back or time.monotonic() > deadline:
            return after
        await asyncio.sleep(every_s)


def _session_body(title: str) -> dict[str, object]:
    return {"title": title, "waiting_room": False}


async def soak(args: argparse.Namespace, server: ServerProcess, media: EncodedMedia) -> int:
    aiortc_hooks.restrict_host_addresses([LOOPBACK])
    start_up = await settle(server, 0)
    await warm_up(server, media, args.warm_up_s)
    await until_back(server, start_up, 60, 1, counts=False)
    baseline = await settle(server, 0)
    session = await asyncio.to_thread(server.api, "/api/sessions", _session_body("Soak"))
    lead = Bot(session["facilitator_url"], "Lead", media)
    await lead.start()
    seats = [Seat(f"P{i + 1}") for i in range(PEOPLE)]
    cast = Cast(session["invite_url"], media, lead, seats, random.Random(args.seed))
    for seat in seats:
        await cast.enter(seat)
    run: list[Sample] = []
    began = time.monotonic()
    end = began + args.minutes * 60
    next_sample = began
    while (now := time.monotonic()) < end:
        if now >= next_sample:
            people = 1 + len(cast.present())
            run.append(await asyncio.to_thread(sample, server, now - began, people))
            print(row(run[-1]) if len(run) > 1 else header() + "\n" + row(run[0]), flush=True)
            next_sample += args.every
        try:
            async with asyncio.timeout(STEP_LIMIT_S):
                await cast.step(now)
        except TimeoutError:
            cast.count("step hung")  # a bot's request or close did not finish: a problem
        await asyncio.sleep(cast.rng.uniform(0.5, 2 * args.tick_s))
    await cast.everyone_leaves()
    left_at = time.monotonic()
    after = await until_back(server, baseline, args.return_limit_s, args.every / 2)
    returned_in = time.monotonic() - left_at
    print()
    print(table([start_up, baseline], "start-up, then after the warm-up (the baseline)"))
    print()
    print(table(run, f"{args.minutes:g} min, 12 people, a sample every {args.every:g} s"))
    print()
    print(table([after], f"after everyone left ({returned_in:.0f} s later)"))
    print(f"\nactions: {dict(sorted(cast.counts.items()))}")
    print(f"load average at the end (the machine is shared): {os.getloadavg()}")
    verdict = judge(
        baseline,
        run,
        after,
        rss_slope_mb_min=args.rss_slope_mb_min,
        rss_return_mb=args.rss_return_mb,
    )
    if "step hung" in cast.counts:
        verdict.problems.append(f"{cast.counts['step hung']} actions hung for {STEP_LIMIT_S} s")
    for note in verdict.notes:
        print(note)
    for problem in verdict.problems:
        print(f"PROBLEM: {problem}")
    print("flat and back to the baseline" if verdict.ok else "FAILED")
    return 0 if verdict.ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=None, help="seconds between samples")
    parser.add_argument("--tick-s", type=float, default=2.0, help="mean seconds between actions")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--warm-up-s", type=float, default=30.0)
    parser.add_argument("--empty-session-final-s", type=float, default=5.0)
    parser.add_argument("--return-limit-s", type=float, default=120.0)
    parser.add_argument("--rss-slope-mb-min", type=float, default=1.0)
    parser.add_argument("--rss-return-mb", type=float, default=20.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("engineio.client").setLevel(logging.CRITICAL)  # a dropped socket, retried
    if args.every is None:
        args.every = max(10.0, args.minutes * 60 / 40)  # about 40 rows
    with tempfile.TemporaryDirectory(prefix="circle-soak-") as tmp:
        clip = generate_clip(
            Path(tmp) / "clip.webm", seconds=6, width=160, height=120, fps=10, video_bitrate=100_000
        )
        media = EncodedMedia.load(clip, clip)
        server = start_server(
            Path(tmp),
            Path(tmp) / "server.log",
            extra_args=["--empty-session-final-s", str(args.empty_session_final_s)],
        )
        with server, contextlib.suppress(KeyboardInterrupt):
            return asyncio.run(soak(args, server, media))
    return 1


if __name__ == "__main__":
    sys.exit(main())
