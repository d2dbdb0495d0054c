"""The lean receive path: a publisher's SRTP packets taken where aioice hands them over.

aiortc receives every datagram through a queue and its DTLS transport's task (one wake-up per
packet), parses it into an `RtpPacket`, and its receiver depayloads it into a jitter buffer.
`receive_directly` takes the publisher's RTP packets straight from the socket's protocol (before
aioice tries each as STUN), in the call that read them from the socket: one call unprotects a
packet and reads what forwarding needs (compiled_receive.py: C where built, else pylibsrtp and
`rtp_reader`), and the sink (the producer) gets it. aiortc's receiver bookkeeping is still fed,
as its own receive path feeds it: the reception statistics (its RTCP receiver reports and
getStats), the NACK generator and the REMB estimator, the latter counting its incoming bitrate
with a constant-cost `WindowRate` and its estimates paced by `RembThrottle` (aiortc sends one
per packet while it sees overuse). SRTCP goes to aiortc's own RTCP routing in the same call;
DTLS and STUN go the stock way.

Private attributes, like those of aiortc_hooks.py: each is checked when the hook is set
(`HookError`), and tests/media/test_aiortc_receive.py exercises them against the pinned aiortc.
Not kept on this path: the DTLS transport's "transport" packet and byte counters, and the
receiver's `getSynchronizationSources` (nothing in Circle reads either).
"""

from __future__ import annotations

import asyncio
import socket
import time
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

import pylibsrtp
from aiortc import RTCDtlsTransport, RTCPeerConnection, RTCRtpReceiver
from aiortc.codecs import is_rtx
from aiortc.rate import RemoteBitrateEstimator
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpReceiveParameters
from aiortc.rtcrtpreceiver import NackGenerator, StreamStatistics
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtpPacket, pack_remb_fci

from server.media.aiortc_hooks import HookError, ice_connection, require
from server.media.compiled_receive import SrtpRead, srtp_reader
from server.media.remb_throttle import RembThrottle
from server.media.rtp_reader import ExtensionIds, ReceivedPacket, unwrap_rtx
from server.media.rtp_writer import NTP_EPOCH_OFFSET_S
from server.media.simulcast import RidDemux
from server.media.transport_feedback import URI_TRANSPORT_CC, ArrivalLog, build_feedback
from server.media.window_rate import WindowRate

_RECEIVER_RECEIVE = "receive"
_RECEIVER_HANDLE_RTP = "_handle_rtp_packet"
_RECEIVER_ENABLED = "_enabled"
_RECEIVER_CODECS = "_RTCRtpReceiver__codecs"
_RECEIVER_RTX_SSRC = "_RTCRtpReceiver__rtx_ssrc"
_RECEIVER_STREAMS = "_RTCRtpReceiver__remote_streams"
_RECEIVER_NACK = "_RTCRtpReceiver__nack_generator"
_RECEIVER_ESTIMATOR = "_RTCRtpReceiver__remote_bitrate_estimator"
_RECEIVER_RTCP_SSRC = "_RTCRtpReceiver__rtcp_ssrc"
_RECEIVER_SEND_RTCP = "_send_rtcp"
_RECEIVER_SEND_NACK = "_send_rtcp_nack"
_RECEIVER_HOOKED = (
    _RECEIVER_RECEIVE, _RECEIVER_HANDLE_RTP, _RECEIVER_ENABLED, _RECEIVER_CODECS,
    _RECEIVER_RTX_SSRC, _RECEIVER_STREAMS, _RECEIVER_NACK, _RECEIVER_ESTIMATOR,
    _RECEIVER_RTCP_SSRC, _RECEIVER_SEND_RTCP, _RECEIVER_SEND_NACK,
)  # fmt: skip
_ESTIMATOR_RATE = "incoming_bitrate"
_RATE_WINDOW_MS = 1000  # as aiortc's estimator counts its incoming bitrate
_DTLS_RX_SRTP = "_rx_srtp"
_DTLS_ROUTER = "_rtp_router"
_DTLS_HANDLE_RTCP = "_handle_rtcp_data"  # parses and routes decrypted RTCP to its recipients
_ICE_DATA_RECEIVED = "data_received"
_ICE_PROTOCOLS = "_protocols"
_PROTOCOL_DATAGRAM_RECEIVED = "datagram_received"
_PROTOCOL_CANDIDATE = "local_candidate"
_SO_RCVBUFFORCE = 33  # Linux's socket option; Python's socket module does not name it

