"""The RFC 6464 voice bit (V) and the server's detector, each against the truth, per packet.

The traced server (bench/speaking/traced_server.py) wrote every level it heard with its V bit
and media time. Each packet is placed on its speaker's timeline (media time minus the track's
start) and called speech when the synthesized audio is voiced there, non-speech when nothing
is voiced within EDGE_PACKETS of it (packets at a word's edge are left out: the sender's
capture delay blurs them). The detector (rooms/voice_activity.py) is replayed on the same
levels, so "V alone", "detector alone" and "detector and V" are compared on equal terms.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rooms.voice_activity import VoiceActivity

if TYPE_CHECKING:
    from bench.speaking.truth import Conversation, RunResult, Track

PACKET_S = 0.02
EDGE_PACKETS = 2


@dataclass
class Counts:
    speech: int = 0  # packets where the truth is voiced
    quiet: int = 0  # packets with nothing voiced near them
    v_speech: int = 0  # V set, on speech
    v_quiet: int = 0
    d_speech: int = 0  # the detector's "voice", on speech
    d_quiet: int = 0
    both_speech: int = 0  # detector and V
    both_quiet: int = 0
    silent_member: int = 0  # packets of the member who never speaks
    silent_v: int = 0


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


@dataclass
class VoiceBitTally:
    by_floor: dict[float, Counts] = field(default_factory=lambda: defaultdict(Counts))

    def table(self, mode: str) -> str:
        lines = [
            f"\n{mode}: share of packets called voice (speech: should be high; non-speech and "
            "the silent member: should be low)",
            "| floor dBFS | speech packets | V | detector | detector and V | non-speech packets "
            "| V | detector | detector and V | silent member: V |",
            "|" + "---|" * 10,
        ]
        for floor in sorted(self.by_floor):
            c = self.by_floor[floor]
            lines.append(
                f"| {floor:.0f} | {c.speech} | {_pct(c.v_speech, c.speech)} | "
                f"{_pct(c.d_speech, c.speech)} | {_pct(c.both_speech, c.speech)} | {c.quiet} | "
                f"{_pct(c.v_quiet, c.quiet)} | {_pct(c.d_quiet, c.quiet)} | "
                f"{_pct(c.both_quiet, c.quiet)} | {_pct(c.silent_v, c.silent_member)} |"
            )
        return "\n".join(lines)


def voiced_packets(track: Track) -> set[int]:
    """Indices of the 20 ms packets (from the track's start) holding any voiced 10 ms frame."""
    out: set[int] = set()
    for u in track.utterances:
        for i, voiced in enumerate(u.voiced):
            if voiced:
                out.add(int((u.start_s + i * 0.01) / PACKET_S))
    return out


def tally(trace: Path, played: list[tuple[Conversation, RunResult]]) -> VoiceBitTally:
    counted = VoiceBitTally()
    if not trace.exists():
        return counted
    packets: dict[str, list[tuple[float, int, bool]]] = defaultdict(list)
    with trace.open() as lines:
        for line in lines:
            who, _arrival, at, dbov, bit = line.split()
            packets[who].append((float(at), int(dbov), bit == "1"))
    for conversation, result in played:
        floor = next(iter(conversation.tracks.values())).noise_dbov
        counts = counted.by_floor[round(floor)]
        for name, track in conversation.tracks.items():
            pid, origin = result.pids.get(name), result.origins.get(name)
            if pid is None or origin is None:
                continue
            voiced = voiced_packets(track)
            detector = VoiceActivity()
            for media, level, v in packets.get(pid, []):
                decided = detector.hear(level, v, media)
                index = round((media - origin) / PACKET_S)
                if index < 0 or media - origin > conversation.length_s:
                    continue
                if not track.utterances:
                    counts.silent_member += 1
                    counts.silent_v += v
                if index in voiced:
                    counts.speech += 1
                    counts.v_speech += v
                    counts.d_speech += decided
                    counts.both_speech += decided and v
                elif not any(index + k in voiced for k in range(-EDGE_PACKETS, EDGE_PACKETS + 1)):
                    counts.quiet += 1
                    counts.v_quiet += v
                    counts.d_quiet += decided
                    counts.both_quiet += decided and v
    return counted
