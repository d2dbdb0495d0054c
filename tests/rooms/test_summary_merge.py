"""A session's summary across live segments: segments built from real engagement and quality
traces with a fake clock, merged, and checked against numbers worked out by hand; merging is
associative, and an empty later segment changes nothing but the time of writing."""

from __future__ import annotations

import copy
import csv
import io
import math
from typing import Any

import pytest

from rooms import controls
from rooms.engagement import Engagement
from rooms.model import Participant, ParticipantJoined, Role, RoomChanged, Session
from rooms.quality import LinkSample, QualityMonitor
from rooms.summary import SessionFacts, build_summary, group_trends, merge_summaries, summary_csv
from rooms.talk import balance_index
from tests.rooms.test_summary import by_id, speak

ROLES = {"f": Role.FACILITATOR, "a": Role.PARTICIPANT, "b": Role.PARTICIPANT}
ROLES["c"] = Role.PARTICIPANT


def facts(ended_at: float | None = None, **names: str) -> SessionFacts:
    return SessionFacts(
        "s_1",
        "Week 3",
        "g_1",
        0.0,
        ended_at,
        [{"name": "F", "credentials": "LCSW"}],
        room_names=dict(names),
        invite_ids={"a": "i_a", "b": "i_b", "c": "i_c"},
    )


class Segment:
    """One live segment: its own session, engines and alerts, fed with times (a fake clock)."""

    def __init__(self) -> None:
        self.session = Session("s_1", "Week 3", 0.0)
        self.e = Engagement()
        self.q = QualityMonitor()
        self.alerts: list[dict[str, Any]] = []

    def join(self, pid: str, at: float) -> None:
        # the same participant id as in an earlier segment (the server keeps it)
        person = Participant(pid, pid.upper(), ROLES[pid], joined_at=at)
        self.session.participants[pid] = person
        self.e.observe(ParticipantJoined(person), at)

    def act(self, actor: str, at: float, **body: object) -> None:
        for event in controls.apply(self.session, actor, controls.parse_command(body), at):
            self.e.observe(event, at)

    def leave(self, pid: str, at: float) -> None:
        for event in controls.leave(self.session, pid, at):
            self.e.observe(event, at)

    def upload(self, pid: str, start: float, samples: int, bad: tuple[float, float]) -> None:
        received = lost = 0
        for i in range(samples):
            at = start + 2 * i
            poor = bad[0] <= at < bad[1]
            received += 90 if poor else 100
            lost += 10 if poor else 0
            self.q.add(pid, LinkSample(at, received, lost, 5.0, 40.0, None, None, at), None)

    def summary(self, now: float, ended_at: float | None = None, **names: str) -> dict[str, Any]:
        return build_summary(
            facts(ended_at, **names), self.e, self.q, self.alerts, now, final=ended_at is not None
        )


def segment(joins: dict[str, float], turns: list[tuple[str, float, float]]) -> Segment:
    """A segment in which these people joined (id: time) and took these turns."""
    s = Segment()
    for pid, at in joins.items():
        s.join(pid, at)
    for pid, start, end in turns:
        speak(s.e, pid, start, end)
    return s


def first_segment() -> dict[str, Any]:
    """0-300 s: f, a and b; b leaves at 200. Written at 300 while everyone else is there."""
    s = segment({"f": 0.0, "a": 0.0, "b": 0.0}, [("a", 10.0, 40.0), ("b", 45.0, 55.0)])
    speak(s.e, "a", 60.0, 70.0)
    s.act("a", 75.0, action="raise_hand")
    s.e.observe(RoomChanged("b", "b1", ()), 100.0)
    s.e.observe(RoomChanged("b", "main", ()), 160.0)
    s.leave("b", 200.0)
    s.upload("a", 100.0, 31, bad=(110.0, 130.0))
    s.alerts.append({"kind": "dominating", "participant_id": "a", "at": 65.0})
    return s.summary(300.0, b1="Coping skills")


def second_segment() -> dict[str, Any]:
    """400-700 s (the server restarted): f and a again, c for the first time."""
    s = segment(
        {"f": 400.0, "a": 400.0, "c": 410.0},
        [("c", 420.0, 440.0), ("a", 450.0, 490.0), ("f", 495.0, 500.0)],
    )
    s.act("a", 510.0, action="raise_hand")
    s.act("c", 520.0, action="chat", text="hi")
    s.upload("a", 400.0, 20, bad=(500.0, 500.0))  # clean
    s.alerts.append({"kind": "silent", "participant_id": "c", "at": 690.0})
    return s.summary(700.0, b1="Sleep")


