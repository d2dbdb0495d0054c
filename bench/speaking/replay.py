"""Score a kept sweep's traced levels again with the detector as it is now, without running
anything: for tuning rooms/voice_activity.py on what real browsers sent.

    .venv/bin/python -m bench.speaking_accuracy --sweep --keep ...   # prints the kept folder
    .venv/bin/python -m bench.speaking.replay FOLDER [--mode chromium-raw]

Each cell's packets are fed, at their media times, to a fresh rooms.engagement.Engagement, and
its turns scored against the truth as the sweep scores the server's. The onset is estimated as
the media time of the packet that completed the attack plus half the server's 100 ms check, so
it leaves out transport and load: an estimate, not a measurement.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.speaking.sweep import HEADER, SEPARATOR, Cell, row
from bench.speaking.truth import SpeakerResult, match_onsets
from rooms.engagement import Engagement

CHECK_DELAY_S = 0.05  # the speaking check runs every 100 ms: on average 50 ms after the attack


def levels(trace: Path) -> dict[str, list[tuple[float, int, bool]]]:
    packets: dict[str, list[tuple[float, int, bool]]] = defaultdict(list)
    with trace.open() as lines:
        for line in lines:
            who, _arrival, at, dbov, bit = line.split()
            packets[who].append((float(at), int(dbov), bit == "1"))
    return packets


def score(record: dict[str, Any], packets: dict[str, list[tuple[float, int, bool]]]) -> Cell:
    cell = Cell(record["mode"], record.get("pitch", "middle"), record["kind"], record["floor"])
    for name, s in record["speakers"].items():
        pid, origin = s["pid"], s["origin"]
        mine = packets.get(pid, [])
        engine = Engagement()
        engine.join(pid, {"name": name, "role": "participant"}, mine[0][0] - 1 if mine else 0.0)
        onsets: list[float] = []
        for at, dbov, bit in mine:
            before = pid in engine.speaking_now()
            engine.level(pid, dbov, at, bit)
            if not before and pid in engine.speaking_now():
                onsets.append(at + CHECK_DELAY_S)
        end = mine[-1][0] + 2.0 if mine else 0.0
        engine.tick(end)
        turns = [tuple(t) for t in s["turns"]]
        measured = engine.utterances(pid)
        latencies, missed = match_onsets(turns, origin, onsets)
        cell.results.append(
            SpeakerResult(
                name,
                round(sum(b - a for a, b in turns), 3),
                round(sum(u.duration for u in measured), 3),
                len(turns),
                len(measured),
                latencies,
                missed,
                0,
                noisy=engine.people[pid].voice.activity.noisy,
            )
        )
    return cell


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--mode", default=None)
    args = parser.parse_args()
    traces: dict[str, dict[str, list[tuple[float, int, bool]]]] = {}
    print(HEADER)
    print(SEPARATOR)
    cells = []
    for line in (args.folder / "cells.jsonl").read_text().splitlines():
        record = json.loads(line)
        if args.mode and record["mode"] != args.mode:
            continue
        if record["mode"] not in traces:
            traces[record["mode"]] = levels(args.folder / f"{record['mode']}.levels")
        cells.append(score(record, traces[record["mode"]]))
        print(row(cells[-1]), flush=True)
    print(f"{sum(c.ok for c in cells)} of {len(cells)} cells PASS (replayed, onsets estimated)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
