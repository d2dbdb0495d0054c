"""The benchmark's output: the script's speakers, the per-speaker results, the machine."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path

from bench.speaking.truth import Conversation, SpeakerResult


def latency_cell(r: SpeakerResult) -> str:
    if not r.latencies_s:
        return f"- ({r.missed_onsets} missed)"
    mean = 1000 * sum(r.latencies_s) / len(r.latencies_s)
    text = f"{mean:.0f} / {1000 * max(r.latencies_s):.0f}"
    return text + (f" ({r.missed_onsets} missed)" if r.missed_onsets else "")


def table(results: list[SpeakerResult]) -> str:
    lines = [
        "| speaker | truth s | measured s | error s | error % | truth turns | measured turns "
        "| onset latency mean / max ms | result |",
        "|" + "---|" * 9,
    ]
    for r in results:
        failed = [
            what
            for what, ok in (("time", r.time_ok), ("turns", r.turns_ok), ("onset", r.onset_ok))
            if not ok
        ]
        lines.append(
            f"| {r.name} | {r.truth_s:.2f} | {r.measured_s:.2f} | {r.error_s:+.2f} | "
            f"{r.error_pct:+.1f} | {r.truth_turns} | {r.measured_turns} | {latency_cell(r)} | "
            f"{'PASS' if not failed else 'FAIL (' + ', '.join(failed) + ')'} |"
        )
    return "\n".join(lines)


def describe(conversation: Conversation) -> str:
    rows = [
        "| speaker | voice | speech dBov | noise dBov | utterances | longest inner pause s "
        "| truth turns | truth s |",
        "|" + "---|" * 8,
    ]
    for t in conversation.tracks.values():
        rows.append(
            f"| {t.speaker.name} | {t.speaker.voice} -p {t.speaker.pitch} | {t.speech_dbov:.1f} | "
            f"{t.noise_dbov:.1f} | {len(t.utterances)} | "
            f"{max(u.longest_inner_pause_s for u in t.utterances):.2f} | {len(t.turns)} | "
            f"{t.truth_s:.2f} |"
        )
    return "\n".join(rows)


def machine() -> str:
    model = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cores = os.cpu_count()
    return f"{platform.machine()}, {cores} cores ({model}), Python {platform.python_version()}"


def cpu_counters() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat (0, 0 where there is none)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields) - idle, sum(fields)
    return 0, 0