def third_segment() -> dict[str, Any]:
    """800-900 s: a and c; the session ends at 900."""
    s = segment({"a": 800.0, "c": 800.0}, [("a", 810.0, 820.0), ("c", 830.0, 880.0)])
    s.e.observe(RoomChanged("c", "b1", ()), 885.0)
    return s.summary(900.0, ended_at=900.0)


def test_two_segments_merge_into_one_continuous_summary() -> None:
    merged = merge_summaries(first_segment(), second_segment())
    people = by_id(merged)
    assert list(people) == ["f", "a", "b", "c"]  # first seen first
    f, a, b, c = (people[pid] for pid in ("f", "a", "b", "c"))

    # attendance: the time between segments is a gap; b's one span stands
    assert a["attendance"]["spans"] == [[0.0, 300.0], [400.0, None]]
    assert f["attendance"]["spans"] == [[0.0, 300.0], [400.0, None]]
    assert (a["attendance"]["joins"], a["attendance"]["present_s"]) == (2, 600.0)
    assert (a["attendance"]["joined_at"], a["attendance"]["left_at"]) == (0.0, None)
    assert b["attendance"]["spans"] == [[0.0, 200.0]] and b["attendance"]["left_at"] == 200.0
    assert c["attendance"]["spans"] == [[410.0, None]] and c["attendance"]["present_s"] == 290.0
    assert a["attendance"]["camera_on_s"] == 600.0 and a["attendance"]["muted_s"] == 0

    # speaking: a 30 + 10 + 40 s in 3 turns; everyone's talk 80 + 10 + 20 + 5 = 115 s
    sa = a["speaking"]
    assert (sa["speaking_s"], sa["turns"]) == pytest.approx((80.0, 3), abs=0.03)
    assert sa["mean_turn_s"] == pytest.approx(26.667, abs=0.02)
    assert sa["longest_turn_s"] == pytest.approx(40.0, abs=0.03)  # the later segment's
    assert sa["longest_silence_s"] == pytest.approx(230.0, abs=0.03)  # the earlier's: 70-300
    assert c["speaking"]["longest_silence_s"] == pytest.approx(260.0, abs=0.03)  # 440-700
    shares = {pid: people[pid]["speaking"]["share_pct"] for pid in people}
    assert shares == pytest.approx({"a": 69.6, "b": 8.7, "c": 17.4, "f": 4.3}, abs=0.1)
    assert merged["balance_index"] == pytest.approx(balance_index([80.0, 10.0, 20.0]), abs=0.002)
    assert merged["rooms"]["main"]["turns"] == 6
    assert merged["rooms"]["main"]["speaking_s"] == pytest.approx(115.0, abs=0.1)
    talk_in_main = [80.0, 10.0, 20.0, 5.0]
    assert merged["rooms"]["main"]["balance_index"] == pytest.approx(
        balance_index(talk_in_main), abs=0.002
    )
    # a spoke last before the restart and c first after it: c follows a
    assert merged["follows"] == {"a": {"b": 1, "c": 1, "f": 1}, "b": {"a": 1}, "c": {"a": 1}}
    assert [(t["participant_id"], t["start"]) for t in merged["timeline"]] == [
        ("a", 10.0),
        ("b", 45.0),
        ("a", 60.0),
        ("c", 420.0),
        ("a", 450.0),
        ("f", 495.0),
    ]

    # participation, rooms, quality, alerts
    assert a["participation"]["hand_raises"] == 2 and c["participation"]["chat_messages"] == 1
    assert {r["room"]: r["seconds"] for r in b["rooms"]} == {"main": 140.0, "b1": 60.0}
    assert {r["room"]: r["seconds"] for r in a["rooms"]} == {"main": 600.0}
    assert merged["room_names"] == {"b1": "Sleep"}  # the latest name of the room id
    up = a["quality"]["up"]
    # excellent 100-116 and 138-300, then from 400 (first judged) to 700; poor 116-138
    assert up["seconds_in"] == {"excellent": 178.0 + 300.0, "poor": 22.0}
    assert up["poor_s"] == 22.0 and up["lost_s"] == 0.0
    assert [level for _, level in up["timeline"]] == ["excellent", "poor", "excellent"]
    assert [w["score"] for w in up["worst"]] == sorted(w["score"] for w in up["worst"])
    assert len(up["worst"]) == 3 and up["worst"][0]["at"] < 300.0
    assert [al["kind"] for al in a["alerts"]] == ["dominating"] and a["alert_count"] == 1
    assert c["alert_count"] == 1 and b["alert_count"] == 0

    # the session: from the first segment's start to the second's end, in progress
    session = merged["session"]
    assert (session["started_at"], session["ended_at"], session["duration_s"]) == (0.0, None, 700.0)
    assert merged["in_progress"] is True and merged["generated_at"] == 700.0
    assert session["facilitators"] == [{"name": "F", "credentials": "LCSW"}]


