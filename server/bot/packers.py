"""RTP packetisation of EncodedTrack items for aiortc's pre-encoded sender path, so aiortc
never creates an encoder: `Vp8Packer` (RFC 7741) and `OpusPacker`."""

from __future__ import annotations

import random

from server.bot.pacing import EncodedItem

MAX_PAYLOAD = 1200  # bytes of RTP payload, VP8 payload descriptor included
VP8_DESCRIPTOR_SIZE = 4  # X=1, I=1, M=1: 15-bit picture id
PICTURE_ID_MOD = 1 << 15


def vp8_payloads(frame: bytes, picture_id: int, max_payload: int = MAX_PAYLOAD) -> list[bytes]:
    """RFC 7741 packetisation of one VP8 frame: a 4-byte payload descriptor (X=1, S on the
    first packet, PID 0, I=1 with a 15-bit picture id) and sizes as even as possible."""
    room = max_payload - VP8_DESCRIPTOR_SIZE
    if room <= 0:
        raise ValueError("max_payload too small for the VP8 payload descriptor")
    count = max(1, -(-len(frame) // room))
    base, extra = divmod(len(frame), count)
    pid = picture_id % PICTURE_ID_MOD
    tail = bytes((0x80, 0x80 | (pid >> 8), pid & 0xFF))
    payloads = []
    pos = 0
    for i in range(count):
        size = base + (1 if i < extra else 0)
        first = 0x90 if i == 0 else 0x80  # X, and S on the first packet; PID 0
        payloads.append(bytes((first,)) + tail + frame[pos : pos + size])
        pos += size
    return payloads


class Vp8Packer:
    """aiortc pre-encoded packer for EncodedTrack video items."""

    def __init__(self, picture_id: int | None = None, max_payload: int = MAX_PAYLOAD) -> None:
        self.picture_id = (
            random.randrange(PICTURE_ID_MOD) if picture_id is None else picture_id
        ) % PICTURE_ID_MOD
        self.max_payload = max_payload
        self.payloads = 0

    def pack(self, item: EncodedItem) -> tuple[list[bytes], int]:
        payloads = vp8_payloads(item.data, self.picture_id, self.max_payload)
        self.picture_id = (self.picture_id + 1) % PICTURE_ID_MOD
        self.payloads += len(payloads)
        return payloads, item.timestamp


class OpusPacker:
    """aiortc pre-encoded packer for EncodedTrack audio items: one packet, one payload. Keeps
    the last item's (voice, level) for aiortc_hooks.send_audio_levels."""

    def __init__(self) -> None:
        self.last_level: tuple[bool, int] | None = None
        self.payloads = 0

    def pack(self, item: EncodedItem) -> tuple[list[bytes], int]:
        self.payloads += 1
        self.last_level = None if item.level is None else (item.voice, item.level)
        return [item.data], item.timestamp
