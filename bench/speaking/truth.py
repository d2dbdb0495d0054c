"""The truth, and the server's measurement scored against it.

The script's audio is placed on each speaker's own timeline, so what was said is known: where
each track is voiced (spans less than 500 ms apart merged, as the engine counts such pauses as
speaking), giving truth speaking seconds, turns and each turn's onset. Each speaker's measured
speaking time, turns and indicator onsets are then matched against those.
"""

from __future__ import annotations

import math
import random
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.speaking.script import (
    FRAME,
    FRAME_S,
    JOIN_PAUSE_S,
    MERGE_GAP_S,
    RATE,
    SCRIPT,
    SPEAKERS,
    Line,
    Speaker,
    frame_db,
    noise_floor,
    sentence_audio,
    voiced_frames,
)

if TYPE_CHECKING:
    from bench.speaking.drivers import Facilitator

# Targets
TIME_TOLERANCE_PCT = 5.0
TIME_TOLERANCE_S = 0.3
ONSET_LIMIT_S = 0.3
SILENT_MAX_S = 0.5  # a member who never speaks: at most this, no turn, no alert

TAIL_S = 4.0  # noise floor after the last words (bots: before the clip loops)


@dataclass
class Utterance:
    speaker: str
    text: str
    start_s: float  # on the timeline (seconds from the track's start), first voiced frame
    end_s: float  # end of the last voiced frame
    samples: array[int] = field(repr=False)
    voiced: list[bool] = field(repr=False)  # per 10 ms frame from start_s
    longest_inner_pause_s: float = 0.0


@dataclass
class Track:
    speaker: Speaker
    pcm: array[int] = field(repr=False)
    utterances: list[Utterance]
    turns: list[tuple[float, float]]  # truth: voiced spans, merged across < 500 ms pauses
    speech_dbov: float  # measured on the voiced frames after scaling
    noise_dbov: float  # measured on the noise floor alone

    @property
    def truth_s(self) -> float:
        return sum(end - start for start, end in self.turns)


@dataclass
class Conversation:
    lead_in_s: float
    length_s: float  # of every track
    script_end_s: float  # end of the last truth span
    tracks: dict[str, Track]

    def overlaps(self) -> int:
        """Lines that start while another speaker's utterance is still running."""
        all_utts = sorted(
            (u for t in self.tracks.values() for u in t.utterances), key=lambda u: u.start_s
        )
        return sum(
            1
            for i, u in enumerate(all_utts)
            if any(v.speaker != u.speaker and v.end_s > u.start_s for v in all_utts[:i])
        )


def spans_of(frames: list[tuple[float, bool]], merge_gap_s: float) -> list[tuple[float, float]]:
    """Runs of voiced 10 ms frames (start times given), merged across pauses < merge_gap_s."""
    spans: list[list[float]] = []
    for start, voiced in frames:
        if not voiced:
            continue
        end = start + FRAME_S
        if spans and start - spans[-1][1] < merge_gap_s - 1e-9:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return [(round(a, 3), round(b, 3)) for a, b in spans]


def build_conversation(
    workdir: Path,
    seed: int,
    lead_in_s: float,
    *,
    script: Sequence[Line] = SCRIPT,
    cast: Sequence[Speaker] = SPEAKERS,
    noise: tuple[str, float] | None = None,
    join_pause_s: tuple[float, float] = JOIN_PAUSE_S,
) -> Conversation:
    """Synthesize, place and mix the script; compute the truth from the placed audio.
    `noise` (kind, dBov) replaces every speaker's own white-noise floor; a speaker with no
    line in the script never speaks (their track is the noise alone)."""
    rng = random.Random(seed)
    speakers = {s.name: s for s in cast}
    placed: dict[str, list[Utterance]] = {s.name: [] for s in cast}
    cursor = lead_in_s
    for index, line in enumerate(script):
        speaker = speakers[line.speaker]
        pieces = [
            sentence_audio(speaker, text, workdir, index * 10 + k)
            for k, text in enumerate(line.sentences)
        ]
        samples: array[int] = array("h")
        for k, piece in enumerate(pieces):
            if k:
                pause = round(rng.uniform(*join_pause_s), 2)
                samples.extend([0] * round(pause * RATE))
            samples.extend(piece)
        lo, hi = line.gap_s
        start = cursor if index == 0 else cursor + round(rng.uniform(lo, hi), 2)
        voiced = voiced_frames(samples)
        utterance = Utterance(
            line.speaker,
            " ".join(line.sentences),
            round(start, 3),
            round(start + len(samples) / RATE, 3),
            samples,
            voiced,
            longest_inner_pause_s=_longest_pause(voiced),
        )
        placed[line.speaker].append(utterance)
        cursor = max(cursor, utterance.end_s)
    script_end = cursor
    length = script_end + TAIL_S
    tracks: dict[str, Track] = {}
    for number, speaker in enumerate(cast):
        utterances = placed[speaker.name]
        voiced_energy, voiced_count = 0, 0
        for u in utterances:
            for i, v in enumerate(u.voiced):
                if v:
                    voiced_energy += sum(s * s for s in u.samples[i * FRAME : (i + 1) * FRAME])
                    voiced_count += FRAME
        level = (
            10 * math.log10(voiced_energy / voiced_count / 32767**2)
            if voiced_count
            else speaker.speech_dbov  # never speaks
        )
        gain = 10 ** ((speaker.speech_dbov - level) / 20)
        kind, noise_dbov = noise or ("white", speaker.noise_dbov)
        pcm = noise_floor(length, noise_dbov, seed * 100 + number + 1, kind)
        noise_db = frame_db(pcm)
        for u in utterances:
            offset = round(u.start_s * RATE)
            for i, s in enumerate(u.samples):
                pcm[offset + i] = max(-32768, min(32767, pcm[offset + i] + round(s * gain)))
        frames = [(u.start_s + i * FRAME_S, v) for u in utterances for i, v in enumerate(u.voiced)]
        frames.sort()
        turns = spans_of(frames, MERGE_GAP_S)
        tracks[speaker.name] = Track(
            speaker,
            pcm,
            utterances,
            turns,
            level + 20 * math.log10(gain),
            noise_db,
        )
    end = max(t.turns[-1][1] for t in tracks.values() if t.turns)
    return Conversation(lead_in_s, length, end, tracks)


