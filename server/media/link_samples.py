"""A participant's transport counters as link-quality samples (rooms/quality.py judges them):
upstream from our receivers of their publish connection, downstream from their receiver
reports on our senders of their subscribe connection."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rooms.quality import LinkSample
from server.media import aiortc_receive, aiortc_send

if TYPE_CHECKING:
    from server.media.participant import ParticipantMedia

CLOCK_RATES = {"audio": 48_000, "video": 90_000}


def jitter_ms(jitter: float | int, kind: str) -> float:
    """RTCP and aiortc report jitter in RTP timestamp units of the stream's clock."""
    return 1000.0 * float(jitter) / CLOCK_RATES.get(kind, 90_000)


async def sample(
    media: ParticipantMedia, now: float
) -> tuple[LinkSample | None, LinkSample | None]:
    """Upstream and downstream samples at wall time `now` (None: nothing to judge yet)."""
    return upstream(media, now), downstream(media, now)


def upstream(media: ParticipantMedia, now: float) -> LinkSample | None:
    producers = media.all_producers()
    if media.publish_pc is None or not producers:
        return None
    received = lost = 0
    jitter: float | None = None
    for transceiver in media.publish_pc.getTransceivers():
        # the media streams' own counts: aiortc's getStats reports a receiver's streams under
        # one id, so after a retransmission it showed the RTX stream's instead
        for stream in aiortc_receive.media_streams(transceiver.receiver):
            received += stream.packets_received
            lost += stream.packets_lost
            jitter = max(jitter or 0.0, jitter_ms(stream.jitter, transceiver.kind))
    arrivals = [p.last_packet_at for p in producers if p.last_packet_at is not None]
    if not arrivals:
        return None  # nothing published yet: nothing to judge
    last_packet_at = now - (time.monotonic() - max(arrivals))
    return LinkSample(
        now,
        received,
        lost,
        jitter,
        None,  # a receive-only connection has no round-trip time of its own
        sum(p.bytes for p in producers),
        media.camera.frames if media.camera is not None else None,
        last_packet_at,
    )


def downstream(media: ParticipantMedia, now: float) -> LinkSample | None:
    if media.subscribe_pc is None:
        return None
    received = lost = 0
    jitters: list[float] = []
    rtts: list[float] = []
    for transceiver in media.subscribe_pc.getTransceivers():
        for stat in aiortc_send.remote_inbound_stats(transceiver.sender):
            received += max(0, stat.packetsReceived)
            lost += max(0, stat.packetsLost)
            jitters.append(jitter_ms(stat.jitter, stat.kind))
            if stat.roundTripTime is not None:
                rtts.append(stat.roundTripTime * 1000)
    if not received and not lost:
        return None  # no receiver report yet
    return LinkSample(
        now,
        received,
        lost,
        max(jitters, default=None),
        sum(rtts) / len(rtts) if rtts else None,
    )
