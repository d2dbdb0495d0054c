"""Pre-encoded test media for bots: generate a clip once, read its packets once, replay them.

A bot never encodes while it runs. `generate_clip` makes a VP8 + Opus WebM with PyAV's lavfi
sources (moving test pattern with a frame counter and camera-like noise; speech-like bursts).
`EncodedMedia.load` demuxes a file once into memory (and decodes its audio once, only to know
each Opus packet's RFC 6464 level). `EncodedTrack` replays the packets in real time, looping
forever with continuing timestamps; `Vp8Packer` / `OpusPacker` turn its items into RTP payloads
for aiortc's pre-encoded sender path, so aiortc never creates an encoder.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import random
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import av.filter
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.video.frame import PictureType

Kind = Literal["audio", "video"]

VIDEO_CLOCK = 90_000
AUDIO_CLOCK = 48_000
MAX_PAYLOAD = 1200  # bytes of RTP payload, VP8 payload descriptor included
VP8_DESCRIPTOR_SIZE = 4  # X=1, I=1, M=1: 15-bit picture id
PICTURE_ID_MOD = 1 << 15
KEYFRAME_SKIP_INTERVAL_S = 0.5  # honour at most one keyframe request in this time
RESYNC_AFTER_S = 1.0  # this far behind the schedule: drop the backlog instead of bursting
VOICE_MAX_LEVEL = 60  # an audio packet at -60 dBov or louder is marked as voice (V=1)
# Opus DTX as libopus + libwebrtc do it: packets of <= 2 bytes are never sent; in a run of
# silent packets the first 10 (200 ms) go out, then one every 20 (400 ms, comfort noise).
DTX_MAX_BYTES = 2
DTX_SILENT_LEVEL = 90  # quieter than -90 dBov counts as silence
DTX_HANGOVER = 10
DTX_INTERVAL = 20

# Speech-like audio: 1.5 s bursts of a voiced-like tone (150 Hz fundamental, two harmonics,
# ~4 Hz syllable modulation) then 1 s of silence; about -20 dBov RMS inside a burst.
SPEECH_EXPR = (
    "0.19*lt(mod(t,2.5),1.5)*(0.6+0.4*sin(2*PI*4*t))"
    "*(sin(2*PI*150*t)+0.5*sin(2*PI*300*t)+0.25*sin(2*PI*450*t))"
)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "circle"


# -- generation ---------------------------------------------------------------------------


def _pull_all(sink: av.filter.context.FilterContext) -> list[Any]:
    frames: list[Any] = []
    while True:
        try:
            frames.append(sink.pull())
        except (av.error.EOFError, av.error.BlockingIOError):
            return frames


def _video_frames(seconds: float, width: int, height: int, fps: int) -> list[Any]:
    graph = av.filter.Graph()
    src = graph.add("testsrc2", f"size={width}x{height}:rate={fps}:duration={seconds}")
    noise = graph.add("noise", "alls=8:allf=t")  # camera-like temporal noise
    fmt = graph.add("format", "pix_fmts=yuv420p")
    sink = graph.add("buffersink")
    src.link_to(noise)
    noise.link_to(fmt)
    fmt.link_to(sink)
    graph.configure()
    return _pull_all(sink)


def _audio_frames(seconds: float, expr: str = SPEECH_EXPR) -> list[Any]:
    graph = av.filter.Graph()
    src = graph.add("aevalsrc", f"exprs='{expr}':s={AUDIO_CLOCK}:d={seconds}:n=960")
    fmt = graph.add("aformat", f"sample_fmts=s16:channel_layouts=mono:sample_rates={AUDIO_CLOCK}")
    sink = graph.add("abuffersink")
    src.link_to(fmt)
    fmt.link_to(sink)
    graph.configure()
    return _pull_all(sink)


def generate_clip(
    path: str | Path,
    seconds: float = 10.0,
    width: int = 640,
    height: int = 480,
    fps: int = 20,
    keyframe_interval_s: float = 2.0,
    *,
    audio: bool = True,
    video: bool = True,
    video_bitrate: int = 500_000,
    audio_bitrate: int = 32_000,
    audio_expr: str = SPEECH_EXPR,
) -> Path:
    """Write a WebM (VP8 and/or Opus) test clip to `path` unless it already exists.

    The file appears atomically (written beside it, then renamed), so concurrent callers at
    worst generate it twice."""
    path = Path(path)
    if path.exists() and path.stat().st_size > 0:
        return path
    if not (audio or video):
        raise ValueError("a clip needs audio, video or both")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    keyint = max(1, round(fps * keyframe_interval_s))
    try:
        with av.open(str(tmp), "w", format="webm") as container:
            vstream: Any = None
            astream: Any = None
            if video:
                vstream = container.add_stream("libvpx", rate=fps)
                vstream.width, vstream.height, vstream.pix_fmt = width, height, "yuv420p"
                vstream.bit_rate = video_bitrate
                vstream.codec_context.gop_size = keyint
                vstream.options = {
                    "deadline": "realtime",
                    "cpu-used": "8",
                    "lag-in-frames": "0",
                    "auto-alt-ref": "0",  # no invisible frames: one packet is one shown frame
                    "keyint_min": str(keyint),
                    "maxrate": str(video_bitrate),
                    "minrate": str(video_bitrate),
                }
            if audio:
                astream = container.add_stream("libopus", rate=AUDIO_CLOCK, layout="mono")
                astream.bit_rate = audio_bitrate
                astream.options = {"frame_duration": "20", "application": "voip", "dtx": "1"}
            vframes = _video_frames(seconds, width, height, fps) if video else []
            aframes = _audio_frames(seconds, audio_expr) if audio else []
            ai = 0
            for index, frame in enumerate(vframes):
                frame.pts = index
                frame.time_base = Fraction(1, fps)
                frame.pict_type = PictureType.I if index % keyint == 0 else PictureType.NONE
                container.mux(vstream.encode(frame))
                while ai < len(aframes) and ai * 960 * fps <= index * AUDIO_CLOCK:
                    container.mux(astream.encode(aframes[ai]))
                    ai += 1
            for frame in aframes[ai:]:
                container.mux(astream.encode(frame))
            if vstream is not None:
                container.mux(vstream.encode(None))
            if astream is not None:
                container.mux(astream.encode(None))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def scripted_speech_expr(
    spans: list[tuple[float, float]], amplitude: float = 0.19, noise_floor: float = 0.0005
) -> str:
    """An aevalsrc expression: speech-like sound (a voiced-like tone with syllable modulation)
    exactly inside `spans` (seconds), a faint noise floor everywhere else. For checking
    speaking-time measurement against a known truth."""
    inside = "+".join(f"between(t,{start:.3f},{end:.3f})" for start, end in spans) or "0"
    voice = (
        f"{amplitude}*({inside})*(0.6+0.4*sin(2*PI*4*t))"
        "*(sin(2*PI*150*t)+0.5*sin(2*PI*300*t)+0.25*sin(2*PI*450*t))"
    )
    return f"{voice}+{noise_floor}*(2*random(0)-1)"


def default_clip(cache_dir: Path | None = None) -> Path:
    """The bots' default 10 s 640x480@20 VP8 + Opus clip, generated once into the cache."""
    return generate_clip((cache_dir or default_cache_dir()) / "bot-640x480-20fps-v1.webm")