def _longest_pause(voiced: list[bool]) -> float:
    longest = run = 0
    seen = False
    for v in voiced:
        if v:
            if seen:
                longest = max(longest, run)
            seen, run = True, 0
        else:
            run += 1
    return longest * FRAME_S


@dataclass
class SpeakerResult:
    name: str
    truth_s: float
    measured_s: float
    truth_turns: int
    measured_turns: int
    latencies_s: list[float]  # per matched truth turn
    missed_onsets: int  # truth turns with no `speaking` onset near them
    interruptions: int  # measured (informational)
    alerted: bool = False  # in an engagement alert (dominating, silent) during the run
    noisy: bool = False  # reported as a noisy microphone at the end (informational)

    @property
    def silent(self) -> bool:
        """Never says a word: scored as at most SILENT_MAX_S, no turn, never alerted on."""
        return self.truth_turns == 0

    @property
    def error_s(self) -> float:
        return self.measured_s - self.truth_s

    @property
    def error_pct(self) -> float:
        return 100 * self.error_s / self.truth_s if self.truth_s else 0.0

    @property
    def time_ok(self) -> bool:
        if self.silent:
            return self.measured_s <= SILENT_MAX_S
        return abs(self.error_s) <= max(TIME_TOLERANCE_PCT / 100 * self.truth_s, TIME_TOLERANCE_S)

    @property
    def turns_ok(self) -> bool:
        return self.measured_turns == self.truth_turns

    @property
    def onset_ok(self) -> bool:
        if self.silent:
            return not self.alerted  # (no onset to time)
        return (
            not self.missed_onsets
            and bool(self.latencies_s)
            and max(self.latencies_s) <= ONSET_LIMIT_S
        )

    @property
    def ok(self) -> bool:
        return self.time_ok and self.turns_ok and self.onset_ok


@dataclass
class RunResult:
    mode: str
    results: list[SpeakerResult]
    notes: list[str] = field(default_factory=list)
    truth_interruptions: int = 0
    pids: dict[str, str] = field(default_factory=dict)  # speaker -> participant id
    origins: dict[str, float] = field(default_factory=dict)  # speaker -> monotonic track start


def match_onsets(
    turns: list[tuple[float, float]], origin: float, onsets: list[float]
) -> tuple[list[float], int]:
    """Each truth turn's indicator latency: the first unused onset from 0.3 s before the turn's
    first voiced audio was sent to 0.5 s after the turn ended. Returns (latencies, missed)."""
    latencies: list[float] = []
    missed = 0
    used: set[int] = set()
    for start, end in turns:
        sent = origin + start
        found = next(
            (
                i
                for i, at in enumerate(onsets)
                if i not in used and sent - 0.3 <= at <= origin + end + 0.5
            ),
            None,
        )
        if found is None:
            missed += 1
            continue
        used.add(found)
        latencies.append(onsets[found] - sent)
    return latencies, missed


def truth_interruptions(conversation: Conversation, origins: dict[str, float]) -> int:
    """The engine's definition on the truth turns, on the shared clock: a turn that starts
    while another speaker's runs, where that one stops within 2 s and before this one."""
    turns = sorted(
        (origins[name] + a, origins[name] + b, name)
        for name, track in conversation.tracks.items()
        for a, b in track.turns
    )
    count = 0
    for i, (start, end, name) in enumerate(turns):
        for other_start, other_end, other in turns[:i]:
            if (
                other != name
                and other_start < start < other_end
                and other_end - start <= 2.0
                and end > other_end
            ):
                count += 1
    return count


def collect(
    conversation: Conversation,
    report: dict[str, Any],
    facilitator: Facilitator,
    pids: dict[str, str],
    origins: dict[str, float],
    alerted: set[str] | frozenset[str] = frozenset(),
) -> list[SpeakerResult]:
    """Per speaker: the report's speaking time and turns, the indicator's onsets, and whether
    they were ever in an alert (`alerted`: participant ids, from the summary's alert log)."""
    results = []
    for name, track in conversation.tracks.items():
        got = report["participants"].get(pids[name], {})
        latencies, missed = match_onsets(track.turns, origins[name], facilitator.onsets(pids[name]))
        results.append(
            SpeakerResult(
                name,
                round(track.truth_s, 3),
                float(got.get("speaking_s") or 0.0),
                len(track.turns),
                int(got.get("turns") or 0),
                latencies,
                missed,
                int(got.get("interruptions") or 0),
                alerted=pids[name] in alerted,
                noisy=bool(got.get("noisy_microphone")),
            )
        )
    return results
