"""The subscribe offer's transport-cc additions (server/media/transport_cc.py), read back with
aiortc's own SDP parser, and the answer's check."""

from __future__ import annotations

import pytest
from aiortc import sdp as aiortc_sdp

from server.media.transport_cc import answered_transport_cc, offer_transport_cc
from server.media.transport_feedback import URI_TRANSPORT_CC

pytestmark = pytest.mark.unit

OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 1 1 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "m=audio 9 UDP/TLS/RTP/SAVPF 96",
        "c=IN IP4 0.0.0.0",
        "a=sendonly",
        "a=mid:0",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "a=rtcp-mux",
        "a=rtpmap:96 opus/48000/2",
        "m=video 9 UDP/TLS/RTP/SAVPF 97 98",
        "c=IN IP4 0.0.0.0",
        "a=sendonly",
        "a=mid:1",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "a=rtcp-mux",
        "a=rtpmap:97 VP8/90000",
        "a=rtcp-fb:97 nack",
        "a=rtpmap:98 rtx/90000",
        "a=fmtp:98 apt=97",
        "",
    ]
)


def test_every_media_section_offers_the_extension_at_one_free_id_and_feedback_per_codec() -> None:
    offer, ext_id = offer_transport_cc(OFFER)
    assert ext_id == 4
    parsed = aiortc_sdp.SessionDescription.parse(offer)
    for media in parsed.media:
        extensions = {ext.uri: ext.id for ext in media.rtp.headerExtensions}
        assert extensions[URI_TRANSPORT_CC] == 4
        for codec in media.rtp.codecs:
            feedback = {(fb.type, fb.parameter) for fb in codec.rtcpFeedback}
            assert (("transport-cc", None) in feedback) != (codec.name == "rtx"), codec
    assert offer.count("\r\n") == OFFER.count("\r\n") + 4 and "\n\n" not in offer


def test_the_answer_says_whether_the_browser_kept_it() -> None:
    offer, ext_id = offer_transport_cc(OFFER)
    assert ext_id is not None
    kept = offer.replace("a=sendonly", "a=recvonly")
    assert answered_transport_cc(kept, ext_id)
    assert answered_transport_cc(
        kept.replace(f"a=extmap:{ext_id} ", f"a=extmap:{ext_id}/recvonly "), ext_id
    )
    assert not answered_transport_cc(OFFER, ext_id)
    assert not answered_transport_cc(kept, ext_id + 1)
    full = "".join(f"a=extmap:{i} urn:x:{i}\r\n" for i in range(1, 15))
    assert offer_transport_cc(full) == (full, None)