# -- loading ------------------------------------------------------------------------------


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


def _load_stream(path: Path, kind: Kind) -> EncodedStream | None:
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


@dataclass(frozen=True, slots=True)
class EncodedItem:
    """What an EncodedTrack's recv() returns: one encoded frame for a packer."""

    kind: Kind
    data: bytes
    timestamp: int  # clock ticks since the track started, continuing across loops
    keyframe: bool
    level: int | None  # RFC 6464 level (audio)
    voice: bool


class EncodedMedia:
    """The packets of one or two files, read once; any number of tracks replay them."""

    def __init__(self, audio: EncodedStream | None, video: EncodedStream | None) -> None:
        self.audio = audio
        self.video = video

    @classmethod
    def load(cls, audio_path: str | Path | None, video_path: str | Path | None) -> EncodedMedia:
        audio = _load_stream(Path(audio_path), "audio") if audio_path else None
        video = _load_stream(Path(video_path), "video") if video_path else None
        if audio_path and audio is None:
            raise ValueError(f"{audio_path} has no audio stream")
        if video_path and video is None:
            raise ValueError(f"{video_path} has no video stream")
        return cls(audio, video)

    def stream(self, kind: Kind) -> EncodedStream | None:
        return self.audio if kind == "audio" else self.video

    def tracks(self) -> list[EncodedTrack]:
        return [EncodedTrack(s) for s in (self.audio, self.video) if s is not None]


