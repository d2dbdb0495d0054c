"""The engagement engine, trace-driven with a fake clock: voice activity (attack, hangover,
DTX gaps, mute), turns, overlaps and interruptions, who follows whom, silences, shares and the
balance index, participation, opt-out, and alerts."""

from __future__ import annotations

import pytest

from rooms import controls
from rooms.engagement import Engagement, EngagementConfig
from rooms.model import Participant, ParticipantUpdated, Role, RoomChanged, Session
from rooms.talk import balance_index

LOUD, QUIET_SPEECH, NOISE = 25, 45, 70  # RFC 6464 levels (-dBov)
SYLLABLE_DB = (0, 8, 4, 8)  # speech moves from packet to packet; only a fan holds one level


def person(pid: str, role: str = "participant") -> dict[str, object]:
    return {"id": pid, "name": pid.title(), "role": role, "audio": True, "video": True}


def engine(*pids: str, at: float = 0.0, **config: int) -> Engagement:
    e = Engagement(EngagementConfig(**config))
    for pid in pids:
        e.join(pid, person(pid), at)
    return e


def speak(e: Engagement, pid: str, start: float, end: float, level: int = LOUD) -> None:
    """20 ms packets at `level` (and up to 8 dB under it) from start to end; nothing outside
    (DTX)."""
    at, i = start, 0
    while at < end - 1e-9:
        e.level(pid, level + SYLLABLE_DB[i % len(SYLLABLE_DB)], round(at, 3))
        at, i = at + 0.02, i + 1


def metrics(e: Engagement, now: float) -> dict[str, dict[str, object]]:
    e.tick(now)
    result: dict[str, dict[str, object]] = e.metrics(now)["participants"]
    return result


def test_pauses_under_the_hangover_are_speech_longer_ones_end_the_turn() -> None:
    e = engine("a")
    speak(e, "a", 1.0, 3.0)
    speak(e, "a", 3.3, 5.0)  # 300 ms pause: the same turn
    speak(e, "a", 5.8, 7.0)  # 800 ms pause: a new turn
    m = metrics(e, 10.0)["a"]
    assert m["turns"] == 2
    assert m["speaking_s"] == pytest.approx(4.0 + 1.2, abs=0.03)
    assert m["longest_turn_s"] == pytest.approx(4.0, abs=0.03)
    assert m["mean_turn_s"] == pytest.approx(2.6, abs=0.03)


def test_attack_ignores_clicks_and_min_turn_ignores_coughs() -> None:
    e = engine("a")
    speak(e, "a", 1.0, 1.04)  # two packets: below the 60 ms attack
    assert e.speaking_now() == set()
    speak(e, "a", 2.0, 2.12)  # a 120 ms cough: speech starts, but too short to be a turn
    assert e.speaking_now() == {"a"}
    m = metrics(e, 5.0)["a"]
    assert (m["turns"], m["speaking_s"]) == (0, 0.0)


def test_noise_and_quiet_speech() -> None:
    e = engine("a", "b")
    speak(e, "a", 0.0, 10.0, NOISE)  # a noise floor never counts
    speak(e, "b", 0.0, 4.0, QUIET_SPEECH)  # a quiet speaker does
    m = metrics(e, 10.0)
    assert m["a"]["speaking_s"] == 0.0 and m["a"]["turns"] == 0
    assert m["b"]["speaking_s"] == pytest.approx(4.0, abs=0.03)


def test_speech_ends_by_itself_under_dtx() -> None:
    e = engine("a")
    speak(e, "a", 0.0, 2.0)
    e.tick(2.4)
    assert e.speaking_now() == {"a"}  # within the hangover
    e.tick(2.51)
    assert e.speaking_now() == set()
    assert metrics(e, 3.0)["a"]["speaking_s"] == pytest.approx(2.0, abs=0.03)


def test_muted_time_never_counts() -> None:
    e = engine("a")
    speak(e, "a", 0.0, 1.5)
    muted = Participant("a", "A", Role.PARTICIPANT, joined_at=0.0, audio_on=False)
    e.observe(ParticipantUpdated(muted), 1.5)
    speak(e, "a", 1.5, 3.0)  # levels still arriving (a page that misbehaves)
    m = metrics(e, 4.0)["a"]
    assert m["speaking_s"] == pytest.approx(1.5, abs=0.03)
    assert m["muted_s"] == pytest.approx(2.5, abs=0.01)


def test_leaving_mid_utterance_ends_it() -> None:
    e = engine("a")
    speak(e, "a", 0.0, 3.0)
    e.leave("a", 2.0)
    m = metrics(e, 5.0)["a"]
    assert m["turns"] == 1 and m["speaking_s"] == pytest.approx(2.0, abs=0.03)
    assert m["present"] is False and m["left_at"] == 2.0 and m["present_s"] == 2.0


