"""The noise sweep: the speaking benchmark over microphone noise floors and kinds, per mode.

    .venv/bin/python -m bench.speaking_accuracy --sweep [--modes bots,chromium,chromium-raw,loaded]
        [--pitches low,middle,high] [--kinds white,pink,hum,hum60] [--floors=-70,-60,-55,-50,-45]

Each cell is one session on one server per mode: three speakers (-20, -30 and a quiet -40 dBov;
two-sentence utterances with sentence breaks of 0.2-0.45 s inside them, and backchannels of
0.3-0.8 s, "Yeah.", "Uh huh.", "Mhm." and "Yes.") and one member who never speaks, all four on
the same kind and level of microphone noise (white, pink, mains hum at 50 Hz, "hum", or 60 Hz)
and with voices of one pitch: low (a deep male voice, its fundamental about 80 Hz, among the
hum's harmonics), middle (the cast's own, about 100-210 Hz) or high (about 280 Hz). Modes: bots
(no processing), headless Chromium with its default processing, Chromium with auto gain and
noise suppression turned off by the page's constraints (an init script of the bench), and bots
with the server's core kept busy by a CPU-bound process pinned to it. Targets per speaker and
cell: speaking time within 5 % or 0.3 s (the larger), turns exact, onset within 300 ms; the
silent member at most 0.5 s, no turn, never in an alert.

The server is bench/speaking/traced_server.py: it writes the levels it hears (never audio) to
the run's temporary directory, so the voice bit can be compared with the truth packet by packet
(bench/speaking/voice_bit.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import time
import traceback
from array import array
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.harness import PYTHON, ServerProcess, pinned, start_server, stop_process
from bench.speaking.drivers import BOT_LEAD_IN_S, CHROMIUM_LEAD_IN_S, run_bots, run_chromium
from bench.speaking.noise import KINDS
from bench.speaking.report import cpu_counters
from bench.speaking.script import Line, Speaker
from bench.speaking.truth import Conversation, RunResult, SpeakerResult, build_conversation
from bench.speaking.voice_bit import VoiceBitTally, tally, voiced_packets

CAST = (
    Speaker("Ana", "en+f2", 55, -20.0, -70.0),
    Speaker("Ben", "en+m3", 40, -30.0, -70.0),
    Speaker("Cleo", "en+f4", 65, -40.0, -70.0),  # the quiet one
    Speaker("Sam", "en+m1", 50, -30.0, -70.0),  # never speaks
)
SCRIPT = (
    Line("Ana", ("I had a rough week.", "Work was hard, but I kept going."), (0.0, 0.0)),
    Line("Ben", ("Yeah.",), (0.6, 0.9)),
    Line("Cleo", ("I'm still not sleeping much.", "My thoughts keep racing at night."), (0.6, 0.9)),
    Line("Ana", ("Uh huh.",), (0.6, 0.9)),
    Line("Ben", ("Writing things down helps me.", "Then my head feels quieter."), (0.6, 0.9)),
    Line("Cleo", ("Yeah.",), (0.7, 1.0)),
    Line("Ana", ("Does it work every night?", "Even on the bad ones?"), (0.6, 0.9)),
    Line("Ben", ("Yes.",), (0.6, 0.9)),
    Line("Ana", ("Mhm.",), (0.6, 0.9)),
)
PAUSE_S = (0.2, 0.45)  # sentence breaks inside an utterance
# A cell's voice pitch: every speaker's espeak-ng voice and pitch (fundamental measured on
# espeak-ng 1.51), or None: the cast's own.
PITCHES: dict[str, tuple[str, int] | None] = {
    "low": ("en+m3", 0),  # about 80 Hz: a deep male voice, among mains hum's harmonics
    "middle": None,  # about 100 Hz (Ben, Sam) and 210 Hz (Ana, Cleo)
    "high": ("en+f4", 90),  # about 280 Hz
}
FLOORS = (-70.0, -60.0, -55.0, -50.0, -45.0)
MODES = ("bots", "chromium", "chromium-raw", "loaded")
RAW = {"autoGainControl": False, "noiseSuppression": False}
SERVER_CORE = 0  # "loaded": the server and the CPU-bound process share this core
CELL_LIMIT_S = 120.0


@dataclass
class Cell:
    mode: str
    pitch: str
    kind: str
    floor_dbov: float
    results: list[SpeakerResult] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # the driver's (joins, clock checks)

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.results) and all(r.ok for r in self.results)


def speaker_cell(r: SpeakerResult) -> str:
    if r.silent:
        return f"{r.measured_s:.2f} s, {r.measured_turns} turns" + (", ALERT" if r.alerted else "")
    onset = f"{1000 * max(r.latencies_s):.0f} ms" if r.latencies_s else "no onset"
    if r.missed_onsets and r.latencies_s:
        onset += f" ({r.missed_onsets} missed)"
    marks = [what for what, ok in (("time", r.time_ok), ("turns", r.turns_ok)) if not ok]
    marks += [] if r.onset_ok else ["onset"]
    text = f"{r.error_s:+.2f} s ({r.error_pct:+.0f} %), {r.measured_turns}/{r.truth_turns}, {onset}"
    return text + (f" **{'/'.join(marks)}**" if marks else "") + (" noisy" if r.noisy else "")


HEADER = (
    "| mode | pitch | noise | floor dBFS | "
    + " | ".join(
        f"{s.name} ({s.speech_dbov:.0f} dBov)" if s.name != "Sam" else "Sam (never speaks)"
        for s in CAST
    )
    + " | result |"
)


def row(cell: Cell) -> str:
    cells = [speaker_cell(r) for r in cell.results] or [cell.error or "?"] * len(CAST)
    result = "PASS" if cell.ok else "FAIL"
    where = f"{cell.mode} | {cell.pitch} | {cell.kind} | {cell.floor_dbov:.0f}"
    return f"| {where} | {' | '.join(cells)} | {result} |"


SEPARATOR = "|" + "---|" * (len(CAST) + 5)


def cast_at(pitch: str) -> tuple[Speaker, ...]:
    """The cast, speaking at `pitch` (PITCHES)."""
    voice = PITCHES[pitch]
    if voice is None:
        return CAST
    return tuple(replace(s, voice=voice[0], pitch=voice[1]) for s in CAST)


def cell_conversation(
    workdir: Path,
    seed: int,
    lead_in_s: float,
    kind: str,
    floor_dbov: float,
    pitch: str = "middle",
) -> Conversation:
    """The sweep's conversation at `pitch`, everyone on `kind` noise at `floor_dbov`."""
    return build_conversation(
        workdir,
        seed,
        lead_in_s,
        script=SCRIPT,
        cast=cast_at(pitch),
        noise=(kind, floor_dbov),
        join_pause_s=PAUSE_S,
    )


