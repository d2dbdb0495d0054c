"""The scripted conversation: who speaks, what, at what level, and its audio.

Four speakers (espeak-ng voices), fourteen lines with short gaps, pauses under 500 ms inside a
line and two overlaps; each sentence synthesized with espeak-ng and resampled to 48 kHz mono s16,
a white-noise floor, and the files the drivers play (WAV for Chromium, Opus in WebM for bots).
"""

from __future__ import annotations

import math
import subprocess
import wave
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from bench.speaking.noise import noise

RATE = 48_000  # Hz, mono s16 everywhere
FRAME_S = 0.010  # energy frames for the truth
FRAME = int(RATE * FRAME_S)
OPUS_FRAME = 960  # 20 ms, as server/bot/media.py generate_clip encodes
VOICED_BELOW_PEAK_DB = 40.0  # a 10 ms frame within this of the sentence's loudest is voiced
MERGE_GAP_S = 0.5  # the engine's hangover: shorter pauses are still speaking
SPEECH_RATE_WPM = 160


@dataclass(frozen=True)
class Speaker:
    name: str
    voice: str  # espeak-ng voice+variant
    pitch: int  # espeak-ng -p, 0..99
    speech_dbov: float  # active speech level the speaker's utterances are scaled to
    noise_dbov: float  # the track's continuous noise floor


@dataclass(frozen=True)
class Line:
    speaker: str
    sentences: tuple[str, ...]  # joined by a pause under 500 ms
    gap_s: tuple[float, float]  # start after the previous line ends; negative: overlap


SPEAKERS = (
    Speaker("Ana", "en+f2", 55, -24.0, -67.0),
    Speaker("Ben", "en+m3", 40, -22.0, -66.0),
    Speaker("Cleo", "en+f4", 65, -40.0, -68.0),  # the quiet one
    Speaker("Dev", "en-us+m1", 35, -26.0, -70.0),
)
JOIN_PAUSE_S = (0.2, 0.35)
SCRIPT = (
    Line("Dev", ("Welcome back, everyone.", "Let's start with a quick check in."), (0.0, 0.0)),
    Line(
        "Ana",
        ("I had a rough week.", "Work was stressful, but I still went to my meetings."),
        (0.5, 0.8),
    ),
    Line("Ben", ("That sounds really hard, Ana.", "I'm glad you kept going."), (0.4, 0.7)),
    Line("Cleo", ("I'm okay, I guess.", "I'm still not sleeping much."), (0.7, 1.0)),
    Line("Dev", ("Thank you, Cleo.", "Can you tell us more about the nights?"), (0.5, 0.8)),
    Line(
        "Cleo",
        ("It's mostly racing thoughts.", "I keep replaying old conversations, over and over."),
        (0.6, 0.9),
    ),
    # Ana starts while Cleo is still talking, and takes over
    Line("Ana", ("Oh, I do that too, especially after an argument with my sister.",), (-1.2, -0.8)),
    Line(
        "Ben",
        ("What helps me is writing everything down before bed.", "Then my head feels quieter."),
        (0.5, 0.8),
    ),
    Line("Dev", ("That's a good idea, Ben.",), (0.6, 0.9)),
    Line("Ana", ("Does it really work for you?",), (0.4, 0.7)),
    Line(
        "Ben",
        ("Most nights it does.", "Some nights I still lie awake for hours, and that's okay."),
        (0.4, 0.6),
    ),
    # Dev starts while Ben is still talking, and takes over
    Line(
        "Dev",
        ("Let's pause there, and hear from everyone once more before we close.",),
        (-1.0, -0.7),
    ),
    Line("Cleo", ("Thank you.", "This group helped me tonight."), (0.8, 1.1)),
    Line("Ana", ("Same here.", "See you all next week."), (0.5, 0.8)),
)


def frame_db(samples: Sequence[int]) -> float:
    """RMS level of s16 samples in dBov (-200 for digital silence)."""
    energy = sum(s * s for s in samples)
    if energy == 0:
        return -200.0
    return 20 * math.log10(math.sqrt(energy / len(samples)) / 32767)


def synthesize(speaker: Speaker, text: str, path: Path) -> array[int]:
    """One sentence from espeak-ng, resampled to 48 kHz mono s16."""
    done = subprocess.run(
        [
            "espeak-ng",
            "-v",
            speaker.voice,
            "-p",
            str(speaker.pitch),
            "-s",
            str(SPEECH_RATE_WPM),
            "-w",
            str(path),
            text,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not path.exists():
        raise RuntimeError(f"espeak-ng failed for voice {speaker.voice}: {done.stderr.strip()}")
    with wave.open(str(path)) as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise RuntimeError(f"espeak-ng wrote an unexpected WAV format: {path}")
        rate, count, data = w.getframerate(), w.getnframes(), w.readframes(w.getnframes())
    frame = av.AudioFrame(format="s16", layout="mono", samples=count)
    frame.planes[0].update(data)
    frame.sample_rate = rate
    frame.pts = 0
    frame.time_base = Fraction(1, rate)
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    out: array[int] = array("h")
    for piece in [*resampler.resample(frame), *resampler.resample(None)]:
        out.frombytes(bytes(piece.planes[0])[: piece.samples * 2])
    return out


def voiced_frames(samples: array[int]) -> list[bool]:
    """Per 10 ms frame: within VOICED_BELOW_PEAK_DB of the loudest frame."""
    levels = [frame_db(samples[i : i + FRAME]) for i in range(0, len(samples) - FRAME + 1, FRAME)]
    peak = max(levels, default=-200.0)
    return [db > -200.0 and db >= peak - VOICED_BELOW_PEAK_DB for db in levels]


def noise_floor(seconds: float, dbov: float, seed: int, kind: str = "white") -> array[int]:
    """Microphone noise at `dbov` RMS (bench/speaking/noise.py)."""
    return noise(kind, seconds, dbov, seed)


def sentence_audio(speaker: Speaker, text: str, workdir: Path, index: int) -> array[int]:
    """A sentence trimmed to its voiced extent (espeak's leading/trailing silence removed)."""
    samples = synthesize(speaker, text, workdir / f"{speaker.name}-{index}.wav")
    voiced = voiced_frames(samples)
    first = voiced.index(True)
    last = len(voiced) - 1 - voiced[::-1].index(True)
    return samples[first * FRAME : (last + 1) * FRAME]


def write_wav(path: Path, pcm: array[int]) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    return path


def encode_opus_webm(path: Path, pcm: array[int]) -> Path:
    """Opus in WebM as server/bot/media.py generate_clip encodes it: libopus, 20 ms frames,
    voip, DTX, 32 kbps, 960-sample frames."""
    with av.open(str(path), "w", format="webm") as container:
        stream: Any = container.add_stream("libopus", rate=RATE, layout="mono")
        stream.bit_rate = 32_000
        stream.options = {"frame_duration": "20", "application": "voip", "dtx": "1"}
        whole = len(pcm) - len(pcm) % OPUS_FRAME
        for index, at in enumerate(range(0, whole, OPUS_FRAME)):
            frame = av.AudioFrame(format="s16", layout="mono", samples=OPUS_FRAME)
            frame.planes[0].update(pcm[at : at + OPUS_FRAME].tobytes())
            frame.sample_rate = RATE
            frame.pts = index * OPUS_FRAME
            frame.time_base = Fraction(1, RATE)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
