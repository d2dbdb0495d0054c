from __future__ import annotations

import pytest

from server.media import sdp

pytestmark = pytest.mark.unit

OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 1 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=rtpmap:111 opus/48000/2",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
        "a=candidate:2 1 udp 2122260223 192.0.2.7 50001 typ host",
        "a=candidate:3 1 udp 2122260223 abcd.local 50002 typ host",
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
        "a=rtpmap:96 VP8/90000",
        "",
    ]
)


def test_opus_fmtp_gets_dtx_and_fec_once() -> None:
    out = sdp.with_opus_dtx_fec(OFFER)
    fmtp = [line for line in out.split("\r\n") if line.startswith("a=fmtp:111")]
    assert fmtp == ["a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1"]


def test_remote_candidates_outside_allowed_networks_are_dropped() -> None:
    out = sdp.filter_remote_candidates(OFFER, ["127.0.0.0/8"])
    candidates = [line for line in out.split("\r\n") if line.startswith("a=candidate")]
    assert candidates == ["a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"]
    assert sdp.filter_remote_candidates(OFFER, []) == OFFER


def test_announced_address_adds_a_candidate_copy() -> None:
    out = sdp.announce_address(OFFER, "203.0.113.5")
    assert "a=candidate:11 1 udp 2122260222 203.0.113.5 50000 typ host" in out
    assert sdp.announce_address(OFFER, None) == OFFER


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("hello", "v=0"),
        ("v=0\r\ns=-\r\n", "no media"),
        ("v=0\r\nm=application 9 DTLS/SCTP 5000\r\n", "audio and video"),
        ("v=0\r\nm=audio 9 X 1\r\nm=audio 9 X 1\r\n", "at most one"),
        ("v=0\r\nm=audio 9 X 1\r\n" + "a=x\r\n" * 40_000, "larger"),
    ],
)
def test_check_offer_rejects(text: str, why: str) -> None:
    with pytest.raises(sdp.SdpError, match=why):
        sdp.check_offer(text, max_bytes=65_536)
