"""The connection-quality scorer, with recorded-style sample sequences and a fake clock."""

from __future__ import annotations

import pytest

from rooms.quality import LinkQuality, LinkSample, QualityConfig, QualityMonitor, r_factor

CONFIG = QualityConfig()


def samples(
    start: float,
    count: int,
    loss_pct: float,
    *,
    every_s: float = 2.0,
    rate: int = 50,
    jitter_ms: float = 5.0,
    rtt_ms: float = 40.0,
    received: int = 0,
    lost: int = 0,
) -> list[LinkSample]:
    """Cumulative counters of a stream at `rate` packets/s losing `loss_pct`."""
    out = []
    for i in range(count):
        per = rate * every_s
        lost += round(per * loss_pct / 100)
        received += round(per * (1 - loss_pct / 100))
        at = start + i * every_s
        out.append(LinkSample(at, received, lost, jitter_ms, rtt_ms, None, None, at))
    return out


def feed(link: LinkQuality, seq: list[LinkSample]) -> list[str | None]:
    return [(lvl.value if (lvl := link.add(s)) else None) for s in seq]


def test_r_factor_anchors() -> None:
    assert r_factor(0.0, 40.0, CONFIG) == pytest.approx(92.2, abs=0.1)
    assert r_factor(5.0, 60.0, CONFIG) == pytest.approx(60.0, abs=1.0)
    assert r_factor(15.0, 60.0, CONFIG) < 40
    assert r_factor(0.0, 400.0, CONFIG) < 60  # long delay alone makes it poor
    assert r_factor(100.0, 0.0, CONFIG) >= 0.0


def test_clean_then_lossy_then_recovered_without_flapping() -> None:
    link = LinkQuality(CONFIG)
    clean = samples(0.0, 5, 0.0)
    assert feed(link, clean)[-1] == "excellent"
    last = clean[-1]
    lossy = samples(10.0, 5, 8.0, received=last.packets_received, lost=last.packets_lost)
    levels = feed(link, lossy)
    assert levels[:2] == ["excellent", "excellent"]  # held for hold_samples = 3 first
    assert "poor" in levels and levels[-1] == "poor"
    assert link.loss_pct == pytest.approx(8.0, abs=0.5)
    last = lossy[-1]
    better = samples(20.0, 6, 0.0, received=last.packets_received, lost=last.packets_lost)
    assert feed(link, better)[-1] == "excellent"
    history = link.history(32.0)
    assert {"excellent", "poor"} <= set(history) and history["poor"] > 0


def test_a_single_spike_does_not_change_the_level() -> None:
    link = LinkQuality(CONFIG)
    seq = samples(0.0, 4, 0.0)
    feed(link, seq)
    spike = samples(8.0, 1, 20.0, received=seq[-1].packets_received, lost=seq[-1].packets_lost)
    calm = samples(10.0, 3, 0.0, received=spike[-1].packets_received, lost=spike[-1].packets_lost)
    assert set(feed(link, spike + calm)) == {"excellent"}


def test_no_media_for_three_seconds_is_lost_at_once_and_recovers() -> None:
    link = LinkQuality(CONFIG)
    seq = samples(0.0, 3, 0.0)
    feed(link, seq)
    frozen = seq[-1]
    stalled = LinkSample(
        frozen.at + 3.5,
        frozen.packets_received,
        frozen.packets_lost,
        5.0,
        40.0,
        None,
        None,
        frozen.at,
    )
    assert link.add(stalled) is not None and link.level is not None
    assert link.level.value == "lost" and link.score == 0.0
    back = samples(12.0, 2, 0.0, received=frozen.packets_received, lost=frozen.packets_lost)
    assert feed(link, back)[-1] == "excellent"  # from lost, the first good judgement counts


def test_duplicates_and_counter_quirks_never_go_negative() -> None:
    link = LinkQuality(CONFIG)
    link.add(LinkSample(0.0, 100, 5, 5.0, 40.0, 1000, 10, 0.0))
    link.add(LinkSample(2.0, 210, 2, 5.0, 40.0, 26_000, 50, 2.0))  # lost went down (duplicates)
    assert link.loss_pct == 0.0
    assert link.bitrate_kbps == pytest.approx(100.0) and link.fps == pytest.approx(20.0)


def test_monitor_alerts_after_ten_seconds_poor_or_when_lost() -> None:
    monitor = QualityMonitor(CONFIG)
    for s in samples(0.0, 3, 0.0):
        monitor.add("a", s, None)
    for s in samples(6.0, 12, 15.0, received=300, lost=0):
        monitor.add("a", s, None)
        monitor.add("b", None, s)
    alerts = monitor.alerts(28.0)
    assert ("connection_poor", "a") in alerts and alerts[("connection_poor", "b")] == {
        "direction": "down"
    }
    assert monitor.alerts(9.0) == {}  # poor, but not for 10 s yet
    monitor.add("c", LinkSample(0.0, 10, 0, None, None, None, None, 0.0), None)
    monitor.add("c", LinkSample(4.0, 10, 0, None, None, None, None, 0.0), None)
    assert ("connection_lost", "c") in monitor.alerts(4.0)
    view = monitor.view(28.0)
    assert view["a"]["up"]["level"] == "poor" and view["a"]["down"]["level"] is None


def test_someone_who_left_keeps_their_history_for_the_summary() -> None:
    """A bot or a member who leaves before the end still has measurements in the summary
    (they were forgotten on leaving, so the summary said "no connection measurements")."""
    monitor = QualityMonitor(CONFIG)
    for s in samples(0.0, 5, 0.0):
        monitor.add("a", s, s)
    monitor.leave("a", 10.0)
    history = monitor.people["a"].up.history(100.0)
    assert history == {"excellent": pytest.approx(10.0, abs=0.1)}  # not counting after leaving
    assert monitor.people["a"].down.changes  # the timeline stays
    assert "a" not in monitor.view(100.0) and monitor.alerts(100.0) == {}
    assert monitor.level("a", "up") is None