def cell_record(cell: Cell, conversation: Conversation, result: RunResult) -> dict[str, Any]:
    """What bench/speaking/replay.py needs to score a cell's traced levels again."""
    return {
        "mode": cell.mode,
        "pitch": cell.pitch,
        "kind": cell.kind,
        "floor": cell.floor_dbov,
        "speakers": {
            name: {
                "pid": result.pids.get(name),
                "origin": result.origins.get(name),
                "turns": track.turns,
                "voiced": sorted(voiced_packets(track)),
            }
            for name, track in conversation.tracks.items()
        },
    }


async def run_cell(
    mode: str, conversation: Conversation, server: ServerProcess, workdir: Path
) -> RunResult:
    if mode in ("bots", "loaded"):
        return await run_bots(conversation, server, workdir)
    return await run_chromium(
        conversation, server, workdir, RAW if mode == "chromium-raw" else None
    )


async def run_mode(
    mode: str, grid: list[tuple[str, str, float]], workdir: Path, seed: int
) -> tuple[list[Cell], VoiceBitTally, str]:
    """Every cell of one mode on one server; the cells, the voice-bit tally and a load note."""
    lead_in = BOT_LEAD_IN_S if mode in ("bots", "loaded") else CHROMIUM_LEAD_IN_S
    trace = workdir / f"{mode}.levels"
    load = os.getloadavg()[0]
    busy0, total0 = cpu_counters()
    started = time.monotonic()
    server = await asyncio.to_thread(
        start_server,
        workdir / f"data-{mode}",
        workdir / f"{mode}.log",
        module="bench.speaking.traced_server",
        extra_args=["--trace", str(trace)],
        core=SERVER_CORE if mode == "loaded" else None,
    )
    burner: subprocess.Popen[bytes] | None = None
    if mode == "loaded":
        command = pinned(SERVER_CORE, [PYTHON, "-c", "while True: pass"])
        burner = await asyncio.to_thread(subprocess.Popen, command)
    cells: list[Cell] = []
    played: list[tuple[Conversation, RunResult]] = []
    try:
        for pitch, kind, floor in grid:
            cell = Cell(mode, pitch, kind, floor)
            celldir = workdir / f"{mode}-{pitch}-{kind}-{-floor:.0f}"
            celldir.mkdir()
            conversation = await asyncio.to_thread(
                cell_conversation, celldir, seed, lead_in, kind, floor, pitch
            )
            try:
                async with asyncio.timeout(CELL_LIMIT_S):
                    result = await run_cell(mode, conversation, server, celldir)
                cell.results = result.results
                cell.notes = result.notes
                played.append((conversation, result))
                with (workdir / "cells.jsonl").open("a") as log:
                    log.write(json.dumps(cell_record(cell, conversation, result)) + "\n")
            except Exception as exc:  # one broken cell is a failed cell, not a lost sweep
                cell.error = f"{type(exc).__name__}: {exc}"[:200]
                traceback.print_exc()
            for track in conversation.tracks.values():
                track.pcm = array("h")  # the audio is not needed any more
            cells.append(cell)
            print(row(cell), flush=True)
    finally:
        if burner is not None:
            stop_process(burner)
        await asyncio.to_thread(server.stop)
    busy1, total1 = cpu_counters()
    note = (
        f"{mode}: {len(cells)} cells in {time.monotonic() - started:.0f} s; machine CPU busy "
        f"{100 * (busy1 - busy0) / max(1, total1 - total0):.0f} % of {os.cpu_count()} cores "
        f"(all processes), load average {load:.2f} before"
    )
    return cells, tally(trace, played), note


