"""Pre-encoded test media for bots: generate a clip once, read its packets once, replay them.

A bot never encodes while it runs. `generate_clip` (clip.py) makes a VP8 + Opus WebM with
PyAV's lavfi sources. `EncodedMedia.load` demuxes a file once into memory (encoded.py; its
audio is decoded once, only to know each Opus packet's RFC 6464 level). `EncodedTrack`
(pacing.py) replays the packets in real time, looping forever with continuing timestamps;
`Vp8Packer` / `OpusPacker` (packers.py) turn its items into RTP payloads for aiortc's
pre-encoded sender path, so aiortc never creates an encoder.

Every name of those modules that callers use is importable from here as well.
"""

from __future__ import annotations

from pathlib import Path

from server.bot.clip import (
    SPEECH_EXPR,
    default_cache_dir,
    default_clip,
    generate_clip,
    scripted_speech_expr,
)
from server.bot.encoded import (
    AUDIO_CLOCK,
    VIDEO_CLOCK,
    EncodedPacket,
    EncodedStream,
    Kind,
    level_of_samples,
    load_stream,
    opus_samples,
    vp8_is_keyframe,
)
from server.bot.pacing import (
    DTX_HANGOVER,
    DTX_INTERVAL,
    DTX_MAX_BYTES,
    DTX_SILENT_LEVEL,
    KEYFRAME_SKIP_INTERVAL_S,
    RESYNC_AFTER_S,
    VOICE_MAX_LEVEL,
    EncodedItem,
    EncodedTrack,
)
from server.bot.packers import (
    MAX_PAYLOAD,
    PICTURE_ID_MOD,
    VP8_DESCRIPTOR_SIZE,
    OpusPacker,
    Vp8Packer,
    vp8_payloads,
)

__all__ = [
    "AUDIO_CLOCK",
    "DTX_HANGOVER",
    "DTX_INTERVAL",
    "DTX_MAX_BYTES",
    "DTX_SILENT_LEVEL",
    "KEYFRAME_SKIP_INTERVAL_S",
    "MAX_PAYLOAD",
    "PICTURE_ID_MOD",
    "RESYNC_AFTER_S",
    "SPEECH_EXPR",
    "VIDEO_CLOCK",
    "VOICE_MAX_LEVEL",
    "VP8_DESCRIPTOR_SIZE",
    "EncodedItem",
    "EncodedMedia",
    "EncodedPacket",
    "EncodedStream",
    "EncodedTrack",
    "Kind",
    "OpusPacker",
    "Vp8Packer",
    "default_cache_dir",
    "default_clip",
    "generate_clip",
    "level_of_samples",
    "opus_samples",
    "scripted_speech_expr",
    "vp8_is_keyframe",
    "vp8_payloads",
]


class EncodedMedia:
    """The packets of one or two files, read once; any number of tracks replay them."""

    def __init__(self, audio: EncodedStream | None, video: EncodedStream | None) -> None:
        self.audio = audio
        self.video = video

    @classmethod
    def load(cls, audio_path: str | Path | None, video_path: str | Path | None) -> EncodedMedia:
        audio = load_stream(Path(audio_path), "audio") if audio_path else None
        video = load_stream(Path(video_path), "video") if video_path else None
        if audio_path and audio is None:
            raise ValueError(f"{audio_path} has no audio stream")
        if video_path and video is None:
            raise ValueError(f"{video_path} has no video stream")
        return cls(audio, video)

    def stream(self, kind: Kind) -> EncodedStream | None:
        return self.audio if kind == "audio" else self.video

    def tracks(self) -> list[EncodedTrack]:
        return [EncodedTrack(s) for s in (self.audio, self.video) if s is not None]
