"""Making the server's peer connections: the codecs it forwards, ICE servers from their URLs,
gathering with bounded datagram queues, and a register of every connection made."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Awaitable

from aiortc import RTCIceServer, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

from rooms.errors import Refusal
from server.config import MediaConfig
from server.media import aiortc_hooks

log = logging.getLogger(__name__)


KINDS = ("audio", "video")
_CODECS = {"audio": ("audio/opus",), "video": ("video/vp8", "video/rtx")}


def codec_preferences(kind: str) -> list[RTCRtpCodecCapability]:
    """VP8 and Opus only: the forwarding path passes their payloads through unchanged."""
    caps = RTCRtpSender.getCapabilities(kind).codecs
    return [c for c in caps if c.mimeType.lower() in _CODECS[kind]]


def ice_server(url: str) -> RTCIceServer:
    """`turn:user:pass@host:port` -> RTCIceServer with credentials; others as they are."""
    scheme, _, rest = url.partition(":")
    if "@" in rest:
        creds, host = rest.rsplit("@", 1)
        user, _, password = creds.partition(":")
        return RTCIceServer(urls=f"{scheme}:{host}", username=user, credential=password)
    return RTCIceServer(urls=url)


async def gathered(
    pc: RTCPeerConnection, description: Awaitable[RTCSessionDescription], config: MediaConfig
) -> None:
    """Set the local offer or answer, which gathers the ICE candidates (on sockets whose
    queue for the DTLS transport is bounded first)."""
    aiortc_hooks.bound_datagram_queues(
        pc, config.queued_datagrams_max, config.queued_datagram_bytes_max
    )
    try:
        await pc.setLocalDescription(await description)
    except aiortc_hooks.PortRangeExhausted as exc:
        log.warning("ICE port range exhausted: %s", exc)
        raise Refusal("at_capacity", "The server has no free media port; try again soon.") from exc


# Every peer connection the routers made, while in memory: for /api/stats, where one that is
# not closed but no router holds is a leak.
MADE_PEER_CONNECTIONS: weakref.WeakSet[RTCPeerConnection] = weakref.WeakSet()
