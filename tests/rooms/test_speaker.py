"""Active speaker from level traces, with times passed in."""

from __future__ import annotations

from rooms.speaker import ActiveSpeaker, SpeakerConfig


def speak(detector: ActiveSpeaker, pid: str, start: float, end: float, level: int) -> None:
    t = start
    while t < end:
        detector.add(pid, level, True, t)
        t += 0.02


def test_loud_speaker_is_found_and_silence_clears_after_hold() -> None:
    d = ActiveSpeaker(SpeakerConfig(clear_after_ms=1500, window_ms=1000))
    speak(d, "a", 0.0, 2.0, 30)
    d.add("b", 127, True, 1.0)  # silence level: not voice
    assert d.current(2.0) == "a"
    assert d.current(3.2) == "a"  # pause shorter than the hold keeps the highlight
    assert d.current(3.6) is None


def test_switch_needs_a_clearly_louder_speaker() -> None:
    d = ActiveSpeaker()
    speak(d, "a", 0.0, 2.0, 30)
    assert d.current(2.0) == "a"
    speak(d, "a", 2.0, 3.0, 30)
    speak(d, "b", 2.0, 3.0, 29)  # barely louder, overlapping
    assert d.current(3.0) == "a"
    speak(d, "b", 3.0, 4.5, 20)
    assert d.current(4.5) == "b"


def test_unvoiced_and_quiet_packets_do_not_count() -> None:
    d = ActiveSpeaker(SpeakerConfig(voice_level_max_dbov=50))
    speak(d, "a", 0.0, 1.0, 70)  # background noise
    d.add("b", 20, False, 0.5)  # V=0 under DTX
    assert d.current(1.0) is None


def test_removed_participant_stops_being_speaker() -> None:
    d = ActiveSpeaker()
    speak(d, "a", 0.0, 1.0, 30)
    assert d.current(1.0) == "a"
    d.remove("a")
    assert d.current(1.0) is None
