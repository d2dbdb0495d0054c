"""A publisher's RTP packets read for forwarding: only the fields the forwarding path and
aiortc's receiver bookkeeping use, from the decrypted bytes, with no aiortc object per packet.

The lean receive path's pure part (aiortc_receive.py feeds it); tests check it against packets
made by aiortc's own serializer.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from server.media.rtp_writer import URI_ABS_SEND_TIME, URI_AUDIO_LEVEL
from server.media.sdp import URI_REPAIRED_RID, URI_RID
from server.media.transport_feedback import URI_TRANSPORT_CC

_HEADER = struct.Struct("!BBHII")  # V=2 P X CC, M PT, sequence number, timestamp, SSRC
_ONE_BYTE_PROFILE = 0xBEDE
_TWO_BYTE_PROFILE = 0x1000  # RFC 8285: 0x100 and four application bits
_SEQ_MASK = 0xFFFF


@dataclass(slots=True)
class ReceivedPacket:
    ssrc: int
    sequence_number: int
    timestamp: int
    marker: bool
    payload_type: int
    payload: bytes
    padding_size: int = 0
    audio_level: tuple[bool, int] | None = None  # RFC 6464 (voice, level 0..127 = -dBov)
    abs_send_time: int | None = None  # 6.18 fixed-point seconds
    rid: str | None = None  # the simulcast layer (rtp-stream-id), or the one an RTX packet
    repaired_rid: str | None = None  # repairs (repaired-rtp-stream-id), where sent
    transport_sequence: int | None = None  # the transport-wide sequence number, where sent


@dataclass(frozen=True, slots=True)
class ExtensionIds:
    """The header extension ids a receiver negotiated for what forwarding reads (0: none)."""

    audio_level: int = 0
    abs_send_time: int = 0
    rid: int = 0
    repaired_rid: int = 0
    transport_sequence: int = 0

    @classmethod
    def of(cls, negotiated: dict[str, int]) -> ExtensionIds:
        """From header extension URI -> id."""
        return cls(
            negotiated.get(URI_AUDIO_LEVEL, 0),
            negotiated.get(URI_ABS_SEND_TIME, 0),
            negotiated.get(URI_RID, 0),
            negotiated.get(URI_REPAIRED_RID, 0),
            negotiated.get(URI_TRANSPORT_CC, 0),
        )


def read_rtp(data: bytes, ids: ExtensionIds) -> ReceivedPacket | None:
    """The packet in `data` (after SRTP), or None when it is not valid RTP (as aiortc's parser
    refuses it). Extension elements other than `ids`' are skipped."""
    if len(data) < 12:
        return None
    first, second, seq, timestamp, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != 2:
        return None
    pos = 12 + 4 * (first & 0x0F)  # past the CSRCs
    end = len(data)
    if end < pos:
        return None
    packet = ReceivedPacket(ssrc, seq, timestamp, second > 0x7F, second & 0x7F, b"")
    if first & 0x10:
        if end < pos + 4:
            return None
        profile = (data[pos] << 8) | data[pos + 1]
        block_end = pos + 4 + 4 * ((data[pos + 2] << 8) | data[pos + 3])
        if end < block_end or not _read_extensions(data, pos + 4, block_end, profile, ids, packet):
            return None
        pos = block_end
    if first & 0x20:
        padding = data[-1]
        if not padding or padding > end - pos:
            return None
        packet.padding_size = padding
        end -= padding
    packet.payload = data[pos:end]
    return packet


def _read_extensions(
    data: bytes, pos: int, end: int, profile: int, ids: ExtensionIds, packet: ReceivedPacket
) -> bool:
    """Fill `packet`'s extension fields from the RFC 8285 block data[pos:end]; False when an
    element runs past the block."""
    if profile == _ONE_BYTE_PROFILE:
        two_byte = False
    elif profile & 0xFFF0 == _TWO_BYTE_PROFILE:
        two_byte = True
    else:
        return True  # a profile nobody negotiated: no elements to read
    while pos < end:
        head = data[pos]
        if head == 0:  # padding between elements
            pos += 1
            continue
        if two_byte:
            if pos + 2 > end:
                return False
            ext_id, length = head, data[pos + 1]
            pos += 2
        else:
            if head >> 4 == 15:  # RFC 8285: stop reading the block
                return True
            ext_id, length = head >> 4, (head & 0x0F) + 1
            pos += 1
        if pos + length > end:
            return False
        if ext_id == ids.audio_level and length >= 1:
            value = data[pos]
            packet.audio_level = (value > 0x7F, value & 0x7F)
        elif ext_id == ids.abs_send_time and length >= 3:
            packet.abs_send_time = (data[pos] << 16) | (data[pos + 1] << 8) | data[pos + 2]
        elif ext_id == ids.rid:
            packet.rid = data[pos : pos + length].decode("ascii", "replace")
        elif ext_id == ids.repaired_rid:
            packet.repaired_rid = data[pos : pos + length].decode("ascii", "replace")
        elif ext_id == ids.transport_sequence and length >= 2:
            packet.transport_sequence = (data[pos] << 8) | data[pos + 1]
        pos += length
    return True


def unwrap_rtx(packet: ReceivedPacket, payload_type: int, ssrc: int) -> ReceivedPacket | None:
    """The original packet inside an RTX retransmission (RFC 4588: the original sequence
    number, then the original payload), given the original stream's payload type and SSRC;
    None when the payload is too short to hold one."""
    payload = packet.payload
    if len(payload) < 2:
        return None
    return ReceivedPacket(
        ssrc,
        ((payload[0] << 8) | payload[1]) & _SEQ_MASK,
        packet.timestamp,
        packet.marker,
        payload_type,
        payload[2:],
        0,  # the padding was the retransmission's own
        packet.audio_level,
        packet.abs_send_time,
        packet.repaired_rid,
    )