def test_csv_and_group_trends_read_a_merged_summary() -> None:
    merged = merge_summaries(first_segment(), second_segment())
    rows = list(csv.reader(io.StringIO(summary_csv(merged))))
    table = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert set(table) == {"f", "a", "b", "c"}
    assert (table["a"]["joins"], table["a"]["present_s"], table["a"]["hand_raises"]) == (
        "2",
        "600.0",
        "2",
    )
    assert table["b"]["left_at"] == "1970-01-01T00:03:20+00:00" and table["c"]["invite_id"] == "i_c"
    trends = group_trends([merged])
    people = {p["invite_id"]: p for p in trends["participants"]}
    assert set(people) == {"i_a", "i_b", "i_c"}
    assert people["i_a"]["sessions"][0]["present_s"] == 600.0
    assert people["i_a"]["sessions"][0]["share_pct"] == pytest.approx(69.6, abs=0.1)


def test_merging_is_associative_over_three_segments() -> None:
    one, two, three = first_segment(), second_segment(), third_segment()
    left = merge_summaries(merge_summaries(one, two), three)
    right = merge_summaries(one, merge_summaries(two, three))
    assert left == right
    a, c = by_id(left)["a"], by_id(left)["c"]
    assert a["attendance"]["spans"] == [[0.0, 300.0], [400.0, 700.0], [800.0, None]]
    assert c["attendance"]["spans"] == [[410.0, 700.0], [800.0, None]]
    assert a["speaking"]["turns"] == 4 and c["speaking"]["turns"] == 2
    # every turn of the three segments was in the main room
    assert left["rooms"]["main"]["turns"] == 8
    assert left["session"]["ended_at"] == 900.0 and left["session"]["duration_s"] == 900.0
    assert left["in_progress"] is False
    assert by_id(left)["f"]["attendance"]["left_at"] == 700.0  # gone before the third
    assert {r["room"] for r in c["rooms"]} == {"main", "b1"}
    assert math.isclose(
        sum(p["speaking"]["share_pct"] for p in left["participants"]), 100, abs_tol=0.3
    )


@pytest.mark.parametrize("ended_at", [300.0, None])
def test_an_empty_later_segment_changes_nothing_but_the_time(ended_at: float | None) -> None:
    s = segment({"f": 0.0, "a": 0.0, "b": 0.0}, [("a", 10.0, 40.0), ("b", 45.0, 51.0)])
    s.leave("b", 100.0)
    earlier = s.summary(300.0, ended_at=ended_at, b1="Coping skills")
    empty = Segment().summary(350.0, ended_at=ended_at)
    before = copy.deepcopy(earlier)

    merged = merge_summaries(earlier, empty)

    assert earlier == before  # the inputs are never changed
    expected = {**earlier, "generated_at": 350.0}
    if ended_at is None:  # still running: it has lasted until now
        expected["session"] = {**earlier["session"], "duration_s": 350.0}
    assert merged == expected
    assert merge_summaries(empty, earlier) == earlier  # nothing before it: the same


def test_an_opt_out_in_the_later_segment_hides_earlier_speech_too() -> None:
    earlier = first_segment()
    s = segment({"a": 400.0, "c": 400.0}, [])
    s.act("a", 401.0, action="engagement_opt_out", opted_out=True)  # as the engine: kept none
    speak(s.e, "c", 420.0, 430.0)
    merged = merge_summaries(earlier, s.summary(500.0))
    a = by_id(merged)["a"]
    assert a["speaking"] == {"measured": False}
    assert "a" not in {t["participant_id"] for t in merged["timeline"]}
    assert a["participation"]["hand_raises"] == 1  # counts are not speech: they stay
    assert by_id(merged)["c"]["speaking"]["share_pct"] == pytest.approx(50.0, abs=0.1)  # of b's
