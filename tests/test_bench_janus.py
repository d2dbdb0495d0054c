"""The pure parts of the Janus comparison (bench/against_janus.py): the Janus configuration it
writes, how it reads Janus's replies, the ratio table, and the bot-to-bot delay probe."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiortc.rtp import RtpPacket

from bench.against_janus import ratios_table
from bench.delay_probe import DelayProbe, ProbedReceiveCounter, StampingVp8Packer
from bench.forwarding import Row
from bench.janus_client import JanusError, plugin_data
from bench.janus_server import janus_configs, render_jcfg
from server.bot.media import EncodedItem

pytestmark = pytest.mark.unit

AVAILABLE = {
    "plugins": ["libjanus_echotest.so", "libjanus_streaming.so", "libjanus_videoroom.so"],
    "transports": ["libjanus_http.so", "libjanus_websockets.so"],
    "loggers": ["libjanus_jsonlog.so"],
    "events": ["libjanus_sampleevh.so"],
}


def test_render_jcfg_quotes_strings_and_writes_numbers_and_booleans() -> None:
    text = render_jcfg({"general": {"name": 'a "b"', "port": 8088, "http": True}, "empty": {}})
    assert text.splitlines() == [
        "general: {",
        '\tname = "a \\"b\\""',
        "\tport = 8088",
        "\thttp = true",
        "}",
        "empty: {",
        "}",
    ]


def test_janus_loads_only_the_videoroom_and_http_and_gathers_on_one_device() -> None:
    files = janus_configs(
        Path("/tmp/conf"),
        Path("/usr/lib/x/janus"),
        AVAILABLE,
        http_port=41234,
        ice_device="ifb0",
        ice_address="198.51.100.1",
    )
    assert set(files) == {
        "janus.jcfg",
        "janus.plugin.videoroom.jcfg",
        "janus.transport.http.jcfg",
    }
    core = files["janus.jcfg"]
    assert 'disable = "libjanus_echotest.so,libjanus_streaming.so"' in core
    assert 'disable = "libjanus_websockets.so"' in core
    assert 'disable = "libjanus_jsonlog.so"' in core
    assert "broadcast = false" in core  # no event handlers
    assert 'plugins_folder = "/usr/lib/x/janus/plugins"' in core
    assert 'configs_folder = "/tmp/conf"' in core
    assert 'ice_enforce_list = "ifb0"' in core
    assert 'interface = "198.51.100.1"' in core
    assert "stun" not in core and "turn" not in core
    assert "full_trickle = false" in core  # candidates in the SDP, as aiortc needs
    http = files["janus.transport.http.jcfg"]
    assert "port = 41234" in http and 'ip = "127.0.0.1"' in http
    assert "https = false" in http and "admin_http = false" in http


def test_plugin_data_returns_the_videoroom_data_or_raises() -> None:
    event = {"janus": "event", "plugindata": {"data": {"videoroom": "joined", "id": 7}}}
    assert plugin_data(event) == {"videoroom": "joined", "id": 7}
    refused = {"plugindata": {"data": {"videoroom": "event", "error_code": 426, "error": "No"}}}
    with pytest.raises(JanusError, match="426"):
        plugin_data(refused)
    with pytest.raises(JanusError, match="gone"):
        plugin_data({"janus": "error", "error": {"code": 458, "reason": "gone"}})


def row(label: str, people: int, us: float, pps: float, p50: float, p99: float) -> Row:
    return Row(label, people, 0.5, pps, us, 0.0, None, None, 100.0, 0.5, p50, p99)


def test_ratios_are_circle_over_janus_per_size() -> None:
    rows = [
        row("circle", 4, 120, 1000, 2.0, 9.0),
        row("janus", 4, 60, 1000, 1.0, 3.0),
        row("circle", 12, 80, 9000, 4.0, 40.0),
    ]
    assert ratios_table(rows).splitlines()[2:] == [
        "| 4 | 2.00 | 1.00 | 2.00 | 3.00 |",
        "| 12 | (a room did not form) | | | |",
    ]


def test_the_probe_times_video_payloads_from_packing_to_receiving() -> None:
    now = [10.0]
    probe = DelayProbe(clock=lambda: now[0])
    packer = StampingVp8Packer(probe)
    payloads, _ = packer.pack(EncodedItem("video", bytes(range(200)) * 10, 0, True, None, False))
    counter = ProbedReceiveCounter(probe)
    counter.add_mid("1", "video")
    sink = counter.sink("1")
    now[0] = 10.004
    sink(RtpPacket(payload_type=96, sequence_number=1, ssrc=5, payload=payloads[0]))
    probe.measuring = True
    now[0] = 10.005
    for seq, payload in enumerate(payloads, start=2):
        sink(RtpPacket(payload_type=96, sequence_number=seq, ssrc=5, payload=payload))
    sink(RtpPacket(payload_type=96, sequence_number=9, ssrc=5, payload=b"\x90unknown" * 4))
    assert counter.received("video") == len(payloads) + 2  # counted as before
    assert probe.delays_s == pytest.approx([0.005] * len(payloads))  # only while measuring
    assert probe.percentile_ms(50) == pytest.approx(5.0)
