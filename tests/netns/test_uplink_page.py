"""A Chromium participant on a narrow uplink (300 kbit/s behind a 200 ms drop-tail queue, like a
home router on a weak line) publishes its camera (simulcast) and microphone to a room where a
bot watches it: its voice still reaches the server with at most 2 % loss. The browser's own
estimator keeps its sending under the link only if the server tells it what the uplink carries
(transport-wide feedback), and is not told to send more (a REMB floor).

The browser runs in a child process inside the namespace (tests/netns/far_page.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from server.bot.client import Bot
from server.bot.media import EncodedMedia
from server.live.session import LiveSession
from server.media import aiortc_receive
from tests.conftest import RunningServer, until
from tests.netns.conftest import run_inside, stop_child
from tests.netns.far_bot import read
from tests.netns.impaired_link import ImpairedLink, Impairment

UPLINK = Impairment(rate_kbps=300, queue_ms=200)
SETTLE_S = 20.0  # the browser's estimator finds the link (it starts at ~300 kbit/s and probes)
MEASURE_S = 20.0
AUDIO_LOSS_MAX_PCT = 2.0


def audio_counts(live: LiveSession, pid: str) -> tuple[int, int]:
    """(received, lost) of the participant's audio as the server's receiver counts them."""
    publish = live.router.participants[pid].publish_pc
    assert publish is not None
    received = lost = 0
    for transceiver in publish.getTransceivers():
        if transceiver.kind == "audio":
            for stream in aiortc_receive.media_streams(transceiver.receiver):
                received += stream.packets_received
                lost += stream.packets_lost
    return received, lost


async def audio_loss_pct(live: LiveSession, pid: str, seconds: float) -> tuple[float, int]:
    """The audio's loss over the next `seconds`, and how many packets that is of."""
    received, lost = audio_counts(live, pid)
    await asyncio.sleep(seconds)
    now_received, now_lost = audio_counts(live, pid)
    expected = now_received - received + now_lost - lost
    return 100.0 * (now_lost - lost) / max(expected, 1), expected


async def test_a_page_on_a_300_kbit_uplink_keeps_its_voice(
    link: ImpairedLink, server_on_link: RunningServer, small_media: EncodedMedia, tmp_path: Path
) -> None:
    link.upstream = UPLINK
    session = await server_on_link.create_session("Narrow uplink")
    watcher = Bot(session["facilitator_url"], "Lead", small_media)
    await watcher.start()
    page = tmp_path / "page.json"
    child = await run_inside(
        link, ["-m", "tests.netns.far_page", session["invite_url"], "Sam", str(page), "150"]
    )
    try:
        live = server_on_link.live.sessions[session["session_id"]]
        await until(lambda: read(page).get("state") == "joined", 60, "the page joins")
        sam = read(page)["participant_id"]
        await until(lambda: watcher.received("video", sam) > 30, 30, "the lead sees Sam")
        await asyncio.sleep(SETTLE_S)
        loss_pct, expected = await audio_loss_pct(live, sam, MEASURE_S)
        dropped = dict(link.packets)
        assert expected > 100, f"too little audio to judge: {expected} packets"
        assert loss_pct <= AUDIO_LOSS_MAX_PCT, (
            f"Sam's audio lost {loss_pct:.1f}% of {expected} packets on the way; "
            f"the bottleneck dropped {dropped}"
        )
        assert watcher.received("video", sam) > 30
        assert read(page)["errors"] == []
    finally:
        await stop_child(child)
        await watcher.close()
