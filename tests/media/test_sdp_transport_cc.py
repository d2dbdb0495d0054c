"""Transport-wide congestion control in SDP (server/media/sdp.py): read from the offer Chromium
made (data/chromium_simulcast_offer.sdp) and accepted in the answer aiortc makes for it, which
negotiates none: the sequence number extension with the offer's id in each section, and
`transport-cc` feedback on every codec but RTX."""

from __future__ import annotations

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from server.config import MediaConfig
from server.media.peer_setup import codec_preferences
from server.media.router import MediaRouter
from server.media.sdp import accept_transport_cc, transport_cc_offer
from server.media.stats import ForwardingStats
from server.media.transport_feedback import URI_TRANSPORT_CC
from tests.media.test_sdp_simulcast import CHROMIUM_OFFER


@pytest.mark.unit
def test_chromiums_offer_has_transport_cc_in_both_sections() -> None:
    assert transport_cc_offer(CHROMIUM_OFFER) == {"audio": 3, "video": 3}
    no_feedback = CHROMIUM_OFFER.replace("a=rtcp-fb:111 transport-cc\r\n", "")
    assert transport_cc_offer(no_feedback) == {"video": 3}  # the extension alone is not enough
    no_extension = CHROMIUM_OFFER.replace(f"a=extmap:3 {URI_TRANSPORT_CC}\r\n", "")
    assert transport_cc_offer(no_extension) == {}
    assert transport_cc_offer(CHROMIUM_OFFER.replace("\r\n", "\n")) == {"audio": 3, "video": 3}


async def test_aiortcs_answer_accepts_transport_cc_on_audio_and_video() -> None:
    pc = RTCPeerConnection()
    try:
        for kind in ("audio", "video"):
            pc.addTransceiver(kind, direction="recvonly").setCodecPreferences(
                codec_preferences(kind)
            )
        await pc.setRemoteDescription(RTCSessionDescription(CHROMIUM_OFFER, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        stock = pc.localDescription.sdp
    finally:
        await pc.close()
    assert URI_TRANSPORT_CC not in stock  # what this adds
    answer = accept_transport_cc(stock, transport_cc_offer(CHROMIUM_OFFER))
    assert answer.endswith("\r\n")
    lines = answer.split("\r\n")
    sections = [i for i, line in enumerate(lines) if line.startswith("m=")]
    audio, video = (lines[a:b] for a, b in zip(sections, [*sections[1:], len(lines)], strict=True))
    assert audio[0].startswith("m=audio") and video[0].startswith("m=video")
    assert f"a=extmap:3 {URI_TRANSPORT_CC}" in audio
    assert f"a=extmap:3 {URI_TRANSPORT_CC}" in video
    assert [line for line in audio if line.endswith(" transport-cc")] == [
        "a=rtcp-fb:111 transport-cc"
    ]
    assert [line for line in video if line.endswith(" transport-cc")] == [
        "a=rtcp-fb:96 transport-cc"  # VP8; not its RTX (97)
    ]
    assert [line for line in lines if line not in stock.split("\r\n")] == [
        f"a=extmap:3 {URI_TRANSPORT_CC}",
        "a=rtcp-fb:111 transport-cc",
        f"a=extmap:3 {URI_TRANSPORT_CC}",
        "a=rtcp-fb:96 transport-cc",
    ]
    assert accept_transport_cc(stock, {}) == stock


def section_lines(sdp: str, kind: str) -> list[str]:
    lines = sdp.split("\r\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(f"m={kind} "))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("m=")), len(lines))
    return lines[start:end]


@pytest.mark.parametrize("transport_cc", [True, False])
async def test_the_router_answers_a_browser_with_transport_cc_and_opus_fec_both_ways(
    loopback_ice: None, transport_cc: bool
) -> None:
    """The publish answer accepts transport-cc (unless configured off) and asks the browser's
    Opus encoder for in-band FEC; the subscribe offer says the server's forwarded Opus may
    carry it (the publishers' FEC reaches subscribers untouched, for their decoders)."""
    router = MediaRouter(
        MediaConfig(slots_per_kind=1, transport_cc=transport_cc),
        ForwardingStats(),
        lambda pid, slots: None,
        lambda level: None,
        lambda pid: None,
    )
    router.add("p1", "main")
    try:
        answer = await router.publish("p1", CHROMIUM_OFFER)
        offer, _ = await router.subscribe("p1")
    finally:
        await router.close()
    for kind, pt in (("audio", 111), ("video", 96)):
        lines = section_lines(answer, kind)
        assert (f"a=extmap:3 {URI_TRANSPORT_CC}" in lines) is transport_cc
        assert (f"a=rtcp-fb:{pt} transport-cc" in lines) is transport_cc
    assert "a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1" in section_lines(answer, "audio")
    fmtp = [line for line in section_lines(offer, "audio") if line.startswith("a=fmtp:")]
    assert fmtp and all("useinbandfec=1" in line for line in fmtp)
