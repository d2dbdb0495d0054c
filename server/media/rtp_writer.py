"""A subscriber's RTP packets, written as bytes around the publisher's payloads.

The lean send path's pure part: one RtpWriter per consumer, made from what its sender
negotiated (SSRC, payload type, header extension ids, RTX). It writes the 12-byte header and
the extension block in front of the payload bytes the producer received, with its own sequence
numbers (continuous across source switches), and keeps the last packets for retransmission.
No aiortc object is made per packet; tests check the bytes against aiortc's own parser.
"""

from __future__ import annotations

import random
import struct
import time
from dataclasses import dataclass, field
from typing import Protocol

from server.media.transport_feedback import URI_TRANSPORT_CC

RTP_HISTORY_SIZE = 128  # packets kept for NACK, as aiortc keeps: ~2 s of 640x480 video
TRANSPORT_HISTORY_SIZE = 4096  # packets whose send time is kept for transport-cc feedback
URI_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
URI_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
URI_AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
NTP_EPOCH_OFFSET_S = 2_208_988_800  # 1900-01-01 to 1970-01-01

_HEADER = struct.Struct("!BBHII")  # V=2 P X CC, M PT, sequence number, timestamp, SSRC
_SEQ_MASK = 0xFFFF
_TS_MASK = 0xFFFFFFFF


def ntp_now() -> int:
    """The wall clock as a 64-bit NTP timestamp (32.32 fixed point), as sender reports carry."""
    return int((time.time() + NTP_EPOCH_OFFSET_S) * 4_294_967_296)


def abs_send_time(ntp: int) -> int:
    """The abs-send-time extension's 6.18 fixed-point seconds from an NTP timestamp."""
    return (ntp >> 14) & 0xFFFFFF


@dataclass(frozen=True, slots=True)
class SendSetup:
    """What a subscriber's sender negotiated."""

    ssrc: int
    payload_type: int
    mid: str | None = None
    extensions: dict[str, int] = field(default_factory=dict)  # header extension URI -> id
    rtx: tuple[int, int] | None = None  # (payload type, SSRC) when RTX (RFC 4588) was negotiated


