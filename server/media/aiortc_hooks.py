"""Every use of aiortc and aioice internals but the lean receive and send paths' (aiortc_receive.py,
aiortc_send.py).

aiortc has no public pass-through API (aiortc #449), so forwarding encoded media needs a few
private attributes. Each hook checks that the attribute it relies on exists and raises
`HookError` if not, and tests/media/test_aiortc_hooks.py exercises every hook against the
pinned aiortc, so an aiortc upgrade that moves them fails loudly instead of silently decoding.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import random
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import aioice.ice
import aioice.turn
from aioice.candidate import Candidate, candidate_foundation, candidate_priority
from aiortc import RTCIceTransport, RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket

from server.media.datagram_queue import DatagramQueue

_RECEIVER_HANDLE_RTP = "_handle_rtp_packet"
_RECEIVER_REMOTE_STREAMS = "_RTCRtpReceiver__remote_streams"
_CLOCK_RATES = {"audio": 48_000, "video": 90_000}
_RECEIVER_SEND_PLI = "_send_rtcp_pli"
_SENDER_ENCODER = "_RTCRtpSender__encoder"
_SENDER_KEYFRAME = "_send_keyframe"
_SENDER_NEXT_FRAME = "_next_encoded_frame"
_SENDER_EXTENSIONS_MAP = "_RTCRtpSender__rtp_header_extensions_map"
_EXTENSIONS_SET = "set"
_ICE_CONNECTION = "_connection"
_ICE_QUEUE = "_queue"


class HookError(RuntimeError):
    """aiortc's internals no longer look the way these hooks expect."""


def require(obj: object, attribute: str) -> None:
    if not hasattr(obj, attribute):
        raise HookError(f"{type(obj).__name__} has no {attribute}: aiortc internals changed")


def ice_connection(ice: RTCIceTransport) -> aioice.ice.Connection:
    """The aioice connection behind an ICE transport: its sockets and nominated pairs."""
    require(ice, _ICE_CONNECTION)
    connection: aioice.ice.Connection = getattr(ice, _ICE_CONNECTION)
    return connection


def bound_datagram_queues(pc: RTCPeerConnection, datagrams_max: int, bytes_max: int) -> None:
    """Before `pc` gathers (binds its sockets): each of its ICE connections holds at most
    `datagrams_max` datagrams and `bytes_max` bytes for its DTLS transport to read, and drops
    the rest; aioice's own queue has no bound, and nothing reads it until the DTLS transport
    starts (an offer nobody answers: never)."""
    for transceiver in pc.getTransceivers():
        connection = ice_connection(transceiver.receiver.transport.transport)
        require(connection, _ICE_QUEUE)
        queue: asyncio.Queue[Any] = getattr(connection, _ICE_QUEUE)
        if isinstance(queue, DatagramQueue):
            continue  # a transport the transceivers share
        if not queue.empty():
            raise HookError("the ICE connection queued datagrams before it gathered")
        setattr(connection, _ICE_QUEUE, DatagramQueue(datagrams_max, bytes_max))


class Packer(Protocol):
    """What an RTCRtpSender calls for a non-Frame item from its track (aiortc's pre-encoded
    path): returns the RTP payloads of one frame and its timestamp relative to the stream."""

    def pack(self, frame: Any) -> tuple[list[bytes], int]: ...


PacketSink = Callable[[RtpPacket], None]


def count_received_packets(receiver: RTCRtpReceiver, sink: PacketSink, kind: str) -> None:
    """Cheapest receive path for load bots: every RTP packet goes to `sink` right after SRTP
    decryption; no NACKs or frame assembly. Reception statistics are still kept, so the bot's
    receiver reports carry loss, jitter and the timing a sender needs for round-trip time, as a
    browser's do."""
    require(receiver, _RECEIVER_HANDLE_RTP)
    require(receiver, _RECEIVER_REMOTE_STREAMS)
    streams: dict[int, StreamStatistics] = getattr(receiver, _RECEIVER_REMOTE_STREAMS)
    clock_rate = _CLOCK_RATES[kind]

    async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
        stream = streams.get(packet.ssrc)
        if stream is None:
            stream = streams[packet.ssrc] = StreamStatistics(clock_rate)
        stream.add(packet)
        sink(packet)

    setattr(receiver, _RECEIVER_HANDLE_RTP, handle)