def test_overlap_interruption_and_backchannel() -> None:
    e = engine("a", "b")
    speak(e, "a", 0.0, 5.0)
    speak(e, "b", 4.0, 8.0)  # b starts while a speaks; a stops 1 s later: b took the floor
    speak(e, "a", 10.0, 20.0)
    speak(e, "b", 12.0, 12.5)  # a short "mm-hm": overlap, not an interruption
    m = metrics(e, 25.0)
    assert (m["b"]["interruptions"], m["a"]["interrupted"]) == (1, 1)
    assert (m["a"]["interruptions"], m["b"]["interrupted"]) == (0, 0)
    assert m["a"]["overlap_s"] == pytest.approx(1.5, abs=0.05)
    assert m["b"]["overlap_s"] == pytest.approx(1.5, abs=0.05)
    assert m["a"]["overlaps"] == 2 and m["b"]["overlaps"] == 2


def test_speech_in_different_rooms_never_overlaps() -> None:
    e = engine("a", "b")
    e.observe(RoomChanged("b", "b1", ()), 0.0)
    speak(e, "a", 0.0, 5.0)
    speak(e, "b", 1.0, 6.0)
    m = metrics(e, 10.0)
    assert m["a"]["overlap_s"] == 0.0 and m["b"]["interruptions"] == 0
    rooms = e.metrics(10.0)["rooms"]
    assert rooms["main"]["turns"] == 1 and rooms["b1"]["turns"] == 1


def test_who_follows_whom() -> None:
    e = engine("a", "b", "c")
    for pid, start in (("a", 0), ("b", 3), ("a", 6), ("c", 9), ("c", 12), ("b", 15)):
        speak(e, pid, start, start + 2)
    follows = e.metrics(20.0)["session"]["follows"]
    assert follows == {"a": {"b": 1, "c": 1}, "b": {"a": 1}, "c": {"b": 1}}


def test_silences_while_present() -> None:
    e = engine("a", at=0.0)
    speak(e, "a", 60.0, 70.0)
    m = metrics(e, 1000.0)["a"]
    assert m["current_silence_s"] == pytest.approx(930.0, abs=0.05)
    assert m["longest_silence_s"] == pytest.approx(930.0, abs=0.05)
    e.leave("a", 1000.0)
    e.join("a", person("a"), 5000.0)  # away time is not silence
    m = metrics(e, 5100.0)["a"]
    assert m["current_silence_s"] == pytest.approx(100.0)
    assert m["longest_silence_s"] == pytest.approx(930.0, abs=0.05)


def test_shares_recent_window_and_balance() -> None:
    e = engine("a", "b", recent_window_ms=300_000)
    speak(e, "a", 0.0, 300.0)  # early: a talks a lot
    speak(e, "b", 700.0, 760.0)  # recently: only b
    m = e.metrics(800.0)
    a, b = m["participants"]["a"], m["participants"]["b"]
    assert a["share_pct"] == pytest.approx(83.3, abs=0.2)
    assert (a["recent_share_pct"], b["recent_share_pct"]) == (0.0, 100.0)
    assert m["session"]["balance_index"] == pytest.approx(0.650, abs=0.01)
    assert m["session"]["recent_balance_index"] == 0.0
    assert balance_index([5.0, 5.0, 5.0]) == 1.0
    assert balance_index([5.0]) is None and balance_index([0.0, 0.0]) is None


def test_participation_counted_from_domain_events() -> None:
    session = Session("s", "G", 0.0, private_chat_allowed=True)
    e = Engagement()
    for pid, role in (("f", Role.FACILITATOR), ("a", Role.PARTICIPANT), ("b", Role.PARTICIPANT)):
        e.observe(session.join(pid, pid.upper(), role, 0.0), 0.0)

    def act(actor: str, **body: object) -> None:
        for event in controls.apply(session, actor, controls.parse_command(body), 10.0):
            e.observe(event, 10.0)

    act("a", action="raise_hand")
    act("f", action="lower_hand", target="a")
    act("a", action="raise_hand")
    act("a", action="react", emoji="👏")
    act("a", action="chat", text="hi all")
    act("a", action="chat", text="just to you", to="b")  # two events, one message
    act("a", action="help")
    act("f", action="stop_video", target="a")
    act("f", action="mute", target="a")
    m = metrics(e, 70.0)["a"]
    assert (m["hand_raises"], m["reactions"], m["chat_messages"], m["help_requests"]) == (
        2,
        1,
        2,
        1,
    )
    assert m["camera_on_s"] == 10.0 and m["muted_s"] == 60.0
    assert metrics(e, 70.0)["b"]["chat_messages"] == 0


