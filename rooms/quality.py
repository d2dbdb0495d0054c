"""Connection quality: a 0-100 score and a level (excellent, good, poor, lost) per participant
and direction, from periodic transport statistics. Pure: samples come in with their times.

Upstream (publisher -> server) is measured by the server's own receivers; downstream (server ->
subscriber) by the subscribers' RTCP receiver reports. The score is a simplified ITU-T G.107
E-model R factor; formula and thresholds: docs/quality.md.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Level(StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    POOR = "poor"
    LOST = "lost"


@dataclass(frozen=True)
class QualityConfig:
    excellent_min_score: float = 80.0  # R >= 80: MOS about 4 and better
    good_min_score: float = 60.0  # R >= 60: MOS about 3.1; below: poor
    lost_after_ms: int = 3000  # no media for this long: lost
    smoothing: float = 0.5  # weight of the newest interval in the loss/jitter averages
    hold_samples: int = 3  # a new level (other than lost) must hold this many samples
    codec_delay_ms: float = 20.0  # Opus frame and look-ahead, added to the path delay
    jitter_buffer_factor: float = 2.0  # a receiver's jitter buffer holds about 2x jitter
    loss_robustness_bpl: float = 10.0  # E-model Bpl for Opus with in-band FEC
    poor_alert_ms: int = 10_000  # alert leaders after this long poor
    loss_window_ms: int = 10_000  # the loss shown is measured over this much time


@dataclass(frozen=True)
class LinkSample:
    """One direction's transport counters at one moment. Counters are cumulative; streams of
    one direction are summed by the caller. Jitter is already in milliseconds (RTP clock units
    divided by the clock rate) and loss counted before retransmissions where possible."""

    at: float  # seconds
    packets_received: int
    packets_lost: int
    jitter_ms: float | None = None
    rtt_ms: float | None = None
    bytes: int | None = None
    frames: int | None = None
    last_packet_at: float | None = None  # when media last arrived (upstream)


def r_factor(loss_pct: float, one_way_ms: float, config: QualityConfig) -> float:
    """Simplified E-model: R = 93.2 - Id - Ie_eff, with Ie = 0 for Opus."""
    delay_impairment = 0.024 * one_way_ms
    if one_way_ms > 177.3:
        delay_impairment += 0.11 * (one_way_ms - 177.3)
    loss_impairment = 95.0 * loss_pct / (loss_pct + config.loss_robustness_bpl)
    return max(0.0, min(100.0, 93.2 - delay_impairment - loss_impairment))


@dataclass
class LinkQuality:
    """One participant's link in one direction."""

    config: QualityConfig = field(default_factory=QualityConfig)
    last: LinkSample | None = None
    window: deque[LinkSample] = field(default_factory=deque)  # for loss over loss_window_ms
    loss_pct: float | None = None  # over the last loss_window_ms: what is shown
    smoothed_loss_pct: float | None = None  # per interval, averaged: what is scored
    jitter_ms: float | None = None  # smoothed
    rtt_ms: float | None = None
    bitrate_kbps: float | None = None
    fps: float | None = None
    score: float | None = None
    level: Level | None = None
    candidate: Level | None = None
    candidate_count: int = 0
    level_since: float | None = None
    seconds_in: dict[str, float] = field(default_factory=dict)  # history: time at each level
    worst: list[tuple[float, float]] = field(default_factory=list)  # (score, at), lowest first
    changes: list[tuple[float, str]] = field(default_factory=list)  # (at, level): over time

    def add(self, sample: LinkSample) -> Level | None:
        """Take a sample; returns the level (None until there is something to judge)."""
        previous, self.last = self.last, sample
        if previous is not None and sample.at > previous.at:
            received = max(0, sample.packets_received - previous.packets_received)
            lost = max(0, sample.packets_lost - previous.packets_lost)
            if received + lost > 0:
                interval_loss = 100.0 * lost / (received + lost)
                self.smoothed_loss_pct = self._smooth(self.smoothed_loss_pct, interval_loss)
            span = sample.at - previous.at
            if sample.bytes is not None and previous.bytes is not None:
                self.bitrate_kbps = round(
                    8 * max(0, sample.bytes - previous.bytes) / span / 1000, 1
                )
            if sample.frames is not None and previous.frames is not None:
                self.fps = round(max(0, sample.frames - previous.frames) / span, 1)
        self._window_loss(sample)
        if sample.jitter_ms is not None:
            self.jitter_ms = self._smooth(self.jitter_ms, sample.jitter_ms)
        if sample.rtt_ms is not None:
            self.rtt_ms = sample.rtt_ms
        return self._judge(sample.at, sample)

    def _window_loss(self, sample: LinkSample) -> None:
        self.window.append(sample)
        while sample.at - self.window[0].at > self.config.loss_window_ms / 1000:
            self.window.popleft()
        first = self.window[0]
        received = max(0, sample.packets_received - first.packets_received)
        lost = max(0, sample.packets_lost - first.packets_lost)
        if received + lost > 0:
            self.loss_pct = 100.0 * lost / (received + lost)

    def _smooth(self, average: float | None, value: float) -> float:
        if average is None:
            return value
        return self.config.smoothing * value + (1 - self.config.smoothing) * average

    def _judge(self, now: float, sample: LinkSample) -> Level | None:
        config = self.config
        silent_for = None if sample.last_packet_at is None else now - sample.last_packet_at
        if silent_for is not None and silent_for * 1000 >= config.lost_after_ms:
            self.score = 0.0
            self._set_level(Level.LOST, now, at_once=True)
            return self.level
        if self.smoothed_loss_pct is None and self.jitter_ms is None:
            return self.level
        one_way = (self.rtt_ms or 0.0) / 2 + config.codec_delay_ms
        one_way += config.jitter_buffer_factor * (self.jitter_ms or 0.0)
        self.score = round(r_factor(self.smoothed_loss_pct or 0.0, one_way, config), 1)
        if self.score >= config.excellent_min_score:
            judged = Level.EXCELLENT
        elif self.score >= config.good_min_score:
            judged = Level.GOOD
        else:
            judged = Level.POOR
        self._set_level(judged, now, at_once=self.level in (None, Level.LOST))
        self.worst = sorted([*self.worst, (self.score, now)])[:3]
        return self.level

    def _set_level(self, judged: Level, now: float, *, at_once: bool) -> None:
        """Change level only once the new one has held `hold_samples` samples (no flapping);
        losing media, or the first judgement, changes it at once."""
        if judged == self.level:
            self.candidate, self.candidate_count = None, 0
            return
        if judged == self.candidate:
            self.candidate_count += 1
        else:
            self.candidate, self.candidate_count = judged, 1
        if at_once or self.candidate_count >= self.config.hold_samples:
            self._account(now)
            self.level, self.level_since = judged, now
            self.changes.append((now, judged.value))
            self.candidate, self.candidate_count = None, 0

    def _account(self, now: float) -> None:
        if self.level is not None and self.level_since is not None:
            key = self.level.value
            self.seconds_in[key] = self.seconds_in.get(key, 0.0) + now - self.level_since

    def stop(self, now: float) -> None:
        """The participant left: their time at the last level ends now; the history stays."""
        self._account(now)
        self.level, self.level_since = None, None

    def history(self, now: float) -> dict[str, float]:
        """Seconds spent at each level so far (for the session summary)."""
        totals = dict(self.seconds_in)
        if self.level is not None and self.level_since is not None:
            key = self.level.value
            totals[key] = totals.get(key, 0.0) + now - self.level_since
        return {k: round(v, 1) for k, v in totals.items()}

    def view(self, now: float) -> dict[str, Any]:
        return {
            "level": self.level.value if self.level else None,
            "score": self.score,
            "loss_pct": _round(self.loss_pct),
            "jitter_ms": _round(self.jitter_ms),
            "rtt_ms": _round(self.rtt_ms),
            "bitrate_kbps": self.bitrate_kbps,
            "fps": self.fps,
            "since": self.level_since,
            "seconds_in": self.history(now),
            "worst": [{"score": s, "at": at} for s, at in self.worst],
        }

    def poor_for(self, now: float) -> float:
        """How long it has been poor or lost (0 when not)."""
        if self.level in (Level.POOR, Level.LOST) and self.level_since is not None:
            return now - self.level_since
        return 0.0


