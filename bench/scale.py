"""Scale-out benchmark (issue 16): one Circle process against two on one Redis, adding rooms of
bots until one of them breaks the bar; or (issue 32, `--refusal 8,12`) how many groups of each
size one worker takes before its placement refuses the next.

    .venv/bin/python -m bench.scale [--people 6] [--max-rooms 8] [--window 10] [--warmup 3]
    .venv/bin/python -m bench.scale --refusal 8,12 [--max-rooms 8] [--window 10] [--warmup 3]

For each configuration (`circle serve --workers 1`, then `--workers 2`, each on a redis-server
this bench starts on a free loopback port) it adds `--people`-person rooms one at a time; each
room's bots run in a process of their own (bench/load_bots.py --hold), nothing pinned: the
servers and the bots share this machine's cores, so what counts is the ratio between the two
configurations. After each room is added and warmed up, over one window: every room's loss (the
bots' counts) and every process's forwarding delay p99 (its /api/stats). The configuration
holds N rooms when with N rooms every room lost at most 1 % and every process's p99 stayed at
most 50 ms; it stops at the first room past either, at a room that does not form, or at
--max-rooms. Placement never refuses (a huge --capacity-cores): the bench finds the media's limit.

With `--refusal`: for each group size, `circle serve --workers 1` at its default
`--capacity-cores`, rooms of that size added the same way until the placement refuses one
(`at_capacity`), the bar above breaks first (or the rooms forward less than MIN_ROOM_SHARE of
the first room's packets each: the machine is full), or --max-rooms. Each step also shows the
CPU the node measured of itself (its heartbeat, what placement reads) and the server's CPU per
forwarded packet; from the CPU per group it derives how many groups the worker takes before
refusing, which holds where the bots do not share the server's cores.
Bounded: each step is its warm-up and window (a room forms within 90 s or counts as one too
many), and a room waits while its joins would pass the server's per-address join limit (20 a
minute: every bot comes from 127.0.0.1); everything it started is stopped at the end. Traffic
stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import tempfile
import time
from asyncio.subprocess import PIPE, Process
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.forwarding import bench_clip, process_cpu_s
from bench.harness import (
    KINDS,
    PYTHON,
    ROOT,
    RedisServer,
    answers_http,
    child_pids,
    http_json,
    start_server,
    wait_ready,
)
from server.config import Settings
from server.limits import JOIN_WINDOW_S, JOINS_PER_ADDRESS

MAX_LOSS_PCT = 1.0
MAX_P99_MS = 50.0
# --refusal: every room forwards at least this share of what the first one alone did (else the
# machine, bots included, is full, and the CPU per group would come out too low)
MIN_ROOM_SHARE = 0.9
FORM_TIMEOUT_S = 90.0
NEVER_FULL_CORES = 1_000  # --capacity-cores for the one-against-two runs
DRAIN_TIMEOUT_S = 5  # the rooms are closed before the servers stop; nothing to hand over

Totals = dict[str, dict[str, int]]


class Room:
    """One session's bots in their own process, answering "the totals so far" on request."""

    def __init__(self, process: Process) -> None:
        self.process = process

    async def wait_formed(self) -> str | None:
        """None once formed, else why not (the bots' last line: a refusal names its code)."""
        assert self.process.stdout is not None
        last = b"the bots exited"
        try:
            async with asyncio.timeout(FORM_TIMEOUT_S):
                while line := await self.process.stdout.readline():
                    if line.startswith(b"READY"):
                        return None
                    last = line.strip()
        except TimeoutError:
            return f"not formed within {FORM_TIMEOUT_S:.0f} s"
        return last.decode(errors="replace")

    async def totals(self) -> Totals:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(b"\n")
        await self.process.stdin.drain()
        while line := await self.process.stdout.readline():
            if line.startswith(b"TOTALS "):
                totals: Totals = json.loads(line[7:])
                return totals
        raise RuntimeError("a room's bots exited")

    async def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 20)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@dataclass
class Step:
    rooms: int
    packets_per_s: float  # forwarded by all the processes together
    worst_loss_pct: float  # the worst room's
    worst_p99_ms: float  # the worst process's
    busy_pct: float  # the whole machine's CPU, all cores
    server_cores: float  # the busiest server process's (1.0: one core, its limit)
    node_cores: float | None  # the most a node measured of itself; None: no node key (late)

    @property
    def us_per_packet(self) -> float:
        """Server CPU per forwarded packet (one process: the busiest's time)."""
        return 1e6 * self.server_cores / max(self.packets_per_s, 1.0)

    def holds(self) -> bool:
        return self.worst_loss_pct <= MAX_LOSS_PCT and self.worst_p99_ms <= MAX_P99_MS


@dataclass
class Result:
    workers: int
    people: int
    held: Step | None
    stopped: str
    refused: bool = False  # stopped by the placement's at_capacity


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def server_pids(pid: int) -> list[int]:
    """The server's process and its workers (with --workers above 1, it only supervises)."""
    return [pid, *child_pids(pid)]


