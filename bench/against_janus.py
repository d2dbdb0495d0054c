"""`python -m bench.forwarding --against janus`: Circle and Janus's VideoRoom side by side.

Both run in one private network namespace (bench/netns.py: a TEST-NET address on an ifb device,
since Janus gathers no candidates on loopback), each server pinned to core 0 and the same aiortc
bots (bench/load_bots.py) pinned to core 1, with the same media; per room size Circle runs, then
Janus, each freshly started. Per server: CPU per forwarded packet (from /proc/<pid>/stat over
the window, packets counted at the receiving bots), delivery, loss, and the delay of video from
the sending bot to the receiving ones (bench/delay_probe.py: the same measure for both). Then the
Circle / Janus ratios. Janus (Debian's package) is installed when missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

import aiohttp

from bench.forwarding import Row, drive_bots, fmt, machine, row_of, run_room
from bench.harness import free_port
from bench.janus_client import create_room
from bench.janus_server import ensure_installed, running_janus
from bench.netns import ADDRESS, DEVICE, NETWORK, inside_namespace


async def new_room(url: str, people: int) -> int:
    async with aiohttp.ClientSession() as http:
        return await create_room(http, url, people)


def janus_room(people: int, clip: Path, args: argparse.Namespace, workdir: Path) -> Row | None:
    with running_janus(
        workdir, http_port=free_port(), ice_device=DEVICE, ice_address=ADDRESS, core=0
    ) as janus:
        room = asyncio.run(new_room(janus.url, people))
        target = ["--janus", janus.url, "--room", str(room)]
        window = drive_bots(people, clip, args, target, janus.pid)
    return None if window is None else row_of("janus", people, window)


def rows_table(rows: list[Row]) -> str:
    lines = [
        "| server | people | server cores | forwarded pkt/s | CPU us/pkt | bot loss % "
        "| delay p50 ms | delay p99 ms | RSS MB | bot cores |",
        "|" + "---|" * 10,
    ]
    for r in rows:
        lines.append(
            f"| {r.label} | {r.people} | {r.server_cores:.2f} | {r.packets_per_s:,.0f} | "
            f"{r.us_per_packet:.0f} | {r.loss_pct:.2f} | {fmt(r.bot_delay_p50_ms, '.1f')} | "
            f"{fmt(r.bot_delay_p99_ms, '.1f')} | {r.rss_mb:.0f} | {r.bot_cores:.2f} |"
        )
    return "\n".join(lines)


def ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def ratios_table(rows: list[Row]) -> str:
    lines = [
        "| people | CPU per packet | packets delivered | delay p50 | delay p99 |",
        "|---|---|---|---|---|",
    ]
    for people in sorted({r.people for r in rows}):
        circle = next((r for r in rows if r.people == people and r.label == "circle"), None)
        janus = next((r for r in rows if r.people == people and r.label == "janus"), None)
        if circle is None or janus is None:
            lines.append(f"| {people} | (a room did not form) | | | |")
            continue
        lines.append(
            f"| {people} | {ratio(circle.us_per_packet, janus.us_per_packet)} | "
            f"{ratio(circle.packets_per_s, janus.packets_per_s)} | "
            f"{ratio(circle.bot_delay_p50_ms, janus.bot_delay_p50_ms)} | "
            f"{ratio(circle.bot_delay_p99_ms, janus.bot_delay_p99_ms)} |"
        )
    return "\n".join(lines)


def _stop(signum: int, frame: FrameType | None) -> None:
    sys.exit(128 + signum)  # unwinds: servers, bots and the namespace are torn down


def compare(args: argparse.Namespace, clip: Path) -> int:
    args.ice_address, args.ice_network, args.delay = ADDRESS, NETWORK, True
    if os.geteuid() != 0:
        print("--against janus needs root: it makes a network namespace", file=sys.stderr)
        return 2
    ensure_installed()  # before the namespace: apt needs the network
    signal.signal(signal.SIGTERM, _stop)
    rows: list[Row] = []
    try:
        with inside_namespace(), tempfile.TemporaryDirectory(prefix="circle-janus-") as tmp:
            for people in (int(n) for n in args.sizes.split(",")):
                circle = run_room("circle", "server", people, clip, args)
                janus = janus_room(people, clip, args, Path(tmp) / f"janus-{people}")
                for row in (circle, janus):
                    if row is not None:
                        rows.append(row)
                        print(rows_table([row]).splitlines()[-1], flush=True)
    except KeyboardInterrupt:
        print("interrupted: servers, bots and the namespace are gone", file=sys.stderr)
        return 130
    print()
    print(machine(args) + f"; {ADDRESS} on {DEVICE} in a private network namespace")
    print(rows_table(rows))
    print("\nCircle / Janus (below 1: Circle costs less per packet, delivers less, is faster)")
    print(ratios_table(rows))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in rows], indent=2))
    return 0