@dataclass
class ParticipantQuality:
    up: LinkQuality = field(default_factory=LinkQuality)
    down: LinkQuality = field(default_factory=LinkQuality)
    client: dict[str, Any] = field(default_factory=dict)  # the browser's own report: display only
    left_at: float | None = None  # gone: kept for the summary, out of the live view and alerts


class QualityMonitor:
    """Every participant's link quality in a session."""

    def __init__(self, config: QualityConfig | None = None) -> None:
        self.config = config or QualityConfig()
        self.people: dict[str, ParticipantQuality] = {}

    def _person(self, pid: str) -> ParticipantQuality:
        person = self.people.get(pid)
        if person is None:
            person = ParticipantQuality(LinkQuality(self.config), LinkQuality(self.config))
            self.people[pid] = person
        return person

    def add(self, pid: str, up: LinkSample | None, down: LinkSample | None) -> None:
        person = self._person(pid)
        if up is not None:
            person.up.add(up)
        if down is not None:
            person.down.add(down)

    def client_report(self, pid: str, report: dict[str, Any]) -> None:
        self._person(pid).client = report

    def leave(self, pid: str, now: float) -> None:
        """They left: keep what was measured (the summary shows it), stop judging them."""
        person = self.people.get(pid)
        if person is not None and person.left_at is None:
            person.up.stop(now)
            person.down.stop(now)
            person.left_at = now

    def _present(self) -> dict[str, ParticipantQuality]:
        return {pid: p for pid, p in self.people.items() if p.left_at is None}

    def level(self, pid: str, direction: str) -> Level | None:
        person = self.people.get(pid)
        if person is None:
            return None
        return (person.up if direction == "up" else person.down).level

    def view(self, now: float) -> dict[str, Any]:
        return {
            pid: {"up": p.up.view(now), "down": p.down.view(now), "client": p.client}
            for pid, p in self._present().items()
        }

    def alerts(self, now: float) -> dict[tuple[str, str], dict[str, Any]]:
        """(kind, participant id) -> detail: poor for over `poor_alert_ms`, or lost."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for pid, person in self._present().items():
            for direction, link in (("up", person.up), ("down", person.down)):
                if link.level is Level.LOST:
                    found[("connection_lost", pid)] = {"direction": direction}
                elif link.poor_for(now) * 1000 >= self.config.poor_alert_ms:
                    found.setdefault(("connection_poor", pid), {"direction": direction})
        return found


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
