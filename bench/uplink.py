"""A Chromium page on a narrow uplink, with and without transport-wide congestion control: how
much of its voice reaches the server, and the round trip the server sees.

    sudo .venv/bin/python -m bench.uplink [--rate-kbps 300] [--queue-ms 200] [--runs 2]

Each run puts a page (camera in simulcast and microphone, Chromium's fake devices) in a fresh
network namespace behind the userspace link of tests/netns/impaired_link.py: its uplink limited
to the rate behind a drop-tail queue of `--queue-ms`. A bot on this side watches it. After 20 s
to settle (its audio loss over those 20 s, from its first packet, is shown too), 20 s are
measured: the page's audio loss as the server's receiver counts it, the page's media bitrate
arriving at the server, the round trip of the page's subscribe connection (its receiver
reports) and the packets the bottleneck dropped. Runs alternate "remb" (the server sends REMB
from aiortc's estimator, no transport-cc) and "transport-cc" (feedback, no REMB). Bounded:
about 50 s a run. Needs root.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from server.bot.client import Bot
from server.bot.media import EncodedMedia, generate_clip
from server.live.session import LiveSession
from tests.conftest import until
from tests.netns.conftest import run_inside, serve_on_link, stop_child
from tests.netns.far_bot import read
from tests.netns.impaired_link import ImpairedLink, Impairment
from tests.netns.test_uplink_page import MEASURE_S, SETTLE_S, audio_loss_pct


@dataclass
class Measured:
    settling_loss_pct: float  # the first SETTLE_S after joining
    loss_pct: float
    expected: int  # audio packets the page sent while measured
    kbps: float  # the page's media arriving at the server
    rtt_ms: float | None
    dropped: int  # packets the bottleneck dropped while measured


def media_bytes(live: LiveSession, pid: str) -> int:
    return sum(p.bytes for p in live.router.participants[pid].all_producers())


async def one_run(
    transport_cc: bool, uplink: Impairment, media: EncodedMedia, folder: Path
) -> Measured:
    link = ImpairedLink.create()
    link.start()
    try:
        link.upstream = uplink
        async with serve_on_link(link, folder, transport_cc=transport_cc) as server:
            session = await server.create_session("Uplink")
            watcher = Bot(session["facilitator_url"], "Lead", media)
            await watcher.start()
            page = folder / "page.json"
            child = await run_inside(
                link, ["-m", "tests.netns.far_page", session["invite_url"], "Sam", str(page), "90"]
            )
            try:
                live = server.live.sessions[session["session_id"]]
                await until(lambda: read(page).get("state") == "joined", 60, "the page joins")
                sam = read(page)["participant_id"]
                await until(lambda: watcher.received("audio", sam) > 0, 30, "Sam is heard")
                settling, _ = await audio_loss_pct(live, sam, SETTLE_S)
                dropped = link.packets["up_queue_dropped"]
                sent = media_bytes(live, sam)
                loss, expected = await audio_loss_pct(live, sam, MEASURE_S)
                kbps = (media_bytes(live, sam) - sent) * 8 / MEASURE_S / 1000
                _, down = await live.router.link_samples(sam, time.time())
                rtt = down.rtt_ms if down is not None else None
                dropped = link.packets["up_queue_dropped"] - dropped
                return Measured(settling, loss, expected, kbps, rtt, dropped)
            finally:
                await stop_child(child)
                await watcher.close()
    finally:
        link.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate-kbps", type=float, default=300)
    parser.add_argument("--queue-ms", type=float, default=200)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    uplink = Impairment(rate_kbps=args.rate_kbps, queue_ms=args.queue_ms)
    print(f"uplink {args.rate_kbps:g} kbit/s, drop-tail queue {args.queue_ms:g} ms")
    print(
        "| run | uplink feedback | audio loss 0-20 s | audio loss 20-40 s (packets) "
        "| media arriving | round trip | bottleneck drops |"
    )
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        clip = generate_clip(Path(tmp) / "clip.webm", seconds=6, width=320, height=240)
        media = EncodedMedia.load(clip, clip)
        for run in range(1, args.runs + 1):
            for transport_cc in (False, True):
                folder = Path(tempfile.mkdtemp(dir=tmp))
                m = await one_run(transport_cc, uplink, media, folder)
                label = "transport-cc" if transport_cc else "remb"
                rtt = f"{m.rtt_ms:.0f} ms" if m.rtt_ms is not None else "-"
                print(
                    f"| {run} | {label} | {m.settling_loss_pct:.1f} % | {m.loss_pct:.1f} % "
                    f"({m.expected}) | {m.kbps:.0f} kbit/s | {rtt} | {m.dropped} |"
                )


if __name__ == "__main__":
    asyncio.run(main())
