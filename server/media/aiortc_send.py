"""The lean send path's use of aiortc and aioice internals: forwarded media goes past aiortc's
per-packet sender task (`send_directly`), through a `SrtpLink` to the subscriber.

Private attributes, like those of aiortc_hooks.py: each is checked when the hook is set
(`HookError`), and tests/media/test_aiortc_hooks.py exercises them against the pinned aiortc.
"""

from __future__ import annotations

import socket
import weakref
from collections.abc import Callable
from operator import attrgetter
from typing import Protocol

import aioice.ice
import pylibsrtp
from aioice.turn import TurnTransport
from aiortc import RTCRtpSender
from aiortc.codecs import is_rtx
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.stats import RTCRemoteInboundRtpStreamStats, RTCStatsReport

from server.media import aiortc_receive, sender_reports
from server.media.aiortc_hooks import HookError, ice_connection, require
from server.media.compiled_send import PROTECT, CompiledRtpWriter, srtp_context
from server.media.rtp_writer import FrameWriting, SendSetup
from server.media.sender_reports import SentCounts

_SENDER_SEND = "send"
_SENDER_RETRANSMIT = "_retransmit"
_SENDER_SSRC = "_ssrc"
_SENDER_RTX_SSRC = "_rtx_ssrc"
# what aiortc's RTCP task puts in each sender report (and its stats read)
_SENDER_PACKET_COUNT = "_RTCRtpSender__packet_count"
_SENDER_OCTET_COUNT = "_RTCRtpSender__octet_count"
_SENDER_NTP_TIMESTAMP = "_RTCRtpSender__ntp_timestamp"
_SENDER_RTP_TIMESTAMP = "_RTCRtpSender__rtp_timestamp"
_SENDER_REPORT_FIELDS = (
    _SENDER_PACKET_COUNT, _SENDER_OCTET_COUNT, _SENDER_NTP_TIMESTAMP, _SENDER_RTP_TIMESTAMP
)  # fmt: skip
_SENDER_STATS = "_RTCRtpSender__stats"  # what getStats returns, kept from receiver reports
_DTLS_STATE = "_state"
_DTLS_HANDLE_RTCP = "_handle_rtcp_data"  # what every decrypted RTCP packet is handed to
_DTLS_TX_SRTP = "_tx_srtp"
_ICE_NOMINATED = "_nominated"
_RTP_COMPONENT = 1
BACKLOG_LIMIT_BYTES = 256 * 1024  # a subscriber's socket this far behind drops frames