def _extension_block(elements: list[tuple[int, bytes]]) -> tuple[bytearray, list[int]]:
    """An RFC 8285 header extension block (profile, length in words, elements, padding) and
    where each element's value starts in it. One-byte form when every id and length allows."""
    one_byte = all(0 < ext_id <= 14 and 0 < len(value) <= 16 for ext_id, value in elements)
    body = bytearray()
    offsets = []
    for ext_id, value in elements:
        body += bytes([(ext_id << 4) | (len(value) - 1)] if one_byte else [ext_id, len(value)])
        offsets.append(4 + len(body))
        body += value
    body += bytes(-len(body) % 4)
    head = struct.pack("!HH", 0xBEDE if one_byte else 0x1000, len(body) // 4)
    return bytearray(head + body), offsets


class PacketNumbering(Protocol):
    """Transport-wide sequence numbers (TransportSequence, or the compiled one)."""

    @property
    def next(self) -> int:
        """The number the next packet gets."""

    def take(self, size: int) -> int: ...

    def sent(self, seq: int) -> tuple[float, int] | None: ...


class TransportSequence:
    """The transport-wide sequence numbers of one subscriber's connection, shared by all its
    writers, and when (ms of `time.monotonic()`) and how big each packet was, for its
    transport-cc feedback. (`_rtp_send.TransportSequence` is the same in C.)"""

    def __init__(self) -> None:
        self.next = 0
        self._kept: list[tuple[int, float, int] | None] = [None] * TRANSPORT_HISTORY_SIZE

    def take(self, size: int, now_ms: float | None = None) -> int:
        """The next sequence number, for a packet of `size` bytes sent now."""
        seq = self.next
        self.next = (seq + 1) & _SEQ_MASK
        sent = time.monotonic() * 1000.0 if now_ms is None else now_ms
        self._kept[seq % TRANSPORT_HISTORY_SIZE] = (seq, sent, size)
        return seq

    def sent(self, seq: int) -> tuple[float, int] | None:
        """(when it was sent, its size) while `seq` is kept."""
        kept = self._kept[seq % TRANSPORT_HISTORY_SIZE]
        return None if kept is None or kept[0] != seq else (kept[1], kept[2])


class Extensions:
    """One variant of a writer's extension block, with the offsets of its per-frame values
    (the transport-wide sequence number's comes before the audio level's, so it is the same in
    both variants)."""

    def __init__(self, setup: SendSetup, with_level: bool) -> None:
        ids = setup.extensions
        elements: list[tuple[int, bytes]] = []
        kinds: list[str] = []
        if URI_MID in ids and setup.mid:
            elements.append((ids[URI_MID], setup.mid.encode()))
            kinds.append(URI_MID)
        for uri, size in ((URI_ABS_SEND_TIME, 3), (URI_TRANSPORT_CC, 2), (URI_AUDIO_LEVEL, 1)):
            if uri in ids and (uri != URI_AUDIO_LEVEL or with_level):
                elements.append((ids[uri], bytes(size)))
                kinds.append(uri)
        self.block, offsets = _extension_block(elements) if elements else (bytearray(), [])
        where = dict(zip(kinds, offsets, strict=True))
        self.abs_send_time_at = where.get(URI_ABS_SEND_TIME)
        self.audio_level_at = where.get(URI_AUDIO_LEVEL)
        self.transport_seq_at = where.get(URI_TRANSPORT_CC)

    def filled(self, send_time: int, level: tuple[bool, int] | None) -> bytes:
        block = self.block
        at = self.abs_send_time_at
        if at is not None:
            block[at : at + 3] = send_time.to_bytes(3, "big")
        at = self.audio_level_at
        if at is not None and level is not None:
            block[at] = (0x80 if level[0] else 0) | (level[1] & 0x7F)
        return bytes(block)


class FrameWriting(Protocol):
    """A subscriber stream's writer: RtpWriter, or the compiled one (compiled_send.py). It
    also keeps what its sender reports: packets and payload octets written, and the wall clock
    (NTP) of the last frame sent, which the sender of the frame sets."""

    packets_sent: int
    octets_sent: int
    last_ntp: int

    @property
    def timestamp(self) -> int:
        """The RTP timestamp of the last frame written."""

    def write(
        self,
        payloads: list[bytes],
        timestamp: int,
        send_time: int,
        audio_level: tuple[bool, int] | None = None,
    ) -> list[bytes]: ...

    def retransmission(self, seq: int) -> bytes | None: ...

    def padding(self, size: int) -> bytes | None:
        """A padding-only packet for a probe (Retransmissions.padding)."""


class Retransmissions:
    """A writer's resending of kept packets: as RTX (its own SSRC and sequence, the original
    sequence number in front of the payload) when negotiated, else the packet itself."""

    def __init__(
        self,
        rtx: tuple[int, int] | None,
        transport: PacketNumbering | None = None,
        transport_seq_at: int | None = None,
        transport_cc_id: int | None = None,
    ) -> None:
        self._rtx = rtx
        self._rtx_seq = random.randrange(1 << 15)
        # a resent packet gets a transport-wide sequence number of its own, at this offset
        self._transport = transport if transport_seq_at is not None else None
        self._transport_seq_at = 12 + (transport_seq_at or 0)
        self._transport_cc_id = transport_cc_id

    def padding(self, size: int, timestamp: int) -> bytes | None:
        """A padding-only packet of about `size` bytes on the RTX stream, numbered on the
        transport (a probe: the receiver counts it in its feedback and drops it); None without
        RTX or transport-wide numbers."""
        transport, ext_id = self._transport, self._transport_cc_id
        if self._rtx is None or transport is None or ext_id is None:
            return None
        rtx_pt, rtx_ssrc = self._rtx
        pad = min(max(size - 20, 1), 255)
        wide = transport.take(20 + pad)
        header = _HEADER.pack(0xB0, rtx_pt, self._rtx_seq, timestamp, rtx_ssrc)  # P and X set
        self._rtx_seq = (self._rtx_seq + 1) & _SEQ_MASK
        extension = struct.pack("!HHBHB", 0xBEDE, 1, (ext_id << 4) | 1, wide, 0)
        return header + extension + bytes(pad - 1) + bytes([pad])

    def resend(self, packet: bytes | None, seq: int) -> bytes | None:
        """`packet` is what the writer kept in `seq`'s place; None once it is gone."""
        if packet is None or int.from_bytes(packet[2:4], "big") != seq:
            return None
        if self._rtx is None:
            return self._numbered(packet)
        rtx_pt, rtx_ssrc = self._rtx
        header_len = 12 + 4 * (packet[0] & 0x0F)
        if packet[0] & 0x10:
            header_len += 4 + 4 * int.from_bytes(packet[header_len + 2 : header_len + 4], "big")
        header = bytearray(packet[:header_len])
        header[1] = (packet[1] & 0x80) | rtx_pt
        struct.pack_into("!H", header, 2, self._rtx_seq)
        struct.pack_into("!I", header, 8, rtx_ssrc)
        self._rtx_seq = (self._rtx_seq + 1) & _SEQ_MASK
        return self._numbered(bytes(header) + packet[2:4] + packet[header_len:])

    def _numbered(self, packet: bytes) -> bytes:
        transport = self._transport
        if transport is None:
            return packet
        at = self._transport_seq_at
        wide = transport.take(len(packet)).to_bytes(2, "big")
        return packet[:at] + wide + packet[at + 2 :]


def stream_starts(first_seq: int | None, ts_origin: int | None) -> tuple[int, int]:
    """A new stream's first sequence number and timestamp origin: random, as aiortc's sender
    makes them, unless given; the sequence in the lower half, which keeps SRTP's rollover guess
    right at the receiver."""
    return (
        random.randrange(1 << 15) if first_seq is None else first_seq,
        random.randrange(1 << 32) if ts_origin is None else ts_origin,
    )


class RtpWriter:
    """Writes one outgoing stream: frames in, protected-ready RTP packets out. (The compiled
    `_rtp_send.FrameWriter` is the same writer in C; compiled_send.py picks one.)"""

    def __init__(
        self,
        setup: SendSetup,
        first_seq: int | None = None,
        ts_origin: int | None = None,
        transport: TransportSequence | None = None,
    ):
        self._ssrc = setup.ssrc
        self._payload_type = setup.payload_type
        self._seq, self._ts_origin = stream_starts(first_seq, ts_origin)
        self._with_level = Extensions(setup, with_level=True)
        self._without_level = Extensions(setup, with_level=False)
        at = self._with_level.transport_seq_at
        self._transport = transport if at is not None else None
        self._retransmissions = Retransmissions(
            setup.rtx, transport, at, setup.extensions.get(URI_TRANSPORT_CC)
        )
        self._history: list[bytes | None] = [None] * RTP_HISTORY_SIZE
        self.timestamp = self._ts_origin  # of the last frame written
        self.packets_sent = 0
        self.octets_sent = 0
        self.last_ntp = 0

    def write(
        self,
        payloads: list[bytes],
        timestamp: int,
        send_time: int,
        audio_level: tuple[bool, int] | None = None,
    ) -> list[bytes]:
        """The packets of one frame: `timestamp` is the stream's own (rebased) timestamp,
        `send_time` the abs-send-time value; the marker bit is set on the frame's last packet,
        as aiortc does."""
        extensions = self._with_level if audio_level is not None else self._without_level
        ext = extensions.filled(send_time, audio_level)
        first = 0x90 if ext else 0x80
        ts = (timestamp + self._ts_origin) & _TS_MASK
        self.timestamp = ts
        pack = _HEADER.pack
        ssrc = self._ssrc
        pt = self._payload_type
        seq = self._seq
        history = self._history
        last = len(payloads) - 1
        packets = []
        transport = self._transport
        if transport is not None:
            at = extensions.transport_seq_at or 0
            head, tail = ext[:at], ext[at + 2 :]
            now_ms = time.monotonic() * 1000.0
        for i, payload in enumerate(payloads):
            marked = (pt | 0x80) if i == last else pt
            if transport is not None:
                size = 12 + len(ext) + len(payload)
                ext = head + transport.take(size, now_ms).to_bytes(2, "big") + tail
            packet = pack(first, marked, seq, ts, ssrc) + ext + payload
            history[seq % RTP_HISTORY_SIZE] = packet
            packets.append(packet)
            seq = (seq + 1) & _SEQ_MASK
            self.octets_sent += len(payload)
        self._seq = seq
        self.packets_sent += len(packets)
        return packets

    def retransmission(self, seq: int) -> bytes | None:
        """The packet a subscriber NACKed, as `Retransmissions.resend` makes it; None once it
        is gone."""
        return self._retransmissions.resend(self._history[seq % RTP_HISTORY_SIZE], seq)

    def padding(self, size: int) -> bytes | None:
        return self._retransmissions.padding(size, self.timestamp)