PacketSink = Callable[[ReceivedPacket], None]
_Route = tuple[SrtpRead, PacketSink]  # a hooked receiver's SRTP reader and its feed's `take`


def enlarge_receive_buffers(pc: RTCPeerConnection, size_bytes: int) -> int:
    """Ask the kernel for `size_bytes` of receive buffer on each UDP socket the connection
    gathered: past net.core.rmem_max where the process may (CAP_NET_ADMIN: SO_RCVBUFFORCE),
    else up to it. Returns the smallest buffer granted (the kernel counts double), 0 when there
    is no socket yet (call it after setLocalDescription). For the benchmarks' receiving bots:
    sixteen of them on one core overflowed Linux's default 208 KiB when the server handed a
    frame to all of them at once."""
    granted: list[int] = []
    for transceiver in pc.getTransceivers():
        connection = ice_connection(transceiver.receiver.transport.transport)
        require(connection, _ICE_PROTOCOLS)
        for protocol in getattr(connection, _ICE_PROTOCOLS):
            sock = protocol.transport.get_extra_info("socket")
            try:
                sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, size_bytes)
            except PermissionError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size_bytes)
            granted.append(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
    return min(granted, default=0)


def receive_directly(
    receiver: RTCRtpReceiver,
    sink: PacketSink,
    demux: RidDemux | None = None,
    transport_cc_id: int = 0,
) -> None:
    """Once the receiver starts (the offer is answered, DTLS is up), its RTP packets go to
    `sink` as `ReceivedPacket`s, RTX unwrapped, in the call that read them from the socket;
    aiortc's decoder and jitter buffer never see them. With `demux` (a simulcast camera),
    each packet's `rid` names its layer (None until its SSRC's layer is known). With
    `transport_cc_id` (the answer accepted the offer's transport-wide sequence numbers under
    that id), the arrival of every packet on the transport is reported to the sender in
    transport-cc feedback, and no REMB is sent: the sender's own estimator sets its rate."""
    for name in _RECEIVER_HOOKED:
        require(receiver, name)
    stock_receive = receiver.receive

    async def receive(parameters: RTCRtpReceiveParameters) -> None:
        await stock_receive(parameters)  # registers the receiver, and never waits
        feed = _ReceiverFeed(receiver, parameters, sink, demux, transport_cc_id)

        async def handle_rtp_packet(packet: RtpPacket, arrival_time_ms: int) -> None:
            # what the DTLS transport's task had queued before the direct path was set
            extensions = packet.extensions
            feed.take(
                ReceivedPacket(
                    packet.ssrc,
                    packet.sequence_number,
                    packet.timestamp,
                    bool(packet.marker),
                    packet.payload_type,
                    packet.payload,
                    packet.padding_size,
                    extensions.audio_level,
                    extensions.abs_send_time,
                )
            )

        setattr(receiver, _RECEIVER_HANDLE_RTP, handle_rtp_packet)
        _DirectPath.of(receiver.transport).add(receiver, feed)

    setattr(receiver, _RECEIVER_RECEIVE, receive)


def media_streams(receiver: RTCRtpReceiver) -> list[StreamStatistics]:
    """The receiver's reception statistics of its media streams, without the RTX streams
    (whose counts aiortc's getStats reports under the same id, hiding the media's)."""
    require(receiver, _RECEIVER_STREAMS)
    require(receiver, _RECEIVER_RTX_SSRC)
    streams: dict[int, StreamStatistics] = getattr(receiver, _RECEIVER_STREAMS)
    rtx: dict[int, int] = getattr(receiver, _RECEIVER_RTX_SSRC)
    return [stream for ssrc, stream in streams.items() if ssrc not in rtx]


def _arrival_ms() -> int:
    """Now in milliseconds since 1900, as aiortc times arrivals for its REMB estimator."""
    return int((time.time() + NTP_EPOCH_OFFSET_S) * 1000)


class _ReceiverFeed:
    """One receiver's share of the path: from its read packets to its sink, feeding aiortc's
    bookkeeping on the way as its `_handle_rtp_packet` does."""

    def __init__(
        self,
        receiver: RTCRtpReceiver,
        parameters: RTCRtpReceiveParameters,
        sink: PacketSink,
        demux: RidDemux | None,
        transport_cc_id: int,
    ) -> None:
        self._receiver = receiver
        self._sink = sink
        self._demux = demux
        negotiated = {ext.uri: ext.id for ext in parameters.headerExtensions}
        # aiortc negotiates neither simulcast nor transport-cc: the answer took them as offered
        if demux is not None:
            negotiated.update(demux.extension_ids)
        if transport_cc_id:
            negotiated[URI_TRANSPORT_CC] = transport_cc_id
        self.ids = ExtensionIds.of(negotiated)
        self.arrivals: ArrivalLog | None = None  # the transport's, set by _DirectPath.add
        self._codecs: dict[int, RTCRtpCodecParameters] = getattr(receiver, _RECEIVER_CODECS)
        # RTX: its SSRCs -> the media SSRCs they repair; its payload types -> the media's
        self._rtx_ssrc: dict[int, int] = getattr(receiver, _RECEIVER_RTX_SSRC)
        self._rtx_apt = {
            pt: codec.parameters["apt"]
            for pt, codec in self._codecs.items()
            if is_rtx(codec) and codec.parameters.get("apt") in self._codecs
        }
        self._streams: dict[int, StreamStatistics] = getattr(receiver, _RECEIVER_STREAMS)
        # aiortc's one NACK generator follows one stream: one per media SSRC here (simulcast)
        self._nacks: dict[int, NackGenerator] | None = (
            None if getattr(receiver, _RECEIVER_NACK) is None else {}
        )
        # REMB only for a sender without transport-cc: told a rate by aiortc's estimator, which
        # never goes above 1.5 times what it receives, a browser on a narrow uplink was told
        # too much and lost its voice, and one sending a small layer could not start a large one
        self._estimator: RemoteBitrateEstimator | None = (
            None if transport_cc_id else getattr(receiver, _RECEIVER_ESTIMATOR)
        )
        if self._estimator is not None:
            require(self._estimator, _ESTIMATOR_RATE)
            setattr(self._estimator, _ESTIMATOR_RATE, WindowRate(_RATE_WINDOW_MS))
        self._remb_throttle = RembThrottle()
        self._rtcp_tasks: set[asyncio.Future[None]] = set()

    def take(self, packet: ReceivedPacket) -> None:
        if not getattr(self._receiver, _RECEIVER_ENABLED):
            return
        arrivals = self.arrivals
        if arrivals is not None and packet.transport_sequence is not None:
            if arrivals.arrived(packet.transport_sequence, time.monotonic()):
                self._send_feedback(arrivals, packet.ssrc)
        estimator = self._estimator
        if estimator is not None and packet.abs_send_time is not None:
            now_ms = _arrival_ms()
            remb = estimator.add(
                arrival_time_ms=now_ms,
                abs_send_time=packet.abs_send_time,
                payload_size=len(packet.payload) + packet.padding_size,
                ssrc=packet.ssrc,
            )
            if remb is not None:
                bitrate, ssrcs = remb  # the SSRCs of every stream seen: all of a camera's layers
                if self._remb_throttle.should_send(bitrate, now_ms):
                    self._send_remb(bitrate, ssrcs)
        codec = self._codecs.get(packet.payload_type)
        if codec is None:
            return
        stream = self._streams.get(packet.ssrc)
        if stream is None:
            stream = self._streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        # aiortc's bookkeeping reads only the sequence number and timestamp of its packets
        stream.add(packet)  # type: ignore[arg-type]
        apt = self._rtx_apt.get(packet.payload_type)
        demux = self._demux
        if demux is not None and packet.ssrc not in demux.rid_of:
            if packet.ssrc not in self._rtx_ssrc:
                demux.learn(packet, apt is not None, self._rtx_ssrc)
        if apt is not None:
            original_ssrc = self._rtx_ssrc.get(packet.ssrc)
            if original_ssrc is None:
                return
            original = unwrap_rtx(packet, apt, original_ssrc)
            if original is None:
                return
            packet = original
        if demux is not None:
            packet.rid = demux.rid_of.get(packet.ssrc)
        nacks = self._nacks
        if nacks is not None:
            nack = nacks.get(packet.ssrc)
            if nack is None:
                nack = nacks[packet.ssrc] = NackGenerator()
            if nack.add(packet):  # type: ignore[arg-type]
                send_nack = getattr(self._receiver, _RECEIVER_SEND_NACK)
                self._spawn(send_nack(packet.ssrc, sorted(nack.missing)))
        self._sink(packet)

    def _send_feedback(self, arrivals: ArrivalLog, media_ssrc: int) -> None:
        """What arrived on the transport since the last report, in the call that read the
        packet: RTCP of a few dozen bytes, every FEEDBACK_INTERVAL_S while packets come."""
        rtcp_ssrc = getattr(self._receiver, _RECEIVER_RTCP_SSRC)
        if rtcp_ssrc is None:
            return
        send_rtcp = getattr(self._receiver, _RECEIVER_SEND_RTCP)
        for feedback in arrivals.feedback(rtcp_ssrc, media_ssrc):
            run_now(send_rtcp(build_feedback(feedback)))  # aiortc sends bytes(packet)

    def _send_remb(self, bitrate: int, ssrcs: list[int]) -> None:
        rtcp_ssrc = getattr(self._receiver, _RECEIVER_RTCP_SSRC)
        if rtcp_ssrc is None:
            return
        remb = RtcpPsfbPacket(
            fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(bitrate, ssrcs)
        )
        self._spawn(getattr(self._receiver, _RECEIVER_SEND_RTCP)(remb))

    def _spawn(self, send: Coroutine[Any, Any, None]) -> None:
        """RTCP goes out through aiortc's own (async) sending, at most a few times a second
        (NACKs on loss, REMBs paced)."""
        task = asyncio.ensure_future(send)
        self._rtcp_tasks.add(task)
        task.add_done_callback(self._rtcp_tasks.discard)


class _DirectPath:
    """One DTLS transport's SRTP packets of hooked receivers, taken in the ICE connection's
    `data_received`, and SRTCP too (it goes to aiortc's own RTCP routing, in that call);
    everything else (DTLS, packets for other receivers) is handed to the stock
    `data_received`, which queues it for the DTLS transport's task."""

    _paths: weakref.WeakKeyDictionary[RTCDtlsTransport, _DirectPath] = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, dtls: RTCDtlsTransport) -> _DirectPath:
        path = cls._paths.get(dtls)
        if path is None:
            path = cls._paths[dtls] = cls(dtls)
        return path

    def __init__(self, dtls: RTCDtlsTransport) -> None:
        for name in (_DTLS_RX_SRTP, _DTLS_ROUTER, _DTLS_HANDLE_RTCP):
            require(dtls, name)
        connection = ice_connection(dtls.transport)
        require(connection, _ICE_DATA_RECEIVED)
        srtp: pylibsrtp.Session | None = getattr(dtls, _DTLS_RX_SRTP)
        if srtp is None:
            raise HookError("the DTLS transport has no SRTP session once its receiver started")
        self._srtp = srtp
        self._unprotect_rtcp = srtp.unprotect_rtcp
        self._handle_rtcp: Callable[[bytes], Coroutine[Any, Any, None]] = getattr(
            dtls, _DTLS_HANDLE_RTCP
        )
        self._router = getattr(dtls, _DTLS_ROUTER)
        self._routes: dict[RTCRtpReceiver, _Route] = {}
        self._by_ssrc: dict[int, _Route] = {}
        self._arrivals: ArrivalLog | None = None
        self._stock: Callable[[bytes, int], None] = getattr(connection, _ICE_DATA_RECEIVED)
        setattr(connection, _ICE_DATA_RECEIVED, self.data_received)
        require(connection, _ICE_PROTOCOLS)
        for protocol in getattr(connection, _ICE_PROTOCOLS):
            self._take_datagrams(protocol)

    def _take_datagrams(self, protocol: Any) -> None:
        """SRTP and SRTCP come to `data_received` straight from the socket's protocol: aioice
        first tries every datagram as STUN, raising and catching an error for each packet."""
        require(protocol, _PROTOCOL_DATAGRAM_RECEIVED)
        require(protocol, _PROTOCOL_CANDIDATE)
        stock: Callable[[bytes, tuple[Any, ...]], None] = protocol.datagram_received
        component: int = protocol.local_candidate.component
        data_received = self.data_received

        def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
            if data and 127 < data[0] < 192:  # RTP or RTCP; STUN starts with 0-3 (RFC 7983)
                data_received(data, component)
            else:
                stock(data, addr)

        setattr(protocol, _PROTOCOL_DATAGRAM_RECEIVED, datagram_received)

    def add(self, receiver: RTCRtpReceiver, feed: _ReceiverFeed) -> None:
        self._routes[receiver] = (srtp_reader(self._srtp, feed.ids), feed.take)
        if feed.ids.transport_sequence:  # one numbering for all the transport's packets
            if self._arrivals is None:
                self._arrivals = ArrivalLog(time.monotonic())
            feed.arrivals = self._arrivals

    def data_received(self, data: bytes, component: int) -> None:
        # SRTP and SRTCP: first byte 128-191 (RFC 7983); RTCP: second byte 192-208 (RFC 5761)
        if len(data) < 12 or not 127 < data[0] < 192:
            self._stock(data, component)
            return
        if 191 < data[1] < 209:
            try:
                decrypted = self._unprotect_rtcp(data)
            except (pylibsrtp.Error, ValueError):
                return  # as aiortc drops it; ValueError: longer than pylibsrtp takes
            run_now(self._handle_rtcp(decrypted))
            return
        ssrc = int.from_bytes(data[8:12], "big")  # the header is not encrypted
        route = known = self._by_ssrc.get(ssrc)
        if route is None:
            route = self._routes.get(self._receiver_for(ssrc, data[1] & 0x7F))
            if route is None:
                self._stock(data, component)
                return
        read, take = route
        packet = read(data)  # None: not authentic, replayed or not RTP, dropped as aiortc does
        if packet is None:
            return
        if known is None:
            # Anyone can send a new SSRC: it is learnt (here and by aiortc's router) only from
            # an authentic packet, so spoofed ones add nothing.
            self._router.route_rtp(RtpPacket(payload_type=packet.payload_type, ssrc=ssrc))
            self._by_ssrc[ssrc] = route
        take(packet)

    def _receiver_for(self, ssrc: int, payload_type: int) -> Any:
        """The receiver aiortc's router would give this SSRC (an unknown one goes by payload
        type, when one receiver has it), without its learning the SSRC as `route_rtp` does."""
        known = self._router.ssrc_table.get(ssrc)
        by_type = self._router.payload_type_table.get(payload_type, set())
        if known is not None:
            return known if known in by_type else None
        return next(iter(by_type)) if len(by_type) == 1 else None


