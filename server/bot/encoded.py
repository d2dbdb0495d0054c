"""Encoded media as a bot sends it: the stream kinds and clocks, packets read from a file once,
and what a packet's bytes say (VP8 keyframe, Opus duration, audio level) without decoding it
while sending."""

from __future__ import annotations

import itertools
import math
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import av

Kind = Literal["audio", "video"]

VIDEO_CLOCK = 90_000
AUDIO_CLOCK = 48_000


@dataclass(frozen=True, slots=True)
class EncodedPacket:
    data: bytes
    duration: int  # clock ticks until the next packet
    keyframe: bool
    level: int | None = None  # audio: RFC 6464 level, 0 (loudest) .. 127 (silence) = -dBov


@dataclass(frozen=True)
class EncodedStream:
    kind: Kind
    clock_rate: int
    packets: tuple[EncodedPacket, ...]

    @property
    def period(self) -> int:
        """Length of one loop in clock ticks."""
        return sum(p.duration for p in self.packets)


def vp8_is_keyframe(frame: bytes) -> bool:
    """VP8 frame tag (RFC 6386 9.1): bit 0 of the first byte is 0 for a keyframe."""
    return bool(frame) and frame[0] & 0x01 == 0


def level_of_samples(samples: array[int]) -> int:
    """RFC 6464/6465 level of s16 samples: 0 (0 dBov) .. 127 (-127 dBov or silence)."""
    if not samples:
        return 127
    energy = sum(s * s for s in samples)
    rms = math.sqrt(energy / (len(samples) * 32767 * 32767))
    if rms <= 0:
        return 127
    return max(0, min(127, -round(20 * math.log10(rms))))


def opus_samples(packet: bytes) -> int:
    """Samples at 48 kHz in one Opus packet, from its TOC byte (RFC 6716 3.1)."""
    if not packet:
        return 0
    config, code = packet[0] >> 3, packet[0] & 0x03
    if config < 12:  # SILK: 10, 20, 40, 60 ms
        per_frame = (480, 960, 1920, 2880)[config % 4]
    elif config < 16:  # hybrid: 10, 20 ms
        per_frame = (480, 960)[config % 2]
    else:  # CELT: 2.5, 5, 10, 20 ms
        per_frame = (120, 240, 480, 960)[config % 4]
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:
        frames = packet[1] & 0x3F if len(packet) > 1 else 1
    return per_frame * frames


def _durations(ticks: list[int]) -> list[int]:
    if not ticks:
        return []
    steps = [max(0, b - a) for a, b in itertools.pairwise(ticks)]
    positive = sorted(s for s in steps if s > 0)
    typical = positive[len(positive) // 2] if positive else 1
    return [*steps, typical]


def load_stream(path: Path, kind: Kind) -> EncodedStream | None:
    """The first `kind` stream of the file as packets (None when it has none); audio is decoded
    here, once, only to know each packet's level."""
    clock = VIDEO_CLOCK if kind == "video" else AUDIO_CLOCK
    wanted = "vp8" if kind == "video" else "opus"
    with av.open(str(path)) as container:
        streams = [s for s in container.streams if s.type == kind]
        if not streams:
            return None
        stream: Any = streams[0]
        if stream.codec_context.name != wanted:
            raise ValueError(f"{path}: {kind} must be {wanted}, not {stream.codec_context.name}")
        resampler = (
            av.AudioResampler(format="s16", layout="mono", rate=AUDIO_CLOCK)
            if kind == "audio"
            else None
        )
        datas: list[bytes] = []
        ticks: list[int] = []
        levels: list[int | None] = []
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            tb = packet.time_base
            datas.append(bytes(packet))
            ticks.append(round(packet.pts * tb.numerator * clock / tb.denominator))
            if resampler is not None:
                # Decoded once at load, only to know the packet's level; never while sending.
                samples: array[int] = array("h")
                for frame in packet.decode():
                    for out in resampler.resample(frame):
                        samples.frombytes(bytes(out.planes[0])[: out.samples * 2])
                levels.append(level_of_samples(samples))
            else:
                levels.append(None)
    if not datas:
        return None
    if kind == "audio":
        durations = [opus_samples(d) for d in datas]  # exact; WebM keeps only milliseconds
    else:
        durations = _durations([t - ticks[0] for t in ticks])
    packets = tuple(
        EncodedPacket(d, dur, vp8_is_keyframe(d) if kind == "video" else True, lv)
        for d, dur, lv in zip(datas, durations, levels, strict=True)
    )
    return EncodedStream(kind, clock, packets)