def send_picture_loss(receiver: RTCRtpReceiver, media_ssrc: int) -> Awaitable[None]:
    """Ask the remote publisher for a keyframe (RTCP PLI)."""
    require(receiver, _RECEIVER_SEND_PLI)
    send: Callable[[int], Awaitable[None]] = getattr(receiver, _RECEIVER_SEND_PLI)
    return send(media_ssrc)


def install_packer(sender: RTCRtpSender, packer: Packer) -> None:
    """Make the sender packetise with `packer` instead of creating an aiortc encoder.

    The sender only creates its encoder when it has none, so setting ours first means no
    libvpx/libopus context is ever made for forwarded media."""
    require(sender, _SENDER_ENCODER)
    if getattr(sender, _SENDER_ENCODER) is not None:
        raise HookError("RTCRtpSender already created an encoder")
    setattr(sender, _SENDER_ENCODER, packer)


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call `callback` when the remote subscriber sends PLI or FIR for this sender; the
    pre-encoded path would otherwise ignore them."""
    require(sender, _SENDER_KEYFRAME)
    setattr(sender, _SENDER_KEYFRAME, callback)


def send_audio_levels(sender: RTCRtpSender, level: Callable[[], tuple[bool, int] | None]) -> None:
    """Send the RFC 6464 ssrc-audio-level extension on pre-encoded audio.

    aiortc sets it only for frames it encodes itself, and always with V=0. After the packer
    has packed a frame, `level()` returns that frame's (voice, level 0..127 = -dBov), or None
    to send no level. Audio is one payload per frame and aiortc does not NACK audio, so the
    values stay attached to the right packet."""
    require(sender, _SENDER_NEXT_FRAME)
    require(sender, _SENDER_EXTENSIONS_MAP)
    extensions_map = getattr(sender, _SENDER_EXTENSIONS_MAP)
    require(extensions_map, _EXTENSIONS_SET)
    next_frame = getattr(sender, _SENDER_NEXT_FRAME)
    stock_set = extensions_map.set
    voice = False

    async def next_encoded_frame(codec: Any) -> Any:
        nonlocal voice
        frame = await next_frame(codec)
        if frame is not None and frame.audio_level is None:
            current = level()
            if current is not None:
                voice = current[0]
                frame.audio_level = -max(0, min(127, current[1]))  # aiortc wants dBov
        return frame

    def set_extensions(values: Any) -> Any:
        if values.audio_level is not None:
            values.audio_level = (voice, values.audio_level[1])
        return stock_set(values)

    setattr(sender, _SENDER_NEXT_FRAME, next_encoded_frame)
    setattr(extensions_map, _EXTENSIONS_SET, set_extensions)


_stock_get_host_addresses = aioice.ice.get_host_addresses


def restrict_host_addresses(addresses: Sequence[str] | None) -> None:
    """Gather ICE host candidates only on `addresses` (None restores aioice's default: every
    interface but loopback). Loopback is allowed here, which aioice otherwise skips."""
    if not hasattr(aioice.ice, "get_host_addresses"):
        raise HookError("aioice.ice.get_host_addresses is gone: aioice internals changed")
    if addresses is None:
        aioice.ice.get_host_addresses = _stock_get_host_addresses
        return
    chosen = [str(ipaddress.ip_address(a)) for a in addresses]

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [
            a
            for a in chosen
            if (use_ipv4 and ipaddress.ip_address(a).version == 4)
            or (use_ipv6 and ipaddress.ip_address(a).version == 6)
        ]

    aioice.ice.get_host_addresses = get_host_addresses


class PortRangeExhausted(RuntimeError):
    """Every UDP port of --ice-port-range is taken on an address: no host candidate there."""


_stock_component_candidates = aioice.ice.Connection.get_component_candidates


def bind_host_ports(ports: tuple[int, int] | None) -> None:
    """Bind ICE host candidates only to UDP ports first..last (inclusive), so a firewall can
    open just that range; None restores aioice's ephemeral ports.

    aioice 0.13 binds each host socket to port 0 inside `Connection.get_component_candidates`
    (its `port_range` is an open pull request, aiortc/aioice#112). So this replaces that
    method: host sockets are bound here, in the range, and made into candidates as aioice
    does; server-reflexive candidates are asked of the STUN server for them as aioice does; the
    stock method, given no addresses, still adds the relayed candidate when there is a TURN
    server. A range with no free port raises PortRangeExhausted from the gathering."""
    connection_class = aioice.ice.Connection
    require(connection_class, "get_component_candidates")
    for name in ("StunProtocol", "server_reflexive_candidate"):
        if not hasattr(aioice.ice, name):
            raise HookError(f"aioice.ice has no {name}: aioice internals changed")
    if ports is None:
        connection_class.get_component_candidates = _stock_component_candidates  # type: ignore[method-assign]
        return
    first, last = ports

    async def get_component_candidates(
        self: aioice.ice.Connection,
        component: int,
        addresses: list[str],
        timeout: int = 5,  # noqa: ASYNC109 - aioice's signature
    ) -> list[Candidate]:
        protocols: list[aioice.ice.StunProtocol] = []
        try:
            for address in addresses:
                protocol = await _bind_in_range(self, component, address, first, last)
                if protocol is not None:
                    protocols.append(protocol)
        except PortRangeExhausted:
            for protocol in protocols:
                protocol.transport.close()
            raise
        self._protocols += protocols
        candidates = [protocol.local_candidate for protocol in protocols]
        candidates += await _reflexive_candidates(self, protocols, timeout)
        relayed: list[Candidate] = await _stock_component_candidates(self, component, [], timeout)
        return candidates + relayed

    connection_class.get_component_candidates = get_component_candidates  # type: ignore[method-assign]


async def _bind_in_range(
    connection: aioice.ice.Connection, component: int, address: str, first: int, last: int
) -> aioice.ice.StunProtocol | None:
    """A host candidate's protocol on a free port of first..last, tried from a random start
    (a port just freed is not handed to the next connection at once); None when the address
    cannot be bound at all, which aioice also skips."""
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    count = last - first + 1
    start = random.randrange(count)
    for offset in range(count):
        port = first + (start + offset) % count
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((address, port))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                continue
            return None
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, aioice.turn.UDP_SOCKET_BUFFER_SIZE)
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_datagram_endpoint(
            lambda: aioice.ice.StunProtocol(connection), sock=sock
        )
        protocol.local_candidate = Candidate(
            foundation=candidate_foundation("host", "udp", address),
            component=component,
            transport="udp",
            priority=candidate_priority(component, "host"),
            host=address,
            port=port,
            type="host",
        )
        return protocol
    raise PortRangeExhausted(f"no free UDP port in --ice-port-range {first}-{last} on {address}")


async def _reflexive_candidates(
    connection: aioice.ice.Connection, protocols: list[aioice.ice.StunProtocol], limit_s: int
) -> list[Candidate]:
    """What the STUN server sees of each IPv4 host socket, as aioice asks it."""
    stun_server = connection.stun_server
    if stun_server is None:
        return []
    tasks = [
        asyncio.create_task(aioice.ice.server_reflexive_candidate(protocol, stun_server))
        for protocol in protocols
        if ipaddress.ip_address(protocol.local_candidate.host).version == 4
    ]
    if not tasks:
        return []
    done, pending = await asyncio.wait(tasks, timeout=limit_s)
    for task in pending:
        task.cancel()
    return [task.result()[0] for task in done if task.exception() is None]
