"""Forwarding benchmark: rooms of bots through the real server, against aiortc's stock relay.

    .venv/bin/python -m bench.forwarding [--sizes 4,8,12,16] [--window 10] [--warmup 3]

The server runs pinned to core 0 and the bots (bench/load_bots.py) to core 1. For each room
size it measures, over a fixed window: server CPU-seconds, forwarded packets/s (received by the
bots), CPU microseconds per forwarded packet, the loss the bots saw, forwarding delay p50/p99
(arrival to send, measured in the server) and RSS. The same 4-bot room through the stock
decode-and-re-encode relay (bench/stock_relay.py) runs in the same process as the baseline.
Bounded: every run stops by itself after warm-up plus the window. Traffic stays on 127.0.0.1.

    .venv/bin/python -m bench.forwarding --against janus --sizes 4,8,12

runs Circle and Janus's VideoRoom side by side in a private network namespace instead
(bench/against_janus.py; needs root).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import (
    LOOPBACK,
    PYTHON,
    ROOT,
    ServerProcess,
    pinned,
    start_server,
    stop_process,
)
from server.bot.media import generate_clip

TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def process_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Row:
    label: str
    people: int
    server_cores: float
    packets_per_s: float
    us_per_packet: float
    loss_pct: float
    delay_p50_ms: float | None
    delay_p99_ms: float | None
    rss_mb: float
    bot_cores: float
    bot_delay_p50_ms: float | None = None  # sending bot to receiving bot (--delay), video
    bot_delay_p99_ms: float | None = None

    @property
    def cores_per_subscription(self) -> float:
        """Server cores per (subscriber, publisher) pair."""
        return self.server_cores / (self.people * (self.people - 1))


@dataclass
class Window:
    """What one room's measurement window gave: the bots' result line and the server's CPU
    seconds, RSS and (Circle) forwarding stats sampled at the window's edges."""

    result: dict[str, Any]
    cpu_s: float
    rss_mb: float
    stats: dict[str, Any]


