"""Forwarding benchmark: rooms of bots through the real server, against aiortc's stock relay.

    .venv/bin/python -m bench.forwarding [--sizes 4,8,12,16] [--window 10] [--warmup 3]

The server runs pinned to core 0 and the bots (bench/load_bots.py) to core 1. For each room
size it measures, over a fixed window: server CPU-seconds, forwarded packets/s (received by the
bots), CPU microseconds per forwarded packet, the loss the bots saw, forwarding delay p50/p99
(arrival to send, measured in the server) and RSS. The same 4-bot room through the stock
decode-and-re-encode relay (bench/stock_relay.py) runs in the same process as the baseline.
Bounded: every run stops by itself after warm-up plus the window. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import PYTHON, ROOT, pinned, start_server
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

    @property
    def cores_per_subscription(self) -> float:
        """Server cores per (subscriber, publisher) pair."""
        return self.server_cores / (self.people * (self.people - 1))


def run_room(
    label: str, server_module: str, people: int, clip: Path, args: argparse.Namespace
) -> Row | None:
    """One room measured over the window; None when the room never formed (overload)."""
    with (
        tempfile.TemporaryDirectory(prefix="circle-bench-") as tmp,
        start_server(
            Path(tmp) / "data",
            Path(tmp) / "server.log",
            module=server_module,
            extra_args=["--max-participants", str(max(people, 2))],
            core=0,
        ) as server,
    ):
        body = {"title": f"bench {people}", "waiting_room": False}
        invite = server.api("/api/sessions", body)["invite_url"]
        bots = subprocess.Popen(
            pinned(
                1,
                [
                    PYTHON,
                    "-m",
                    "bench.load_bots",
                    "--invite-url",
                    invite,
                    "--count",
                    str(people),
                    "--clip",
                    str(clip),
                    "--warmup",
                    str(args.warmup),
                    "--window",
                    str(args.window),
                ],
            ),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert bots.stdout is not None
        cpu0 = cpu1 = 0.0
        stats: dict[str, Any] = {}
        result: dict[str, Any] = {}
        for line in bots.stdout:
            if line.startswith("WINDOW_START"):
                cpu0 = process_cpu_s(server.pid)
                server.api("/api/stats?reset_delays=1")
            elif line.startswith("WINDOW_END"):
                cpu1 = process_cpu_s(server.pid)
                stats = server.api("/api/stats")
                rss = process_rss_mb(server.pid)
            elif line.startswith("RESULT "):
                result = json.loads(line[7:])
        if bots.wait(timeout=120) != 0 or not result:
            raise RuntimeError(f"bots failed for {label} {people}")
        if "error" in result:
            print(f"{label}, {people} people: {result['error']}", flush=True)
            return None
    seconds = result["seconds"]
    received = sum(result["received"].values())
    lost = sum(result["lost"].values())
    cpu = cpu1 - cpu0
    return Row(
        label,
        people,
        cpu / seconds,
        received / seconds,
        cpu / received * 1e6 if received else float("nan"),
        100 * lost / (received + lost) if received + lost else 0.0,
        stats.get("delay_ms", {}).get("p50"),
        stats.get("delay_ms", {}).get("p99"),
        rss,
        result["bot_cpu_s"] / seconds,
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
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    clip = generate_clip(
        Path(tempfile.gettempdir()) / f"circle-bench-{args.width}x{args.height}.webm",
        seconds=10,
        width=args.width,
        height=args.height,
        fps=20,
    )
    rows = []
    runs = [("forwarding", "server", int(n)) for n in args.sizes.split(",")]
    if not args.no_baseline:
        runs.append(("stock relay", "bench.stock_relay", 4))
    for label, module, people in runs:
        row = run_room(label, module, people, clip, args)
        if row is not None:
            rows.append(row)
            print(table([row]).splitlines()[-1], flush=True)
    print()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}; media {args.width}x{args.height} VP8 20 fps + Opus"
    )
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
