"""Link samples over a real loopback connection: a publisher's upstream loss and counts come
from its media streams, also once a retransmission has opened an RTX stream beside them."""

from __future__ import annotations

import time

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from server.config import MediaConfig
from server.media.forwarding import ForwardedFrame
from server.media.last_n import CAMERA_LAYER
from server.media.router import MediaRouter
from server.media.rtp_writer import ntp_now
from server.media.stats import ForwardingStats
from tests.conftest import until
from tests.media.test_aiortc_receive import LosingLink, lean_sender


async def test_upstream_loss_is_read_from_the_media_stream_after_a_retransmission(
    loopback_ice: None,
) -> None:
    router = MediaRouter(
        MediaConfig(),
        ForwardingStats(),
        lambda pid, slots: None,
        lambda level: None,
        lambda pid: None,
    )
    router.add("p_a", "main")
    publisher = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    track, _ = lean_sender(publisher, "video")
    try:
        await publisher.setLocalDescription(await publisher.createOffer())
        answer = await router.publish("p_a", publisher.localDescription.sdp)
        await publisher.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await until(lambda: track._link is not None, 10, "the publisher's sender started")
        assert track._link is not None
        track._link = LosingLink(track._link, lost=2)
        track.activate()
        camera = router.participants["p_a"].camera
        assert camera is not None
        producer = camera.producers[CAMERA_LAYER.rid]
        for i in range(5):  # keyframes (VP8 P bit 0) of one packet each
            frame = ForwardedFrame([bytes([0x10, 0x00, i])], i * 3000, True, time.monotonic())
            track.deliver(frame, ntp_now())
        # the server NACKs the lost packet and the publisher sends it again, over RTX
        await until(lambda: producer.packets == 5, 10, "the retransmission")
        upstream, _ = await router.link_samples("p_a", time.time())
        assert upstream is not None
        assert (upstream.packets_received, upstream.packets_lost) == (4, 1)
        assert upstream.frames == camera.frames == producer.frames  # its one layer's
    finally:
        await publisher.close()
        await router.close()