def cpu_by_process(pids: list[int]) -> list[float]:
    return [process_cpu_s(pid) for pid in pids]


def loss_pct(before: Totals, after: Totals) -> float:
    received = sum(after["received"][k] - before["received"][k] for k in KINDS)
    lost = sum(after["lost"][k] - before["lost"][k] for k in KINDS)
    return 100 * lost / (received + lost) if received + lost else 100.0


async def stats(bases: list[str], key: str, query: str = "") -> list[dict[str, Any]]:
    return [await asyncio.to_thread(http_json, f"{b}/api/stats{query}", key) for b in bases]


def node_cores(redis: RedisServer) -> float | None:
    """The most CPU a node said it uses, in its lease key (server/cluster/placement.py); None
    when no key is there (heartbeats late past the lease: Redis or the node starved)."""
    with redis.client() as client:
        raws = [client.get(k) for k in client.scan_iter(match="circle:node:*")]
    return max((json.loads(raw)["cpu_cores"] for raw in raws if raw), default=None)


def cores(value: float | None) -> str:
    return "no node key" if value is None else f"{value:.2f}"


async def measure(
    bases: list[str],
    key: str,
    pids: list[int],
    rooms: list[Room],
    window_s: float,
    redis: RedisServer,
) -> Step:
    """Every room and every process over one window."""
    first = await stats(bases, key, "?reset_delays=1")
    before = [await room.totals() for room in rooms]
    cpu0, servers0, t0 = machine_jiffies(), cpu_by_process(pids), time.monotonic()
    await asyncio.sleep(window_s)
    after = [await room.totals() for room in rooms]
    cpu1, servers1, t1 = machine_jiffies(), cpu_by_process(pids), time.monotonic()
    last = await stats(bases, key)
    forwarded = sum(b["packets_out"] - a["packets_out"] for a, b in zip(first, last, strict=True))
    return Step(
        len(rooms),
        forwarded / (t1 - t0),
        max(loss_pct(b, a) for b, a in zip(before, after, strict=True)),
        max(s["delay_ms"]["p99"] or 0.0 for s in last),
        100 * (cpu1[0] - cpu0[0]) / max(cpu1[1] - cpu0[1], 1),
        max(b - a for a, b in zip(servers0, servers1, strict=True)) / (t1 - t0),
        node_cores(redis),
    )


async def under_join_limit(joined_at: list[float], people: int) -> None:
    """Wait until `people` more joins stay under the server's per-address join limit: every
    bot here comes from 127.0.0.1. `joined_at`: when each earlier bot had joined (at latest)."""
    now = time.monotonic()
    recent = sorted(t for t in joined_at if now - t < JOIN_WINDOW_S)
    excess = len(recent) + people - JOINS_PER_ADDRESS
    if excess > 0:
        await asyncio.sleep(recent[excess - 1] + JOIN_WINDOW_S + 1.0 - now)


async def open_room(base: str, key: str, people: int, clip: Path, log: Path) -> Room:
    body = {"title": "scale", "waiting_room": False}
    session = await asyncio.to_thread(http_json, f"{base}/api/sessions", key, body)
    command = ["-m", "bench.load_bots", "--invite-url", session["invite_url"], "--hold"]
    command += ["--count", str(people), "--clip", str(clip)]
    with log.open("ab") as sink:
        process = await asyncio.create_subprocess_exec(
            PYTHON, *command, cwd=ROOT, stdin=PIPE, stdout=PIPE, stderr=sink
        )
    return Room(process)