class SrtpLink:
    """A started sender's way to its subscriber past aiortc's per-packet sender task: the DTLS
    transport's SRTP session and the ICE connection's nominated pair, used synchronously (for a
    host or server-reflexive pair, one sendto on the UDP socket per packet).

    The transport-level counters of aiortc's getStats ("transport" bytesSent) do not include
    what goes this way; the sender's own counters (packetsSent, sender reports) do."""

    def __init__(self, sender: RTCRtpSender) -> None:
        dtls = sender.transport
        for name in (_DTLS_STATE, _DTLS_TX_SRTP):
            require(dtls, name)
        connection = ice_connection(dtls.transport)
        require(connection, _ICE_NOMINATED)
        self._sender = sender
        self._dtls = dtls
        self._nominated: dict[int, aioice.ice.CandidatePair] = getattr(connection, _ICE_NOMINATED)
        # the pair and SRTP session the compiled writer was last aimed at, and whether it could
        self._pair: aioice.ice.CandidatePair | None = None
        self._srtp: pylibsrtp.Session | None = None
        self._direct = False

    def writable(self) -> bool:
        pair = self._nominated.get(_RTP_COMPONENT)
        if pair is None or getattr(self._dtls, _DTLS_STATE) is not DtlsState.CONNECTED:
            return False
        return self._backlog_fits(pair)

    @staticmethod
    def _backlog_fits(pair: aioice.ice.CandidatePair) -> bool:
        # asyncio's UDP transport buffers what the socket refused; aioice's TURN one has none
        buffered = getattr(pair.protocol.transport, "get_write_buffer_size", None)
        return buffered is None or buffered() < BACKLOG_LIMIT_BYTES

    def send(self, packets: list[bytes]) -> None:
        pair = self._nominated.get(_RTP_COMPONENT)
        if pair is None:
            return
        protect = getattr(self._dtls, _DTLS_TX_SRTP).protect
        sendto = pair.protocol.transport.sendto
        address = pair.remote_addr
        try:
            for packet in packets:
                sendto(protect(packet), address)
        except (pylibsrtp.Error, OSError, RuntimeError):
            # A subscriber's broken session or closed socket (uvloop raises RuntimeError) is
            # its transport's to report: it must never reach the publisher's receive loop,
            # which is the one calling this.
            pass

    def send_frame(
        self,
        writer: FrameWriting,
        payloads: list[bytes],
        timestamp: int,
        send_time: int,
        audio_level: tuple[bool, int] | None,
    ) -> bool:
        """Write one frame with `writer` and send it, if the link is writable; False when it
        was not, or not all of it went out (a subscriber that cannot keep up)."""
        pair = self._nominated.get(_RTP_COMPONENT)
        if pair is None or getattr(self._dtls, _DTLS_STATE) is not DtlsState.CONNECTED:
            return False
        if type(writer) is CompiledRtpWriter and self._aim(writer, pair):
            return writer.send(payloads, timestamp, send_time, audio_level) == len(payloads)
        if not self._backlog_fits(pair):
            return False
        self.send(writer.write(payloads, timestamp, send_time, audio_level))
        return True

    @property
    def direct(self) -> bool:
        return self._direct

    def _aim(self, writer: CompiledRtpWriter, pair: aioice.ice.CandidatePair) -> bool:
        """Point the compiled writer at the pair's UDP socket and remote address, and at the
        link's SRTP session, when packets go straight to it (not through a TURN relay's
        transport); False when they cannot.

        The writer holds only addresses: this link keeps the session alive (`_srtp`), and the
        router takes a subscriber's slots off the graph before closing its connection, so no
        send reaches a closed socket's descriptor (one that does fails, EBADF, and the slot
        leaves the fan-out)."""
        srtp = getattr(self._dtls, _DTLS_TX_SRTP)
        if pair is self._pair and srtp is self._srtp:
            return self._direct
        self._pair, self._srtp, self._direct = pair, srtp, False
        transport = pair.protocol.transport
        sock = None if isinstance(transport, TurnTransport) else transport.get_extra_info("socket")
        if sock is not None and sock.type == socket.SOCK_DGRAM:
            host, port = pair.remote_addr
            writer.set_target(srtp_context(srtp), PROTECT, sock.fileno(), host, port)
            self._direct = True
        return self._direct


def _send_setup(sender: RTCRtpSender, parameters: RTCRtpSendParameters) -> SendSetup:
    payload_type = parameters.codecs[0].payloadType
    if payload_type is None:
        raise HookError("the negotiated codec has no payload type")
    rtx = next(
        (
            (c.payloadType, getattr(sender, _SENDER_RTX_SSRC))
            for c in parameters.codecs
            if is_rtx(c) and c.payloadType is not None and c.parameters.get("apt") == payload_type
        ),
        None,
    )
    return SendSetup(
        ssrc=getattr(sender, _SENDER_SSRC),
        payload_type=payload_type,
        mid=parameters.muxId or None,
        extensions={ext.uri: ext.id for ext in parameters.headerExtensions},
        rtx=rtx,
    )


class _ReportingSender(RTCRtpSender):
    """aiortc's sender, reading what it reports from a `SentCounts` (its own fields would need
    four writes per frame sent; aiortc writes them only in the RTP task this path bypasses)."""

    _lean_counts: SentCounts