async def sweep(args: argparse.Namespace, workdir: Path) -> int:
    modes = [m for m in args.modes.split(",") if m]
    pitches = [p for p in args.pitches.split(",") if p]
    kinds = [k for k in args.kinds.split(",") if k]
    floors = [float(f) for f in args.floors.split(",") if f]
    for what, given, known in (("mode", modes, MODES), ("pitch", pitches, PITCHES)):
        for name in given:
            if name not in known:
                raise SystemExit(f"unknown {what} {name!r}: one of {', '.join(known)}")
    for k in kinds:
        if k not in KINDS:
            raise SystemExit(f"unknown noise kind {k!r}: one of {', '.join(KINDS)}")
    grid = [(p, k, f) for p in pitches for k in kinds for f in floors]
    print(HEADER)
    print(SEPARATOR, flush=True)
    every: list[Cell] = []
    notes: list[str] = []
    tallies: dict[str, VoiceBitTally] = {}
    for mode in modes:
        cells, counted, note = await run_mode(mode, grid, workdir, args.seed)
        every.extend(cells)
        notes.append(note)
        tallies[mode] = counted
    print()
    for note in notes:
        print(f"- {note}")
    print()
    print("Voice bit (V) and the detector against the truth, per 20 ms packet:")
    for mode, counted in tallies.items():
        print(counted.table(mode))
    failed = [c for c in every if not c.ok]
    print()
    print(f"{len(every) - len(failed)} of {len(every)} cells PASS")
    for cell in failed:
        print(f"- FAIL {cell.mode} {cell.pitch} {cell.kind} {cell.floor_dbov:.0f} dBFS")
        for note in cell.notes:
            print(f"  - {note}")
    return 0 if not failed else 1
