"""Capture the transport-cc feedback a real Chromium sends, for tests/media/
test_transport_feedback.py (run once, by hand: `.venv/bin/python -m
tests.media.data.capture_transport_feedback`; writes chromium_transport_feedback.txt here).

aiortc offers Chromium (a page of /usr/bin/chromium on loopback) one VP8 track with the
transport-wide sequence number added as the publish answer adds it (`sdp.accept_transport_cc`),
then sends it RTP packets numbered 0..N-1 over SRTP, some numbers skipped (never sent).
Chromium's receiver reports on them; every RTCP packet of PT 205 FMT 15 it sends back is kept,
after SRTCP, one hex line each, below a line of the numbers skipped."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from aiortc import RTCDtlsTransport, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket
from playwright.async_api import async_playwright

from bench.harness import CHROMIUM, CHROMIUM_ARGS
from server.media import aiortc_hooks
from server.media.sdp import accept_transport_cc
from server.media.transport_feedback import FMT_TRANSPORT_CC, RTCP_RTPFB, URI_TRANSPORT_CC

OUT = Path(__file__).parent / "chromium_transport_feedback.txt"
EXTENSION_ID = 5
PACKETS = 300
SKIPPED = frozenset({17, 18, 60, 61, 62, 63, 64, 65, 66, 67, 150, 299 - 30})
ANSWER_JS = """async (offer) => {
  const pc = new RTCPeerConnection();
  window.pc = pc;
  await pc.setRemoteDescription({ type: "offer", sdp: offer });
  await pc.setLocalDescription(await pc.createAnswer());
  await new Promise((done) => {
    if (pc.iceGatheringState === "complete") done();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && done();
  });
  return pc.localDescription.sdp;
}"""


async def main() -> None:
    captured: list[bytes] = []
    stock_handle = RTCDtlsTransport._handle_rtcp_data

    async def handle_rtcp_data(self: RTCDtlsTransport, data: bytes) -> None:
        while len(data) >= 4:
            end = 4 * (int.from_bytes(data[2:4], "big") + 1)
            if data[1] == RTCP_RTPFB and data[0] & 0x1F == FMT_TRANSPORT_CC:
                captured.append(data[:end])
            data = data[end:]
        await stock_handle(self, data)

    RTCDtlsTransport._handle_rtcp_data = handle_rtcp_data  # type: ignore[method-assign]
    aiortc_hooks.restrict_host_addresses(["127.0.0.1"])
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver("video", direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    offer = accept_transport_cc(pc.localDescription.sdp, {"video": EXTENSION_ID})
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            answer = await page.evaluate(ANSWER_JS, offer)
            await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            sender = transceiver.sender
            while pc.connectionState != "connected":
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # the sender's SRTP session is set once DTLS is done
            numbered = HeaderExtensionsMap()
            numbered.configure(
                RTCRtpParameters(
                    headerExtensions=[
                        RTCRtpHeaderExtensionParameters(id=EXTENSION_ID, uri=URI_TRANSPORT_CC)
                    ]
                )
            )
            vp8 = re.search(r"a=rtpmap:(\d+) VP8/90000", answer)
            assert vp8 is not None, answer
            payload_type = int(vp8.group(1))
            for number in range(PACKETS):
                if number not in SKIPPED:
                    packet = RtpPacket(
                        payload_type=payload_type,
                        sequence_number=number,
                        timestamp=number * 3000,
                        ssrc=sender._ssrc,
                    )
                    packet.payload = b"\x10\x00\x00" + bytes(200)
                    packet.extensions.transport_sequence_number = number
                    await sender.transport._send_rtp(packet.serialize(numbered))
                await asyncio.sleep(0.004 if number % 50 else 0.3)  # some long gaps too
            await asyncio.sleep(1.0)
        finally:
            await browser.close()
            await pc.close()
    lines = [" ".join(str(n) for n in sorted(SKIPPED))] + [p.hex() for p in captured]
    OUT.write_text("\n".join(lines) + "\n")
    print(f"{len(captured)} feedback packets -> {OUT}")


if __name__ == "__main__":
    asyncio.run(main())
