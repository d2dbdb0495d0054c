"""Scale-out benchmark (issue 16): one Circle process against two on one Redis, adding rooms of
bots until one of them breaks the bar.

    .venv/bin/python -m bench.scale [--people 6] [--max-rooms 8] [--window 10] [--warmup 3]

For each configuration (`circle serve --workers 1`, then `--workers 2`, each on a redis-server
this bench starts on a free loopback port) it adds `--people`-person rooms one at a time; each
room's bots run in a process of their own (bench/load_bots.py --hold), nothing pinned: the
servers and the bots share this machine's cores, so what counts is the ratio between the two
configurations. After each room is added and warmed up, over one window: every room's loss (the
bots' counts) and every process's forwarding delay p99 (its /api/stats). The configuration
holds N rooms when with N rooms every room lost at most 1 % and every process's p99 stayed at
most 50 ms; it stops at the first room past either, at a room that does not form, or at
--max-rooms. Placement never refuses (a huge --capacity-cores): the bench finds the media's limit.
Bounded: each step is its warm-up and window (a room forms within 90 s or counts as one too
many); everything it started is stopped at the end. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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

MAX_LOSS_PCT = 1.0
MAX_P99_MS = 50.0
FORM_TIMEOUT_S = 90.0
CAPACITY_CORES = 1_000  # never reached
DRAIN_TIMEOUT_S = 5  # the rooms are closed before the servers stop; nothing to hand over

Totals = dict[str, dict[str, int]]


class Room:
    """One session's bots in their own process, answering "the totals so far" on request."""

    def __init__(self, process: Process) -> None:
        self.process = process

    async def wait_formed(self) -> bool:
        assert self.process.stdout is not None
        try:
            async with asyncio.timeout(FORM_TIMEOUT_S):
                while line := await self.process.stdout.readline():
                    if line.startswith(b"READY"):
                        return True
        except TimeoutError:
            pass
        return False

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

    def holds(self) -> bool:
        return self.worst_loss_pct <= MAX_LOSS_PCT and self.worst_p99_ms <= MAX_P99_MS


@dataclass
class Result:
    workers: int
    held: Step | None
    stopped: str


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


async def measure(
    bases: list[str], key: str, pids: list[int], rooms: list[Room], window_s: float
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
    )


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


async def run_config(workers: int, args: argparse.Namespace, clip: Path, tmp: Path) -> Result:
    (tmp / f"redis-{workers}").mkdir()
    redis = RedisServer(tmp / f"redis-{workers}", persistent=False)
    redis.start()
    flags = ["--redis-url", redis.url, "--workers", str(workers), "--node-id", "bench"]
    flags += ["--capacity-cores", str(CAPACITY_CORES), "--drain-timeout-s", str(DRAIN_TIMEOUT_S)]
    rooms: list[Room] = []
    held: Step | None = None
    stopped = f"--max-rooms {args.max_rooms}"
    try:
        server = await asyncio.to_thread(
            start_server, tmp / f"data-{workers}", tmp / f"server-{workers}.log", extra_args=flags
        )
        port = urlsplit(server.base).port or 0
        bases = [f"http://127.0.0.1:{port + i}" for i in range(workers)]
        for base in bases:
            if not wait_ready(server.process, answers_http(f"{base}/healthz"), 20, 0.2):
                raise RuntimeError(f"worker at {base} did not start")
        pids = server_pids(server.pid)
        bots_log = tmp / f"bots-{workers}.log"
        try:
            while len(rooms) < args.max_rooms:
                room = await open_room(server.base, server.key, args.people, clip, bots_log)
                rooms.append(room)
                if not await rooms[-1].wait_formed():
                    stopped = f"room {len(rooms)} did not form"
                    break
                await asyncio.sleep(args.warmup)
                step = await measure(bases, server.key, pids, rooms, args.window)
                print(f"  {workers} process(es): {row(step)}", flush=True)
                if not step.holds():
                    stopped = (
                        f"room {step.rooms}: loss {step.worst_loss_pct:.2f} %, "
                        f"p99 {step.worst_p99_ms:.1f} ms"
                    )
                    break
                held = step
        finally:
            await asyncio.gather(*(room.close() for room in rooms))
            await asyncio.to_thread(server.stop)
    finally:
        redis.stop()
    return Result(workers, held, stopped)


def row(step: Step) -> str:
    return (
        f"{step.rooms} rooms, {step.packets_per_s:,.0f} pkt/s, worst loss "
        f"{step.worst_loss_pct:.2f} %, worst p99 {step.worst_p99_ms:.1f} ms, "
        f"machine CPU {step.busy_pct:.0f} %, busiest server {step.server_cores:.2f} core"
    )


def table(results: list[Result], people: int) -> str:
    lines = [
        "| processes | rooms held | people | forwarded pkt/s | worst room loss % "
        "| worst delay p99 ms | machine CPU % | busiest server, cores | stopped at |",
        "|" + "---|" * 9,
    ]
    for r in results:
        s = r.held
        cells = ["0", "0", "-", "-", "-", "-", "-"]
        if s is not None:
            cells = [str(s.rooms), str(s.rooms * people), f"{s.packets_per_s:,.0f}"]
            cells += [f"{s.worst_loss_pct:.2f}", f"{s.worst_p99_ms:.1f}", f"{s.busy_pct:.0f}"]
            cells.append(f"{s.server_cores:.2f}")
        lines.append(f"| {r.workers} | " + " | ".join(cells) + f" | {r.stopped} |")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> int:
    clip = bench_clip(640, 480)
    results = []
    with tempfile.TemporaryDirectory(prefix="circle-scale-") as tmp:
        for workers in (1, 2):
            results.append(await run_config(workers, args, clip, Path(tmp)))
    print()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}; load average at the end "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; rooms of {args.people} bots "
        "(640x480 VP8 20 fps + Opus), bots and servers on the same cores"
    )
    print(table(results, args.people))
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
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
