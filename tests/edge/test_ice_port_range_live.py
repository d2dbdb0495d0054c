"""`circle serve --ice-port-range`: the server's ICE host candidates use only those UDP ports,
media connects through them, and a join beyond the range gets a clear refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiortc import RTCPeerConnection

from bench.harness import free_udp_ports, start_server
from server.bot.client import Bot, BotError
from server.bot.media import EncodedMedia, generate_clip
from server.cli import build_parser
from server.config import settings_from_args


def _candidate_ports(pc: RTCPeerConnection | None) -> set[int]:
    assert pc is not None and pc.remoteDescription is not None
    lines = pc.remoteDescription.sdp.splitlines()
    return {int(line.split()[5]) for line in lines if line.startswith("a=candidate")}


async def test_server_candidates_stay_in_the_range(tmp_path: Path, loopback_ice: None) -> None:
    first, last = free_udp_ports(2)  # one participant's publish and subscribe connections
    media = EncodedMedia.load(*[generate_clip(tmp_path / "clip.webm", seconds=1.0)] * 2)
    flags = ["--ice-port-range", f"{first}-{last}"]
    with start_server(tmp_path / "data", tmp_path / "server.log", extra_args=flags) as server:
        session = server.api("/api/sessions", {"title": "Ports", "waiting_room": False})
        ana = Bot(session["invite_url"], "Ana", media)
        ben = Bot(session["invite_url"], "Ben", media)
        try:
            await ana.start()
            await ana.wait_connected()
            ports = _candidate_ports(ana.publish_pc) | _candidate_ports(ana.subscribe_pc)
            assert ports == {first, last}
            with pytest.raises(BotError) as refused:  # no port left for Ben's connections
                await ben.start()
            assert refused.value.code == "at_capacity", refused.value
        finally:
            await ben.close()
            await ana.close()


def test_malformed_ranges_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    for text in ("40000", "40999-40000", "80-90", "40000-70000", "a-b"):
        flags = ["serve", "--data-dir", str(tmp_path / "data"), "--ice-port-range", text]
        with pytest.raises(SystemExit, match="--ice-port-range"):
            settings_from_args(build_parser().parse_args(flags))
    assert not (tmp_path / "data").exists()