async def run_config(
    workers: int,
    people: int,
    capacity: list[str],
    args: argparse.Namespace,
    clip: Path,
    tmp: Path,
) -> Result:
    """Rooms of `people` added to `workers` processes (`capacity`: their capacity flags) until
    one is refused, breaks the bar (with --refusal, MIN_ROOM_SHARE too) or --max-rooms."""
    name = f"{workers}x{people}"
    (tmp / f"redis-{name}").mkdir()
    redis = RedisServer(tmp / f"redis-{name}", persistent=False)
    redis.start()
    flags = ["--redis-url", redis.url, "--workers", str(workers), "--node-id", "bench"]
    flags += [*capacity, "--drain-timeout-s", str(DRAIN_TIMEOUT_S)]
    rooms: list[Room] = []
    result = Result(workers, people, None, f"--max-rooms {args.max_rooms}")
    try:
        server = await asyncio.to_thread(
            start_server, tmp / f"data-{name}", tmp / f"server-{name}.log", extra_args=flags
        )
        port = urlsplit(server.base).port or 0
        bases = [f"http://127.0.0.1:{port + i}" for i in range(workers)]
        for base in bases:
            if not wait_ready(server.process, answers_http(f"{base}/healthz"), 20, 0.2):
                raise RuntimeError(f"worker at {base} did not start")
        pids = server_pids(server.pid)
        bots_log = tmp / f"bots-{name}.log"
        joined_at: list[float] = []
        first: Step | None = None  # with one room
        try:
            while len(rooms) < args.max_rooms:
                await under_join_limit(joined_at, people)
                room = await open_room(server.base, server.key, people, clip, bots_log)
                rooms.append(room)
                why = await room.wait_formed()
                joined_at += [time.monotonic()] * people
                if why is not None:
                    result.refused = "at_capacity" in why
                    seen = cores(node_cores(redis))
                    result.stopped = f"room {len(rooms)}: {why[:120]} (node at {seen} core)"
                    break
                await asyncio.sleep(args.warmup)
                step = await measure(bases, server.key, pids, rooms, args.window, redis)
                print(f"  {workers} process(es), rooms of {people}: {row(step)}", flush=True)
                first = first or step
                per_room = step.packets_per_s / step.rooms
                short = bool(args.refusal) and per_room < MIN_ROOM_SHARE * first.packets_per_s
                if not step.holds() or short:
                    result.stopped = (
                        f"room {step.rooms}: loss {step.worst_loss_pct:.2f} %, "
                        f"p99 {step.worst_p99_ms:.1f} ms, {per_room:,.0f} pkt/s a room"
                    )
                    break
                result.held = step
        finally:
            await asyncio.gather(*(room.close() for room in rooms))
            await asyncio.to_thread(server.stop)
    finally:
        redis.stop()
    return result


def row(step: Step) -> str:
    return (
        f"{step.rooms} rooms, {step.packets_per_s:,.0f} pkt/s, worst loss "
        f"{step.worst_loss_pct:.2f} %, worst p99 {step.worst_p99_ms:.1f} ms, "
        f"machine CPU {step.busy_pct:.0f} %, busiest server {step.server_cores:.2f} core "
        f"({step.us_per_packet:.0f} us/pkt), node's own measure {cores(step.node_cores)} core"
    )


def table(results: list[Result]) -> str:
    lines = [
        "| processes | rooms held | people | forwarded pkt/s | worst room loss % "
        "| worst delay p99 ms | machine CPU % | busiest server, cores | server us/pkt "
        "| node's own measure, cores | stopped at |",
        "|" + "---|" * 11,
    ]
    for r in results:
        s = r.held
        cells = ["0", "0"] + ["-"] * 8
        if s is not None:
            cells = [str(s.rooms), str(s.rooms * r.people), f"{s.packets_per_s:,.0f}"]
            cells += [f"{s.worst_loss_pct:.2f}", f"{s.worst_p99_ms:.1f}", f"{s.busy_pct:.0f}"]
            cells += [f"{s.server_cores:.2f}", f"{s.us_per_packet:.0f}", cores(s.node_cores)]
        lines.append(f"| {r.workers} | " + " | ".join(cells) + f" | {r.stopped} |")
    return "\n".join(lines)


def groups_before_refusal(result: Result, capacity_cores: float) -> str:
    """From the CPU per group at the last step held: the worker takes a new group while it
    measures less than its capacity, so it holds the first count whose CPU reaches it."""
    s = result.held
    if s is None:
        return f"groups of {result.people}: none held"
    per_group = s.server_cores / s.rooms
    derived = math.ceil(capacity_cores / per_group)
    seen = f"refused group {s.rooms + 1}" if result.refused else "not refused in this run"
    return (
        f"groups of {result.people}: {per_group:.3f} core each ({s.us_per_packet:.0f} us/pkt) "
        f"-> {derived} groups ({derived * result.people} people) before refusing at "
        f"{capacity_cores} core; measured: held {s.rooms}, {seen}"
    )


async def main_async(args: argparse.Namespace) -> int:
    clip = bench_clip(640, 480)
    never_full = ["--capacity-cores", str(NEVER_FULL_CORES)]
    if args.refusal:  # one worker at its default capacity
        runs = [(1, int(size), list[str]()) for size in args.refusal.split(",")]
    else:
        runs = [(workers, args.people, never_full) for workers in (1, 2)]
    with tempfile.TemporaryDirectory(prefix="circle-scale-") as tmp:
        results = [await run_config(*run, args, clip, Path(tmp)) for run in runs]
    print()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}; load average at the end "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; bots 640x480 VP8 20 fps + Opus, "
        "bots and servers on the same cores"
    )
    print(table(results))
    if args.refusal:
        print()
        for result in results:
            print(groups_before_refusal(result, Settings().capacity_cores))
        return 0
    one, two = (r.held for r in results)
    if one and two:
        print(
            f"\ntwo processes / one: {two.rooms / one.rooms:.2f}x the rooms, "
            f"{two.packets_per_s / one.packets_per_s:.2f}x the forwarded packets/s"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=6)
    parser.add_argument("--max-rooms", type=int, default=8)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument(
        "--refusal", help="group sizes, e.g. 8,12: one worker each, until its placement refuses"
    )
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