class EncodedTrack(MediaStreamTrack):
    """Replays an EncodedStream in real time, looping forever with continuing timestamps.

    On a keyframe request (video) the next frame slot carries the file's next keyframe."""

    def __init__(
        self,
        stream: EncodedStream,
        *,
        dtx: bool = True,
        clock: Callable[[], float] = time.monotonic,
        start_index: int = 0,
    ) -> None:
        super().__init__()
        self.kind = stream.kind
        self.stream = stream
        self.dtx = dtx
        self._clock = clock
        self._index = start_index % len(stream.packets)
        self._timestamp = 0
        self._started_at: float | None = None
        self._skip_pending = False
        self._last_skip_request = -math.inf
        self.loops = 0
        self.sent = 0
        self.keyframe_skips = 0
        self._silent_run = 0
        self._keyframes = [i for i, p in enumerate(stream.packets) if p.keyframe]

    def request_keyframe(self) -> None:
        """Honoured at the next frame slot, at most once per KEYFRAME_SKIP_INTERVAL_S."""
        if self.kind != "video" or not self._keyframes:
            return
        now = self._clock()
        if now - self._last_skip_request >= KEYFRAME_SKIP_INTERVAL_S:
            self._last_skip_request = now
            self._skip_pending = True

    def _next_keyframe(self, index: int) -> int:
        for k in self._keyframes:
            if k >= index:
                return k
        self.loops += 1  # wrapped past the end of the file
        return self._keyframes[0]

    def next_item(self) -> tuple[EncodedItem, float]:
        """The next item and the time (on this track's clock) it is due; advances."""
        packets = self.stream.packets
        if self._skip_pending:
            self._skip_pending = False
            target = self._next_keyframe(self._index)
            if target != self._index:
                self.keyframe_skips += 1
            self._index = target
        packet = packets[self._index]
        timestamp = self._timestamp
        self._timestamp += packet.duration
        self._index += 1
        if self._index == len(packets):
            self._index = 0
            self.loops += 1
        if self._started_at is None:
            self._started_at = self._clock()
        due = self._started_at + timestamp / self.stream.clock_rate
        level = packet.level
        item = EncodedItem(
            self.stream.kind,
            packet.data,
            timestamp,
            packet.keyframe,
            level,
            level is not None and level <= VOICE_MAX_LEVEL,
        )
        return item, due

    def _dtx_drops(self, item: EncodedItem) -> bool:
        if len(item.data) <= DTX_MAX_BYTES:
            return True
        if item.level is None or item.level < DTX_SILENT_LEVEL:
            self._silent_run = 0
            return False
        self._silent_run += 1
        if self._silent_run <= DTX_HANGOVER:
            return False
        return (self._silent_run - DTX_HANGOVER) % DTX_INTERVAL != 0

    async def recv(self) -> EncodedItem:  # type: ignore[override]
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            item, due = self.next_item()
            wait = due - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -RESYNC_AFTER_S and self._started_at is not None:
                self._started_at -= wait  # fell far behind (a stalled loop): do not burst
            if self.dtx and item.kind == "audio" and self._dtx_drops(item):
                continue  # not sent; the time still passes
            self.sent += 1
            return item


# -- packetisation ------------------------------------------------------------------------


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
