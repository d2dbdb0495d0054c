"""The forwarding path's pure pieces: frames, VP8 frame assembly, timestamp rebasing.

No aiortc here: these take RTP fields and times as arguments, so they are tested directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SEQ_MOD = 1 << 16
TS_MOD = 1 << 32


def seq_delta(a: int, b: int) -> int:
    """Signed distance from b to a in 16-bit sequence space."""
    d = (a - b) % SEQ_MOD
    return d - SEQ_MOD if d >= SEQ_MOD // 2 else d


@dataclass(slots=True)
class ForwardedFrame:
    """One encoded frame as the publisher packetised it. The same object (and the same payload
    bytes) is handed to every consumer of the producer: packetised once, sent N times."""

    payloads: list[bytes]
    timestamp: int
    keyframe: bool
    arrival: float  # monotonic seconds when the frame's last packet arrived
    audio_level: tuple[bool, int] | None = None  # RFC 6464 (voice, level) of an audio packet
    size: int = field(init=False)  # payload bytes, counted once for all its subscribers

    def __post_init__(self) -> None:
        self.size = sum(map(len, self.payloads))


def _vp8_payload_start(payload: bytes) -> int | None:
    """Where the VP8 payload (its frame header) begins in an RTP payload that starts a frame
    (RFC 7741: S bit, partition 0, then the payload descriptor); None for any other packet."""
    if not payload:
        return None
    first = payload[0]
    if not (first & 0x10) or first & 0x0F:
        return None
    pos = 1
    if first & 0x80:  # X: extension byte follows
        if len(payload) < 2:
            return None
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: picture id, 1 or 2 bytes
            if len(payload) <= pos:
                return None
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: one byte
            pos += 1
    return pos


def vp8_frame_start(payload: bytes) -> tuple[bool, bool]:
    """(is the first packet of a frame, is that frame a keyframe) from a VP8 RTP payload
    (RFC 7741 payload descriptor, then the VP8 payload header's P bit)."""
    pos = _vp8_payload_start(payload)
    if pos is None:
        return False, False
    if len(payload) <= pos:
        return True, False
    return True, (payload[pos] & 0x01) == 0


_VP8_START_CODE = b"\x9d\x01\x2a"


def vp8_keyframe_size(payload: bytes) -> tuple[int, int] | None:
    """(width, height) of the keyframe whose first RTP payload this is (RFC 6386 9.1: after the
    3-byte frame tag, the start code 9d 01 2a, then 14-bit width and height, each with 2 bits
    of upscaling above); None when it is not a keyframe's first packet."""
    pos = _vp8_payload_start(payload)
    if pos is None or len(payload) < pos + 10 or payload[pos] & 0x01:
        return None
    if payload[pos + 3 : pos + 6] != _VP8_START_CODE:
        return None
    width = int.from_bytes(payload[pos + 6 : pos + 8], "little") & 0x3FFF
    height = int.from_bytes(payload[pos + 8 : pos + 10], "little") & 0x3FFF
    return width, height


@dataclass(slots=True)
class _Pending:
    payload: bytes
    timestamp: int
    marker: bool
    start: bool
    keyframe: bool


@dataclass
class AssemblyResult:
    frames: list[ForwardedFrame] = field(default_factory=list)
    broken: bool = False  # a frame was abandoned: consumers need a keyframe


class Vp8FrameAssembler:
    """Groups a VP8 stream's RTP packets into whole frames, in order.

    A frame is released as soon as its packets from the frame start to the marker bit are all
    present, so no frame waits for the next one. A gap that NACK/RTX has not filled within
    `max_wait_s` is given up: the assembler skips to the next frame start and reports `broken`,
    so the producer asks for a keyframe and consumers wait for one.
    """

    def __init__(self, max_wait_s: float = 0.25, max_pending: int = 512) -> None:
        self._max_wait_s = max_wait_s
        self._max_pending = max_pending
        self._pending: dict[int, _Pending] = {}
        self._next_seq: int | None = None
        self._gap_since: float | None = None

    def add(
        self, seq: int, timestamp: int, marker: bool, payload: bytes, now: float
    ) -> AssemblyResult:
        result = AssemblyResult()
        start, keyframe = vp8_frame_start(payload)
        if self._next_seq is None:
            if not start:
                return result  # join the stream at a frame boundary
            self._next_seq = seq
        elif seq_delta(seq, self._next_seq) < 0:
            return result  # late duplicate or retransmission of a frame already released
        self._pending[seq] = _Pending(payload, timestamp, marker, start, keyframe)
        self._release(result, now)
        if self._pending and self._stalled(now):
            self._skip_to_next_start(result)
            self._release(result, now)
        return result

    def _stalled(self, now: float) -> bool:
        if len(self._pending) > self._max_pending:
            return True
        if self._gap_since is None:
            self._gap_since = now
        return now - self._gap_since > self._max_wait_s

    def _release(self, result: AssemblyResult, now: float) -> None:
        while self._next_seq is not None:
            first = self._pending.get(self._next_seq)
            if first is None:
                return
            if not first.start:  # a middle packet where a frame must start: resync
                self._skip_to_next_start(result)
                continue
            seq = self._next_seq
            parts = [first]
            while not parts[-1].marker:
                seq = (seq + 1) % SEQ_MOD
                nxt = self._pending.get(seq)
                if nxt is None or nxt.timestamp != first.timestamp:
                    if nxt is not None:  # next frame began before a marker: frame is whole
                        seq = (seq - 1) % SEQ_MOD
                        break
                    return  # still missing a packet of this frame
                parts.append(nxt)
            for i in range(len(parts)):
                del self._pending[(self._next_seq + i) % SEQ_MOD]
            self._next_seq = (seq + 1) % SEQ_MOD
            self._gap_since = None
            result.frames.append(
                ForwardedFrame([p.payload for p in parts], first.timestamp, first.keyframe, now)
            )

    def _skip_to_next_start(self, result: AssemblyResult) -> None:
        """Drop everything before the oldest pending frame start beyond the gap."""
        assert self._next_seq is not None
        base = self._next_seq
        starts = sorted(
            (seq_delta(s, base), s) for s, p in self._pending.items() if p.start and s != base
        )
        result.broken = True
        self._gap_since = None
        if not starts:
            self._pending.clear()
            self._next_seq = None
            return
        _, new_seq = starts[0]
        for s in list(self._pending):
            if seq_delta(s, new_seq) < 0:
                del self._pending[s]
        self._next_seq = new_seq


class TimestampRebaser:
    """Keeps one outgoing RTP timestamp line continuous while the source behind it changes.

    On a switch, the first frame of the new source is placed `gap` ticks after the last frame
    sent, and later frames keep the new source's own spacing."""

    def __init__(self, gap: int) -> None:
        self._gap = gap
        self._offset: int | None = None
        self._last_out: int | None = None
        self._switched = True

    def switch(self) -> None:
        self._switched = True

    @property
    def offset(self) -> int | None:
        """What `rebase` adds now (None until the first frame after a switch)."""
        return None if self._switched else self._offset

    def resume(self, last_out: int) -> None:
        """Frames went out without `rebase` (the compiled fan-out, at `offset`); the last of
        them at `last_out`."""
        self._last_out = last_out

    def rebase(self, timestamp: int) -> int:
        if self._switched or self._offset is None:
            target = 0 if self._last_out is None else (self._last_out + self._gap) % TS_MOD
            self._offset = (target - timestamp) % TS_MOD
            self._switched = False
        out = (timestamp + self._offset) % TS_MOD
        self._last_out = out
        return out
