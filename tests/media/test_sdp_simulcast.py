"""Simulcast in SDP (server/media/sdp.py): read from an offer Chromium made (captured from
/usr/bin/chromium publishing a camera with `sendEncodings` h and f, kept in data/), and
accepted in the answer aiortc makes for it, which knows no simulcast."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from server.media.sdp import (
    URI_REPAIRED_RID,
    URI_RID,
    SimulcastOffer,
    accept_simulcast,
    simulcast_offer,
)

# Chromium's offer as its page sent it: a line ends with CRLF
CHROMIUM_OFFER = (
    Path(__file__).parent / "data" / "chromium_simulcast_offer.sdp"
).read_text().strip().replace("\n", "\r\n") + "\r\n"


@pytest.mark.unit
def test_chromiums_simulcast_offer_is_read() -> None:
    assert simulcast_offer(CHROMIUM_OFFER) == SimulcastOffer(("h", "f"), 10, 11)


@pytest.mark.unit
def test_offers_without_a_usable_simulcast_are_read_as_none() -> None:
    single = "\r\n".join(
        line
        for line in CHROMIUM_OFFER.split("\r\n")
        if not line.startswith(("a=rid:", "a=simulcast:"))
    )
    assert simulcast_offer(single) is None
    no_rid_extension = CHROMIUM_OFFER.replace(f"a=extmap:10 {URI_RID}\r\n", "")
    assert simulcast_offer(no_rid_extension) is None
    four = CHROMIUM_OFFER.replace("a=simulcast:send h;f", "a=simulcast:send a;b;c;d").replace(
        "a=rid:h send", "a=rid:a send\r\na=rid:b send\r\na=rid:c send\r\na=rid:d send"
    )
    assert simulcast_offer(four) is None  # more layers than the server takes
    bad_name = CHROMIUM_OFFER.replace("rid:h ", "rid:h<x> ").replace("send h;", "send h<x>;")
    assert simulcast_offer(bad_name) is None
    # alternatives (the first is taken) and a paused layer (~) are still layers
    other = CHROMIUM_OFFER.replace("a=simulcast:send h;f", "a=simulcast:send h,x;~f")
    assert simulcast_offer(other) == SimulcastOffer(("h", "f"), 10, 11)
    assert simulcast_offer(CHROMIUM_OFFER.replace("\r\n", "\n")) is not None


async def test_aiortcs_answer_accepts_the_offered_layers() -> None:
    pc = RTCPeerConnection()
    try:
        for kind in ("audio", "video"):
            pc.addTransceiver(kind, direction="recvonly")
        await pc.setRemoteDescription(RTCSessionDescription(CHROMIUM_OFFER, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        stock = pc.localDescription.sdp
    finally:
        await pc.close()
    offer = simulcast_offer(CHROMIUM_OFFER)
    assert offer is not None
    answer = accept_simulcast(stock, offer)
    lines = answer.split("\r\n")
    video = lines.index(next(line for line in lines if line.startswith("m=video ")))
    added = [
        f"a=extmap:10 {URI_RID}",
        f"a=extmap:11 {URI_REPAIRED_RID}",
        "a=rid:h recv",
        "a=rid:f recv",
        "a=simulcast:recv h;f",
    ]
    assert all(lines.index(line) > video for line in added)  # in the video section
    assert [line for line in lines if line not in stock.split("\r\n")] == added
    assert answer.endswith("\r\n")
    assert accept_simulcast("v=0\r\nm=audio 9 x 111\r\n", offer) == "v=0\r\nm=audio 9 x 111\r\n"