def drive_bots(
    people: int,
    clip: Path,
    args: argparse.Namespace,
    target: list[str],
    server_pid: int,
    circle: ServerProcess | None = None,
) -> Window | None:
    """Run bench.load_bots against `target` (its --invite-url or --janus/--room flags) and
    sample the server process at the window's edges; None when the room never formed."""
    command = [
        PYTHON, "-m", "bench.load_bots", *target,
        "--count", str(people),
        "--clip", str(clip),
        "--warmup", str(args.warmup),
        "--window", str(args.window),
        "--ice-address", args.ice_address,
        *(["--delay"] if args.delay else []),
    ]  # fmt: skip
    bots = subprocess.Popen(pinned(1, command), cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert bots.stdout is not None
        cpu0 = cpu1 = rss = 0.0
        stats: dict[str, Any] = {}
        result: dict[str, Any] = {}
        for line in bots.stdout:
            if line.startswith("WINDOW_START"):
                cpu0 = process_cpu_s(server_pid)
                if circle is not None:
                    circle.api("/api/stats?reset_delays=1")
            elif line.startswith("WINDOW_END"):
                cpu1 = process_cpu_s(server_pid)
                rss = process_rss_mb(server_pid)
                stats = circle.api("/api/stats") if circle is not None else {}
            elif line.startswith("RESULT "):
                result = json.loads(line[7:])
        if bots.wait(timeout=120) != 0 or not result:
            raise RuntimeError(f"bots failed with {people} people")
    finally:
        stop_process(bots)
    if "error" in result:
        print(f"{people} people: {result['error']}", flush=True)
        return None
    return Window(result, cpu1 - cpu0, rss, stats)


def row_of(label: str, people: int, window: Window) -> Row:
    result = window.result
    seconds = result["seconds"]
    received = sum(result["received"].values())
    lost = sum(result["lost"].values())
    bot_delay = result.get("delay_ms", {})
    return Row(
        label,
        people,
        window.cpu_s / seconds,
        received / seconds,
        window.cpu_s / received * 1e6 if received else float("nan"),
        100 * lost / (received + lost) if received + lost else 0.0,
        window.stats.get("delay_ms", {}).get("p50"),
        window.stats.get("delay_ms", {}).get("p99"),
        window.rss_mb,
        result["bot_cpu_s"] / seconds,
        bot_delay.get("p50"),
        bot_delay.get("p99"),
    )


def run_room(
    label: str,
    server_module: str,
    people: int,
    clip: Path,
    args: argparse.Namespace,
    server_args: Sequence[str] = (),
) -> Row | None:
    """One room measured over the window; None when the room never formed (overload)."""
    with (
        tempfile.TemporaryDirectory(prefix="circle-bench-") as tmp,
        start_server(
            Path(tmp) / "data",
            Path(tmp) / "server.log",
            module=server_module,
            extra_args=["--max-participants", str(max(people, 2)), *server_args],
            core=0,
            ice_address=args.ice_address,
            ice_network=args.ice_network,
        ) as server,
    ):
        body = {"title": f"bench {people}", "waiting_room": False}
        invite = server.api("/api/sessions", body)["invite_url"]
        window = drive_bots(people, clip, args, ["--invite-url", invite], server.pid, server)
    return None if window is None else row_of(label, people, window)


def bench_clip(width: int, height: int) -> Path:
    """The benchmarks' 10 s VP8 20 fps + Opus clip, made once per size in the temp dir."""
    return generate_clip(
        Path(tempfile.gettempdir()) / f"circle-bench-{width}x{height}.webm",
        seconds=10,
        width=width,
        height=height,
        fps=20,
    )


def machine(args: argparse.Namespace) -> str:
    return (
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}; media {args.width}x{args.height} VP8 20 fps + Opus"
    )


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(rows: list[Row]) -> str:
    head = (
        "| relay | people | server cores | forwarded pkt/s | CPU us/pkt | bot loss % "
        "| delay p50 ms | delay p99 ms | server RSS MB | bot cores |"
    )
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        lines.append(
            f"| {r.label} | {r.people} | {r.server_cores:.2f} | {r.packets_per_s:,.0f} | "
            f"{r.us_per_packet:.0f} | {r.loss_pct:.2f} | {fmt(r.delay_p50_ms, '.2f')} | "
            f"{fmt(r.delay_p99_ms, '.2f')} | {r.rss_mb:.0f} | {r.bot_cores:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="4,8,12,16")
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--python-send",
        action="store_true",
        help="after each size, the same room with the pure-Python packet writer "
        "(--no-compiled-send), for comparison in the same run",
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument(
        "--against",
        choices=["janus"],
        help="compare with Janus VideoRoom in a private network namespace (needs root)",
    )
    args = parser.parse_args()
    args.ice_address, args.ice_network, args.delay = LOOPBACK, "127.0.0.0/8", False
    clip = bench_clip(args.width, args.height)
    if args.against == "janus":
        from bench.against_janus import compare  # it builds on this module

        return compare(args, clip)
    rows = []
    runs: list[tuple[str, str, int, list[str]]] = []
    for n in args.sizes.split(","):
        runs.append(("forwarding", "server", int(n), []))
        if args.python_send:
            runs.append(("Python send", "server", int(n), ["--no-compiled-send"]))
    if not args.no_baseline:
        runs.append(("stock relay", "bench.stock_relay", 4, []))
    for label, module, people, server_args in runs:
        row = run_room(label, module, people, clip, args, server_args)
        if row is not None:
            rows.append(row)
            print(table([row]).splitlines()[-1], flush=True)
    print()
    print(machine(args))
    print(table(rows))
    forward4 = next((r for r in rows if r.label == "forwarding" and r.people == 4), None)
    stock4 = next((r for r in rows if r.label == "stock relay"), None)
    if forward4 and stock4:
        # The stock relay saturates its core at 4 people and delivers only part of the media,
        # so its CPU per subscription is scaled by the share of packets it delivered.
        delivered = stock4.packets_per_s / forward4.packets_per_s
        per_sub = stock4.cores_per_subscription / delivered / forward4.cores_per_subscription
        per_packet = stock4.us_per_packet / forward4.us_per_packet
        print(f"\nstock relay delivered {delivered:.0%} of the forwarded packet rate (4 people)")
        print(f"stock relay / forwarding, CPU per forwarded packet (4 people): {per_packet:.1f}x")
        print(f"stock relay / forwarding, CPU per subscription at full delivery: {per_sub:.1f}x")
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
