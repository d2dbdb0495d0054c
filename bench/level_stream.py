"""A speech-like conversation as the RFC 6464 levels the server hears, packet by packet.

People take turns (sentences with pauses, syllables at 3-6 Hz, now and then an overlap or a
short backchannel); each has their own microphone noise floor and speech level, some a faint
voice over loud noise. Silence is sent as the noise's level, or (Opus DTX with a noise
suppressor) as one level-127 packet every 400 ms. Deterministic for a seed; stdlib only.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

PACKET_S = 0.02
DTX_EVERY_S = 0.4  # in DTX silence a browser still sends one packet this often


@dataclass(frozen=True)
class Packet:
    pid: str
    level: int  # 0 loudest .. 127 silence
    voice_bit: bool
    at: float  # seconds


@dataclass(frozen=True)
class Microphone:
    noise_dbov: float
    speech_dbov: float
    dtx: bool  # silence is DTX (127 every 400 ms), not the noise's level


def microphone(rng: random.Random) -> Microphone:
    noise = rng.uniform(-80.0, -42.0)
    # most voices stand 20-45 dB over their noise; a faint one barely 10-15 dB
    over = rng.uniform(10.0, 15.0) if rng.random() < 0.25 else rng.uniform(20.0, 45.0)
    return Microphone(noise, min(-12.0, noise + over), dtx=rng.random() < 0.4)


def speech_spans(
    people: int, seconds: float, rng: random.Random
) -> list[list[tuple[float, float]]]:
    """Per person, the (start, end) of each sentence: turns taken in random order, now and
    then overlapping the last, and short backchannels ("mm", "yes") from listeners."""
    spans: list[list[tuple[float, float]]] = [[] for _ in range(people)]
    t = rng.uniform(0.5, 3.0)
    while t < seconds:
        who = rng.randrange(people)
        end_of_turn = t + rng.uniform(1.5, 12.0)
        while t < min(end_of_turn, seconds):
            sentence_end = min(t + rng.uniform(0.6, 3.5), seconds)
            spans[who].append((t, sentence_end))
            t = sentence_end + rng.uniform(0.15, 0.9)  # a pause inside the turn
        if rng.random() < 0.3:  # a listener says "mm"
            listener = rng.randrange(people)
            start = t + rng.uniform(-2.0, 0.0)
            spans[listener].append((start, start + rng.uniform(0.15, 0.4)))
        t += rng.uniform(-0.6, 1.5)  # the next turn: an overlap or a gap
    return [sorted(s) for s in spans]


def everyone_talking(
    people: int, seconds: float, rng: random.Random
) -> list[list[tuple[float, float]]]:
    """Per person, sentences back to back with short pauses, all at once (as the forwarding
    benchmark's bots, each playing its clip's speech without end)."""
    spans: list[list[tuple[float, float]]] = []
    for _ in range(people):
        own: list[tuple[float, float]] = []
        t = rng.uniform(0.0, 1.0)
        while t < seconds:
            end = min(t + rng.uniform(0.6, 3.5), seconds)
            own.append((t, end))
            t = end + rng.uniform(0.15, 0.9)
        spans.append(own)
    return spans


def _speech_gain(spans: list[tuple[float, float]], rng: random.Random) -> dict[int, float]:
    """Per packet index inside a sentence: the speech's amplitude (unit = its active level),
    rising and falling syllable by syllable (3-6 Hz, each syllable ±4 dB)."""
    gains: dict[int, float] = {}
    for start, end in spans:
        t = start
        while t < end:
            length = min(1 / rng.uniform(3.0, 6.0), end - t)
            peak = 10 ** (rng.uniform(-4.0, 4.0) / 20)
            first, last = math.ceil(t / PACKET_S), math.floor((t + length) / PACKET_S)
            for i in range(first, last + 1):
                x = (i * PACKET_S - t) / length
                gains[i] = max(gains.get(i, 0.0), peak * math.sin(math.pi * min(1.0, x)) ** 0.5)
            t += length
    return gains


def person_packets(
    pid: str, mic: Microphone, spans: list[tuple[float, float]], seconds: float, seed: int
) -> list[Packet]:
    rng = random.Random(seed)
    gains = _speech_gain(spans, rng)
    offset = rng.uniform(0.0, PACKET_S)  # each sender's own packet clock
    speech_power = 10 ** (mic.speech_dbov / 10)
    out: list[Packet] = []
    last_sent = -math.inf
    for i in range(round(seconds / PACKET_S)):
        at = offset + i * PACKET_S + rng.uniform(0.0, 0.003)  # arrival jitter, still in order
        gain = gains.get(i, 0.0)
        noise_power = 10 ** ((mic.noise_dbov + rng.gauss(0.0, 1.2)) / 10)
        if gain == 0.0 and mic.dtx:
            if at - last_sent < DTX_EVERY_S:
                continue
            level = 127
        else:
            power = speech_power * gain * gain + noise_power
            level = max(0, min(127, round(-10 * math.log10(power))))
        last_sent = at
        out.append(Packet(pid, level, gain > 0.0 or rng.random() < 0.9, at))
    return out


def conversation(people: int, seconds: float, seed: int, overlapping: bool = False) -> list[Packet]:
    """Every person's packets, in arrival order: turns taken, or everyone talking at once."""
    rng = random.Random(seed)
    spans = (everyone_talking if overlapping else speech_spans)(people, seconds, rng)
    packets: list[Packet] = []
    for n in range(people):
        mic = microphone(rng)
        packets += person_packets(f"p{n}", mic, spans[n], seconds, seed * 1000 + n)
    packets.sort(key=lambda p: p.at)
    return packets
