"""Test clips for bots: a VP8 + Opus WebM made once with PyAV's lavfi sources (moving test
pattern with a frame counter and camera-like noise; speech-like bursts, or speech exactly
where a script says), so a bot never encodes while it runs."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.filter
from av.video.frame import PictureType

from server.bot.encoded import AUDIO_CLOCK

# Speech-like audio: 1.5 s bursts of a voiced-like tone (150 Hz fundamental, two harmonics,
# ~4 Hz syllable modulation) then 1 s of silence; about -20 dBov RMS inside a burst.
SPEECH_EXPR = (
    "0.19*lt(mod(t,2.5),1.5)*(0.6+0.4*sin(2*PI*4*t))"
    "*(sin(2*PI*150*t)+0.5*sin(2*PI*300*t)+0.25*sin(2*PI*450*t))"
)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "circle"


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


def audio_source_frames(source: str, args: str, rate: int = AUDIO_CLOCK) -> list[Any]:
    """The frames of one lavfi audio source (`aevalsrc`, `anoisesrc`, ...) as mono s16 at
    `rate`: the one filter graph behind the bots' clips and the benchmarks' noise."""
    graph = av.filter.Graph()
    src = graph.add(source, args)
    fmt = graph.add("aformat", f"sample_fmts=s16:channel_layouts=mono:sample_rates={rate}")
    sink = graph.add("abuffersink")
    src.link_to(fmt)
    fmt.link_to(sink)
    graph.configure()
    return _pull_all(sink)


def _audio_frames(seconds: float, expr: str = SPEECH_EXPR) -> list[Any]:
    return audio_source_frames("aevalsrc", f"exprs='{expr}':s={AUDIO_CLOCK}:d={seconds}:n=960")


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
