"""What the soak benchmark (bench/soak.py) measures of a server process and how it judges it:
one sample (RSS and open file descriptors from /proc, asyncio tasks and the running sessions'
objects from /api/stats), the table of samples, and the verdict (flat while it runs, back to
the baseline after everyone has left)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from bench.harness import ServerProcess

# The columns of the table: (heading, key in Sample.values)
COLUMNS = [
    ("t s", "t"),
    ("people", "people"),
    ("RSS MB", "rss_mb"),
    ("fds", "fds"),
    ("tasks", "tasks"),
    ("PCs", "peer_connections"),
    ("open PCs", "peer_connections_open"),
    ("producers", "producers"),
    ("consumers", "consumers"),
    ("sockets", "sockets"),
    ("utterances", "utterances"),
]
# Counted in whole objects: back to the baseline means exactly back.
EXACT = ["fds", "tasks", "peer_connections", "peer_connections_open", "producers", "consumers"]


@dataclass
class Sample:
    values: dict[str, float]
    task_kinds: dict[str, int] = field(default_factory=dict)  # coroutine -> running tasks

    def __getitem__(self, key: str) -> float:
        return self.values.get(key, 0.0)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def sample(server: ServerProcess, t: float, people: int) -> Sample:
    stats: dict[str, Any] = server.api("/api/stats")
    values: dict[str, float] = {
        "t": round(t),
        "people": people,
        "rss_mb": round(rss_mb(server.pid), 1),
        "fds": len(os.listdir(f"/proc/{server.pid}/fd")),
        "tasks": stats["tasks"],
        "sessions": stats["sessions"],
    }
    values.update(stats["objects"])
    return Sample(values, stats["task_kinds"])


_WIDTHS = [max(len(h), 6) for h, _ in COLUMNS]


def header() -> str:
    names = " | ".join(h.rjust(w) for (h, _), w in zip(COLUMNS, _WIDTHS, strict=True))
    return f"| {names} |\n|" + "|".join("-" * (w + 1) + ":" for w in _WIDTHS) + "|"


def row(s: Sample) -> str:
    cells = [_cell(s[key]) for _, key in COLUMNS]
    return "| " + " | ".join(c.rjust(w) for c, w in zip(cells, _WIDTHS, strict=True)) + " |"


def table(samples: list[Sample], title: str) -> str:
    return "\n".join([title, header(), *(row(s) for s in samples)])


def _cell(value: float) -> str:
    return f"{value:.1f}" if value != int(value) else str(int(value))


def slope_per_min(samples: list[Sample], key: str) -> float:
    """Least-squares slope of `key` over time, per minute."""
    if len(samples) < 2:
        return 0.0
    ts = [s["t"] for s in samples]
    ys = [s[key] for s in samples]
    mean_t, mean_y = sum(ts) / len(ts), sum(ys) / len(ys)
    var = sum((t - mean_t) ** 2 for t in ts)
    if var == 0:
        return 0.0
    return 60 * sum((t - mean_t) * (y - mean_y) for t, y in zip(ts, ys, strict=True)) / var


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def judge(
    baseline: Sample,
    run: list[Sample],
    after: Sample,
    *,
    rss_slope_mb_min: float,
    rss_return_mb: float,
) -> Verdict:
    """Flat while it runs: RSS's slope over the last third of the run at most
    `rss_slope_mb_min`, and no count's peak in the last third above its peak before (with the
    same people, objects do not pile up). Back after: no count above the baseline, RSS
    within `rss_return_mb` of it."""
    verdict = Verdict()
    last = run[len(run) * 2 // 3 :]
    earlier = run[: len(run) * 2 // 3]
    slope = slope_per_min(last, "rss_mb")
    verdict.notes.append(f"RSS slope over the last third: {slope:+.2f} MB/min")
    if slope > rss_slope_mb_min:
        verdict.problems.append(f"RSS grows {slope:.2f} MB/min in the last third")
    for key in EXACT:
        before = max((s[key] for s in earlier), default=0.0)
        peak = max((s[key] for s in last), default=0.0)
        if peak > before * 1.1 + 2:
            verdict.problems.append(f"{key} peaks at {peak:g} in the last third, {before:g} before")
        if after[key] > baseline[key]:
            verdict.problems.append(f"{key} is {after[key]:g} after, {baseline[key]:g} at start")
    more = {
        kind: n - baseline.task_kinds.get(kind, 0)
        for kind, n in after.task_kinds.items()
        if n > baseline.task_kinds.get(kind, 0)
    }
    if more:
        verdict.notes.append(f"tasks more than at the baseline, by coroutine: {more}")
    grown = after["rss_mb"] - baseline["rss_mb"]
    verdict.notes.append(f"RSS after everyone left: {grown:+.1f} MB against the baseline")
    if grown > rss_return_mb:
        verdict.problems.append(f"RSS is {grown:.1f} MB above the baseline after everyone left")
    held = {k: v for k, v in after.values.items() if k in _SESSION_OBJECTS and v}
    if held:
        verdict.problems.append(f"the finished session left objects behind: {held}")
    return verdict


_SESSION_OBJECTS = {
    "sessions",
    "sockets",
    "remembered",
    "engagement_people",
    "utterances",
    "quality_people",
    "alerts",
    "locks",
    "background",
}
