"""RFC 6464 level traces computed the way a browser computes them (RMS of each 20 ms frame in
dBov, rounded, clipped to 0..127) from synthesized signals: white, pink or hum noise, and
speech-like bursts (a harmonic tone with syllable-rate amplitude modulation). Stdlib only.

A trace is made once per (speech script, noise kind) at unit levels, as per-frame sums
(speech², speech·noise, noise²), so scaling speech and noise to any dBov is exact and cheap.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

RATE = 8000  # Hz: enough for levels (a browser's 48 kHz frames are steadier, not noisier)
FRAME = RATE // 50  # 20 ms
FRAME_S = 0.02

Sentence = tuple[float, float]  # start, end in seconds
Lift = tuple[float, float]  # dB, over seconds


@dataclass(frozen=True)
class Frames:
    """Per 20 ms frame: sums of speech², speech·noise and noise² at unit RMS."""

    ss: list[float]
    sn: list[float]
    nn: list[float]

    def levels(self, speech_dbov: float, noise_dbov: float, lift: Lift = (0.0, 0.0)) -> list[int]:
        """Speech scaled to `speech_dbov` (its active level), noise to `noise_dbov`, the noise
        lifted by `lift` (dB over seconds from the start, as auto gain does in silence)."""
        a = 10 ** (speech_dbov / 20)
        out = []
        for i, (ss, sn, nn) in enumerate(zip(self.ss, self.sn, self.nn, strict=True)):
            lifted = lift[0] * min(1.0, i * FRAME_S / lift[1]) if lift[1] else 0.0
            b = 10 ** ((noise_dbov + lifted) / 20)
            power = (a * a * ss + 2 * a * b * sn + b * b * nn) / FRAME
            level = 127 if power <= 0 else round(-10 * math.log10(power))
            out.append(max(0, min(127, level)))
        return out


HUM_HZ = {"hum": 60.0, "hum50": 50.0}  # mains: the Americas' 60 Hz, Europe's 50 Hz


def noise(kind: str, n: int, rng: random.Random) -> list[float]:
    """Unit-RMS noise: "white", "pink" (Kellet's filter) or a mains hum with harmonics ("hum"
    at 60 Hz, "hum50"), high-passed at 20 Hz as a microphone is."""
    if kind == "white":
        samples = [rng.gauss(0.0, 1.0) for _ in range(n)]
    elif kind == "pink":
        b0 = b1 = b2 = 0.0
        samples = []
        for _ in range(n):
            w = rng.gauss(0.0, 1.0)
            b0 = 0.99765 * b0 + w * 0.0990460
            b1 = 0.96300 * b1 + w * 0.2965164
            b2 = 0.57000 * b2 + w * 1.0526913
            samples.append(b0 + b1 + b2 + w * 0.1848)
    else:
        hum_hz = HUM_HZ[kind]
        phases = [rng.uniform(0, 2 * math.pi) for _ in range(5)]
        samples = [
            sum(
                math.sin(2 * math.pi * hum_hz * k * i / RATE + phases[k - 1]) / k
                for k in range(1, 6)
            )
            + 0.05 * rng.gauss(0.0, 1.0)
            for i in range(n)
        ]
    # what a microphone passes: nothing much under 20 Hz (one-pole high-pass)
    a, previous, y = 1 / (1 + 2 * math.pi * 20 / RATE), 0.0, 0.0
    for i, x in enumerate(samples):
        previous, y = x, a * (y + x - previous)
        samples[i] = y
    rms = math.sqrt(sum(s * s for s in samples) / n)
    return [s / rms for s in samples]


def speech(
    sentences: list[Sentence], n: int, rng: random.Random, pitch_hz: float | None = None
) -> list[float]:
    """Unit active-level speech-like sound over each sentence: a harmonic tone (`pitch_hz`, or
    a pitch of its own at 110-220 Hz) whose loudness rises and falls syllable by syllable (3-6
    Hz, each syllable ±4 dB)."""
    out = [0.0] * n
    pitch = rng.uniform(110, 220) if pitch_hz is None else pitch_hz
    for start, end in sentences:
        rate = rng.uniform(3.0, 6.0)
        t = start
        while t < end - 1e-9:
            length = min(1 / rate, end - t)
            gain = 10 ** (rng.uniform(-4, 4) / 20)
            first, last = round(t * RATE), min(n, round((t + length) * RATE))
            for i in range(first, last):
                x = (i - first) / max(1, last - first)
                envelope = gain * math.sin(math.pi * x) ** 0.5
                phase = 2 * math.pi * pitch * i / RATE
                out[i] = envelope * sum(math.sin(k * phase) / k for k in range(1, 4))
            t += length
    active = [s for s in out if s != 0.0]
    rms = math.sqrt(sum(s * s for s in active) / len(active)) if active else 1.0
    return [s / rms for s in out]


def frames(
    sentences: list[Sentence], seconds: float, kind: str, seed: int, pitch_hz: float | None = None
) -> Frames:
    rng = random.Random(seed)
    n = round(seconds * RATE)
    s, z = speech(sentences, n, rng, pitch_hz), noise(kind, n, rng)
    ss, sn, nn = [], [], []
    for f in range(0, n - FRAME + 1, FRAME):
        ss.append(sum(x * x for x in s[f : f + FRAME]))
        sn.append(sum(x * y for x, y in zip(s[f : f + FRAME], z[f : f + FRAME], strict=True)))
        nn.append(sum(y * y for y in z[f : f + FRAME]))
    return Frames(ss, sn, nn)