def receive_rtcp_directly(dtls: RTCDtlsTransport) -> None:
    """SRTCP on this DTLS transport (a subscriber's receiver reports, NACKs and keyframe
    requests on a subscribe connection) is handled in the call that read it, without the
    DTLS transport's queue and task wake-up per packet."""
    _DirectPath.of(dtls)


def run_now(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run an aiortc handler to its end in this call. aiortc 1.16's RTCP handlers of senders
    and receivers never wait (a NACK's retransmission is the lean path's, synchronous); should
    one wait, a task takes it from there, as the DTLS transport's own task would have."""
    try:
        awaited = coroutine.send(None)
    except StopIteration:
        return
    task = asyncio.ensure_future(_finish(coroutine, awaited))
    _FINISHING.add(task)
    task.add_done_callback(_FINISHING.discard)


_FINISHING: set[asyncio.Future[None]] = set()  # run_now's tasks, referenced until done


async def _finish(coroutine: Coroutine[Any, Any, None], awaited: Any) -> None:
    """Step `coroutine` on from a wait, as an asyncio task steps one: resume it once what it
    waits for is done (it reads the result or exception itself)."""
    while True:
        if isinstance(awaited, asyncio.Future):
            await asyncio.wait([awaited])
        else:
            await asyncio.sleep(0)  # a bare yield
        try:
            awaited = coroutine.send(None)
        except StopIteration:
            return
