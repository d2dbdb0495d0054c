"""Transport-wide congestion control in SDP (server/media/sdp.py): read from the offer Chromium
made (data/chromium_simulcast_offer.sdp) and accepted in the answer aiortc makes for it, which
negotiates none: the sequence number extension with the offer's id in each section, and
`transport-cc` feedback on every codec but RTX."""

from __future__ import annotations

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from server.media.router import codec_preferences
from server.media.sdp import accept_transport_cc, transport_cc_offer
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