def test_opt_out_and_measurement_off_report_not_measured() -> None:
    e = engine("a", "b")
    speak(e, "a", 0.0, 5.0)
    e.opt_out("a", True, 5.0)
    speak(e, "a", 6.0, 9.0)
    m = metrics(e, 10.0)
    assert m["a"]["measured"] is False and "speaking_s" not in m["a"]
    assert m["a"]["present_s"] == 10.0  # attendance is still kept
    e.set_measuring(False, 10.0)
    speak(e, "b", 11.0, 15.0)
    m = metrics(e, 16.0)
    assert m["b"]["measured"] is False and e.alerts(16.0) == {}


def test_alerts_for_dominance_and_long_silence() -> None:
    e = engine("a", "b", "c")
    speak(e, "a", 0.0, 150.0)
    speak(e, "b", 150.5, 170.0)
    alerts = e.alerts(171.0)
    assert set(alerts) == {("dominating", "a")}
    assert alerts[("dominating", "a")]["share_pct"] > 40
    e.configure_alerts(dominance_share_pct=90.0)
    assert e.alerts(171.0) == {}
    assert ("silent", "c") in e.alerts(15 * 60 + 1.0)  # c never spoke in 15 minutes
    e.configure_alerts(enabled=False)
    assert e.alerts(15 * 60 + 1.0) == {}


def test_settings_and_opt_out_arrive_as_control_events() -> None:
    session = Session("s", "G", 0.0)
    e = Engagement()
    e.opt_out("w", True, 0.0)  # chose on the pre-join screen, before being admitted
    for pid, role in (("f", Role.FACILITATOR), ("w", Role.PARTICIPANT)):
        e.observe(session.join(pid, pid.upper(), role, 0.0), 0.0)
    assert metrics(e, 1.0)["w"]["measured"] is False
    body = {"action": "engagement_settings", "silence_min": 5, "alerts_enabled": False}
    for event in controls.apply(session, "f", controls.parse_command(body), 2.0):
        e.observe(event, 2.0)
    assert e.settings()["silence_min"] == 5 and e.settings()["enabled"] is False
    body = {"action": "engagement_opt_out", "opted_out": False}
    for event in controls.apply(session, "w", controls.parse_command(body), 3.0):
        e.observe(event, 3.0)
    assert metrics(e, 4.0)["w"]["measured"] is True


def test_time_muted_by_a_leader_is_not_silence() -> None:
    session = Session("s", "G", 0.0)
    e = Engagement()
    for pid, role in (("f", Role.FACILITATOR), ("a", Role.PARTICIPANT), ("b", Role.PARTICIPANT)):
        e.observe(session.join(pid, pid.upper(), role, 0.0), 0.0)
    for event in controls.apply(
        session, "f", controls.parse_command({"action": "mute", "target": "a"}), 60.0
    ):
        e.observe(event, 60.0)
    later = 20 * 60.0
    alerts = e.alerts(later)
    assert ("silent", "b") in alerts  # b chose silence
    assert ("silent", "a") not in alerts  # a was muted by a leader
    # unmuted again: silence counts from then
    e.observe(session.set_media_state("a", audio=True, video=None), later)
    assert ("silent", "a") not in e.alerts(later + 14 * 60)
    assert ("silent", "a") in e.alerts(later + 15 * 60 + 1)


def test_longest_silence_leaves_out_time_muted_by_a_leader() -> None:
    session = Session("s", "G", 0.0)
    e = Engagement()
    for pid, role in (("f", Role.FACILITATOR), ("a", Role.PARTICIPANT)):
        e.observe(session.join(pid, pid.upper(), role, 0.0), 0.0)
    speak(e, "a", 10.0, 20.0)
    for event in controls.apply(
        session, "f", controls.parse_command({"action": "mute", "target": "a"}), 60.0
    ):
        e.observe(event, 60.0)
    # still muted by the leader: silent from 20 s until the mute, never since
    assert metrics(e, 500.0)["a"]["longest_silence_s"] == pytest.approx(40.0, abs=0.05)
    e.observe(session.set_media_state("a", audio=True, video=None), 600.0)
    m = metrics(e, 700.0)["a"]
    assert m["longest_silence_s"] == pytest.approx(100.0, abs=0.05)  # from the unmute on
    # a mute of their own is their choice: it stays silence
    e.observe(session.set_media_state("a", audio=False, video=None), 700.0)
    assert metrics(e, 1000.0)["a"]["longest_silence_s"] == pytest.approx(400.0, abs=0.05)