for _field, _source in zip(
    _SENDER_REPORT_FIELDS,
    ("packets_sent", "octets_sent", "last_ntp", "last_rtp_timestamp"),
    strict=True,
):
    setattr(_ReportingSender, _field, property(attrgetter(f"_lean_counts.{_source}")))


class LeanSource(SentCounts, Protocol):
    """What feeds a lean sender (a Consumer)."""

    def attach(self, setup: SendSetup, link: SrtpLink) -> None:
        """The sender started with `setup`: send through `link` from now on."""

    def retransmit(self, seq: int) -> None:
        """The subscriber NACKed `seq`."""


_TAPPED: weakref.WeakSet[RTCDtlsTransport] = weakref.WeakSet()


def tap_rtcp(dtls: RTCDtlsTransport, on_rtcp: Callable[[bytes], None]) -> None:
    """Every decrypted RTCP packet of this DTLS transport goes to `on_rtcp` first (once per
    transport), then to aiortc's parsing and routing, which drops transport-cc feedback. Set
    before `receive_rtcp_directly`, which takes the handler as it then is."""
    if dtls in _TAPPED:
        return
    require(dtls, _DTLS_HANDLE_RTCP)
    stock = getattr(dtls, _DTLS_HANDLE_RTCP)

    async def handle(data: bytes) -> None:
        on_rtcp(data)
        await stock(data)

    setattr(dtls, _DTLS_HANDLE_RTCP, handle)
    _TAPPED.add(dtls)


def send_directly(
    sender: RTCRtpSender, source: LeanSource, on_rtcp: Callable[[bytes], None] | None = None
) -> None:
    """Forwarded media bypasses the sender's RTP task: when the sender starts (the answer is
    applied, DTLS is up), `source.attach` gets what was negotiated and a link to send on; a
    NACK from the subscriber calls `source.retransmit(seq)` instead of aiortc's retransmission
    from its own history (which this path never fills). aiortc's RTCP task still sends the
    sender reports (with what `source` says was sent) and handles receiver reports, PLI and
    FIR. `on_rtcp` sees each RTCP packet from the subscriber first (tap_rtcp)."""
    for name in (_SENDER_SEND, _SENDER_RETRANSMIT, _SENDER_SSRC, _SENDER_RTX_SSRC):
        require(sender, name)
    for name in _SENDER_REPORT_FIELDS:
        require(sender, name)
    if type(sender) is not RTCRtpSender:
        raise HookError(f"{type(sender).__name__} is not aiortc's RTCRtpSender")
    stock_send = sender.send

    async def send(parameters: RTCRtpSendParameters) -> None:
        await stock_send(parameters)
        if on_rtcp is not None:
            tap_rtcp(sender.transport, on_rtcp)
        aiortc_receive.receive_rtcp_directly(sender.transport)
        source.attach(_send_setup(sender, parameters), SrtpLink(sender))

    async def retransmit(sequence_number: int) -> None:
        source.retransmit(sequence_number)

    setattr(sender, _SENDER_SEND, send)
    setattr(sender, _SENDER_RETRANSMIT, retransmit)
    sender_reports.report_together(sender, source)
    sender.__class__ = _ReportingSender
    sender._lean_counts = source  # type: ignore[attr-defined]


def remote_inbound_stats(sender: RTCRtpSender) -> list[RTCRemoteInboundRtpStreamStats]:
    """What the subscriber's receiver reports said of this sender's stream, as aiortc keeps it
    from each one, without `getStats` (which also builds the sender's own and the transport's
    statistics on every call: the link-quality worker asks for every slot every 2 s)."""
    require(sender, _SENDER_STATS)
    report: RTCStatsReport = getattr(sender, _SENDER_STATS)
    return [stat for stat in report.values() if isinstance(stat, RTCRemoteInboundRtpStreamStats)]
