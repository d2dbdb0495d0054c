"""Per-audio-packet cost of the speaking path: what the server runs on every packet's level.

    .venv/bin/python -m bench.audio_levels [--people 8] [--seconds 180] [--seed 1]
    .venv/bin/python -m bench.audio_levels --compare main [--repeat 3] [--everyone-talking]

A speech-like conversation (bench/level_stream.py: turns taken, or with --everyone-talking all
at once, as in the forwarding benchmark's rooms) is fed packet by packet, in arrival order, as
server/live/registry.py feeds it: `ActiveSpeaker.add` and `Engagement.level`, with the workers'
`Engagement.tick` every 100 ms and `ActiveSpeaker.current` every 200 ms of stream time between
packets (those are not timed). Each row times its own fresh run over the whole stream and
prints CPU microseconds per packet (this process's CPU time: time taken by other work on a
shared machine counts less than in wall time); `VoiceActivity.hear` is also fed alone.

`--compare REF` runs this checkout and REF's `rooms/` (from `git archive`, in a temp dir) each
in its own process, alternating, `--repeat` times, and prints both and how many times faster
this checkout is (the ratio of the medians).
CPU only, one core, bounded by the stream's length.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.level_stream import Packet, conversation
from rooms.engagement import Engagement
from rooms.speaker import ActiveSpeaker
from rooms.voice_activity import VoiceActivity

ROOT = Path(__file__).resolve().parent.parent
TICK_S = 0.1  # server/live/workers.py: ENGAGEMENT_SPEAKING_S (SPEAKER_INTERVAL_S is twice it)

Feed = Callable[[Packet], None]


def chunks(packets: list[Packet]) -> list[list[Packet]]:
    """The packets between two engagement ticks."""
    out: list[list[Packet]] = [[]]
    boundary = TICK_S
    for packet in packets:
        while packet.at >= boundary:
            out.append([])
            boundary += TICK_S
        out[-1].append(packet)
    return out


def timed(ticks: list[list[Packet]], feed: Feed, between: Callable[[int], None]) -> float:
    """CPU seconds spent in `feed` over every packet; `between(n)` runs untimed after tick n."""
    spent = 0.0
    for n, tick in enumerate(ticks):
        started = time.process_time()
        for packet in tick:
            feed(packet)
        spent += time.process_time() - started
        between(n)
    return spent


def engagement_for(packets: list[Packet]) -> Engagement:
    engagement = Engagement()
    for pid in sorted({p.pid for p in packets}):
        engagement.join(pid, {"name": pid, "role": "participant"}, 0.0)
    return engagement


def measure(packets: list[Packet]) -> dict[str, float]:
    """Microseconds per packet, by what runs on it."""
    ticks = chunks(packets)
    out: dict[str, float] = {}

    def run(name: str, feed: Feed, between: Callable[[int], None]) -> None:
        out[name] = timed(ticks, feed, between) / len(packets) * 1e6

    def nothing(n: int) -> None:
        pass

    run("loop alone (no call)", lambda p: None, nothing)

    speaker = ActiveSpeaker()

    def speaker_worker(n: int) -> None:
        if n % 2 == 1:
            speaker.current((n + 1) * TICK_S)

    run(
        "ActiveSpeaker.add",
        lambda p: speaker.add(p.pid, p.level, p.voice_bit, p.at),
        speaker_worker,
    )

    engagement = engagement_for(packets)
    run(
        "Engagement.level",
        lambda p: engagement.level(p.pid, p.level, p.at, p.voice_bit),
        lambda n: engagement.tick((n + 1) * TICK_S),
    )

    detectors: dict[str, VoiceActivity] = {p.pid: VoiceActivity() for p in packets}

    def hear(p: Packet) -> None:
        detectors[p.pid].hear(p.level, p.voice_bit, p.at)

    run("VoiceActivity.hear", hear, nothing)

    both_speaker, both_engagement = ActiveSpeaker(), engagement_for(packets)

    def both(p: Packet) -> None:
        both_speaker.add(p.pid, p.level, p.voice_bit, p.at)
        both_engagement.level(p.pid, p.level, p.at, p.voice_bit)

    def workers(n: int) -> None:
        both_engagement.tick((n + 1) * TICK_S)
        if n % 2 == 1:
            both_speaker.current((n + 1) * TICK_S)

    run("add + level (as the server)", both, workers)
    return out


def table(columns: dict[str, list[dict[str, float]]]) -> str:
    """Rows by what runs; a column per run, then each label's median (and the ratio of two)."""
    labels = list(columns)
    rows = list(next(iter(columns.values()))[0])
    header = [f"{label} run {i + 1}" for label in labels for i in range(len(columns[label]))]
    header += [f"{label} median" for label in labels]
    if len(labels) == 2:
        header.append(f"{labels[1]} / {labels[0]}")
    lines = ["| us per packet | " + " | ".join(header) + " |", "|---" * (len(header) + 1) + "|"]
    for row in rows:
        cells = [f"{run[row]:.2f}" for label in labels for run in columns[label]]
        medians = [statistics.median(run[row] for run in columns[label]) for label in labels]
        cells += [f"{m:.2f}" for m in medians]
        if len(labels) == 2:
            cells.append(f"{medians[1] / medians[0]:.2f}" if medians[0] else "-")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_in_process(rooms_from: Path | None, args: argparse.Namespace) -> dict[str, float]:
    """One measurement in a fresh interpreter, `rooms` imported from `rooms_from` if given."""
    path = [str(ROOT)] if rooms_from is None else [str(rooms_from), str(ROOT)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    command = [sys.executable, "-m", "bench.audio_levels", "--json"]
    command += ["--people", str(args.people), "--seconds", str(args.seconds)]
    command += ["--seed", str(args.seed)] + (
        ["--everyone-talking"] if args.everyone_talking else []
    )
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True, cwd="/")
    result: dict[str, float] = json.loads(done.stdout)
    return result


def compare(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.compare, "rooms"],
            check=True,
            capture_output=True,
        )
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        columns: dict[str, list[dict[str, float]]] = {"this": [], args.compare: []}
        for _ in range(args.repeat):
            columns["this"].append(run_in_process(None, args))
            columns[args.compare].append(run_in_process(Path(tmp), args))
    print(table(columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--everyone-talking", action="store_true", help="all at once, not taking turns"
    )
    parser.add_argument("--compare", metavar="REF", help="a git ref whose rooms/ to run too")
    parser.add_argument("--json", action="store_true", help="one run, as JSON (for --compare)")
    args = parser.parse_args()
    if args.compare:
        compare(args)
        return
    packets = conversation(args.people, args.seconds, args.seed, args.everyone_talking)
    if args.json:
        print(json.dumps(measure(packets)))
        return
    print(f"{len(packets)} packets, {args.people} people, {args.seconds:.0f} s, seed {args.seed}")
    print(table({"this": [measure(packets) for _ in range(args.repeat)]}))


if __name__ == "__main__":
    main()
