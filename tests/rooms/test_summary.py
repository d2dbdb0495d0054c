"""Session summaries from a recorded trace (golden file, numbers checked by hand), the CSV
export's columns, and group trends across sessions matched by personal invite."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from rooms import controls
from rooms.engagement import Engagement
from rooms.model import Role, RoomChanged, Session
from rooms.quality import LinkSample, QualityMonitor
from rooms.summary import (
    CSV_COLUMNS,
    SCHEMA,
    Member,
    SessionFacts,
    build_summary,
    group_trends,
    summary_csv,
)

GOLDEN = Path(__file__).parent / "golden" / "summary_trace.json"
UPDATE = os.environ.get("CIRCLE_UPDATE_GOLDEN") == "1"  # rewrite the golden file, then review it


def speak(e: Engagement, pid: str, start: float, end: float) -> None:
    at, i = start, 0
    while at < end - 1e-9:
        e.level(pid, 30 + (0, 8, 4, 8)[i % 4], round(at, 3))  # speech moves; a fan does not
        at, i = at + 0.02, i + 1
    e.tick(end + 1.0)


def recorded_session(session_id: str = "s_1", b_speaks: float = 10.0) -> dict[str, Any]:
    session = Session(session_id, "Week 3", 0.0)
    e = Engagement()
    q = QualityMonitor()
    for pid, role in (("f", Role.FACILITATOR), ("a", Role.PARTICIPANT), ("b", Role.PARTICIPANT)):
        e.observe(session.join(pid, pid.upper(), role, 0.0), 0.0)

    def act(actor: str, at: float, **body: object) -> None:
        for event in controls.apply(session, actor, controls.parse_command(body), at):
            e.observe(event, at)

    speak(e, "a", 10.0, 40.0)
    speak(e, "b", 45.0, 45.0 + b_speaks)
    speak(e, "a", 52.0, 60.0)
    act("a", 70.0, action="raise_hand")
    act("a", 80.0, action="chat", text="thank you")  # counted, never kept
    e.observe(RoomChanged("b", "b1", ()), 100.0)
    e.observe(RoomChanged("b", "main", ()), 160.0)
    for event in controls.leave(session, "b", 200.0):
        e.observe(event, 200.0)
    # a's upload: clean, then 20% loss from 110 s to 130 s, then clean again
    received = lost = 0
    for i in range(31):
        at = 100.0 + 2 * i
        bad = 110.0 <= at < 130.0
        received += 90 if bad else 100
        lost += 10 if bad else 0  # lost counts are cumulative
        q.add("a", LinkSample(at, received, lost, 5.0, 40.0, None, None, at), None)
    facts = SessionFacts(
        session_id,
        "Week 3",
        "g_1",
        0.0,
        300.0,
        [{"name": "F", "credentials": "LCSW"}],
        room_names={"b1": "Coping skills"},
        invite_ids={"a": "i_a", "b": "i_b"},
    )
    alerts = [{"kind": "dominating", "participant_id": "a", "at": 65.0}]
    return build_summary(facts, e, q, alerts, 300.0, final=True)


def by_id(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in summary["participants"]}


def test_summary_of_a_recorded_trace_matches_the_golden_file() -> None:
    summary = recorded_session()
    if UPDATE:
        GOLDEN.write_text(json.dumps(summary, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    assert summary == json.loads(GOLDEN.read_text())


def test_the_numbers_checked_by_hand() -> None:
    s = recorded_session()
    assert s["schema"] == SCHEMA and s["in_progress"] is False
    assert s["session"]["duration_s"] == 300.0
    a, b, f = (by_id(s)[pid] for pid in ("a", "b", "f"))
    sa, sb = a["speaking"], b["speaking"]
    # a: 10-40 and 52-60; b: 45-55 (3 s of overlap, b stops 3 s after a starts: no takeover)
    assert (sa["speaking_s"], sa["turns"], sa["longest_turn_s"]) == pytest.approx(
        (38.0, 2, 30.0), abs=0.03
    )
    assert sa["mean_turn_s"] == pytest.approx(19.0, abs=0.03)
    assert (sb["speaking_s"], sb["turns"]) == pytest.approx((10.0, 1), abs=0.03)
    assert sa["share_pct"] == pytest.approx(79.2, abs=0.1)  # 38 / 48
    assert sa["overlap_s"] == pytest.approx(3.0, abs=0.03) == sb["overlap_s"]
    assert sa["interruptions"] == sb["interruptions"] == 0
    assert sa["longest_silence_s"] == pytest.approx(240.0, abs=0.03)  # 60 s to the end
    assert sb["longest_silence_s"] == pytest.approx(145.0, abs=0.03)  # 55 s until leaving
    assert b["attendance"]["present_s"] == 200.0 and b["attendance"]["left_at"] == 200.0
    assert {r["room"]: r["seconds"] for r in b["rooms"]} == {"main": 140.0, "b1": 60.0}
    assert [r["name"] for r in b["rooms"]] == [
        "the main room" if False else "main",
        "Coping skills",
    ]
    assert (a["participation"]["hand_raises"], a["participation"]["chat_messages"]) == (1, 1)
    assert f["speaking"]["speaking_s"] == 0.0
    assert a["quality"]["up"]["poor_s"] > 0 and [lvl for _, lvl in a["quality"]["up"]["timeline"]][
        :2
    ] == ["excellent", "poor"]
    assert a["alert_count"] == 1 and b["alert_count"] == 0
    assert s["follows"] == {"a": {"b": 1}, "b": {"a": 1}}
    assert s["balance_index"] == pytest.approx(0.738, abs=0.001)  # shares 38/48 and 10/48
    assert [(t["participant_id"], t["start"]) for t in s["timeline"]] == [
        ("a", 10.0),
        ("b", 45.0),
        ("a", 52.0),
    ]
    assert "thank you" not in json.dumps(s)  # counts only, never content


def test_csv_has_one_row_per_participant_and_the_documented_columns() -> None:
    summary = recorded_session()
    summary["participants"][1]["name"] = "=HYPERLINK(1)"  # a hostile display name
    rows = list(csv.reader(io.StringIO(summary_csv(summary))))
    assert rows[0] == [header for header, _ in CSV_COLUMNS]
    assert len(rows) == 1 + len(summary["participants"])
    table = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert table["a"]["speaking_s"] == "38.0" and table["a"]["invite_id"] == "i_a"
    assert table["f"]["invite_id"] == "" and table["b"]["left_at"] == "1970-01-01T00:03:20+00:00"
    assert table["a"]["name"] == "'=HYPERLINK(1)"  # never a formula in a spreadsheet


def test_csv_times_are_iso_8601_in_the_sessions_zone_and_invites_go_by_their_labels() -> None:
    summary = recorded_session()
    for p in summary["participants"]:
        p["attendance"]["joined_at"] = 1_796_675_537.06  # 2026-12-07 20:32:17 UTC
    people = by_id(summary)
    people["b"]["attendance"]["left_at"] = 1_796_677_337.0
    eastern = timezone(timedelta(hours=-5))
    text = summary_csv(summary, eastern, {"i_a": "Ana Lopez (Tuesdays)"})
    rows = list(csv.reader(io.StringIO(text)))
    table = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert rows[0][:4] == ["participant_id", "invite", "invite_id", "name"]
    assert table["a"]["joined_at"] == "2026-12-07T15:32:17-05:00"
    assert table["b"]["left_at"] == "2026-12-07T16:02:17-05:00"
    assert table["a"]["left_at"] == ""  # still there at the end
    assert (table["a"]["invite"], table["a"]["invite_id"]) == ("Ana Lopez (Tuesdays)", "i_a")
    assert table["b"]["invite"] == ""  # an invite the group no longer has: its id stays
    assert table["f"]["invite"] == table["f"]["invite_id"] == ""


def test_group_trends_follow_people_by_invite_not_name() -> None:
    first = recorded_session("s_1", b_speaks=10.0)
    second = recorded_session("s_2", b_speaks=30.0)
    second["session"]["created_at"] = 10_000.0
    second["participants"] = [p for p in second["participants"] if p["id"] != "a"]  # a was away
    for p in second["participants"]:
        if p["id"] == "b":
            p["name"] = "Bea"  # a new display name, the same person
    trends = group_trends([second, first])
    assert [s["session_id"] for s in trends["sessions"]] == ["s_1", "s_2"]
    people = {p["invite_id"]: p for p in trends["participants"]}
    assert set(people) == {"i_a", "i_b"}  # the facilitator has no invite: not a trend
    assert people["i_b"]["name"] == "Bea"
    assert [pt["attended"] for pt in people["i_a"]["sessions"]] == [True, False]
    shares = [pt["share_pct"] for pt in people["i_b"]["sessions"]]
    assert shares[1] > shares[0]


def test_trends_show_an_invited_member_who_never_came_as_absences() -> None:
    first = recorded_session("s_1")
    second = recorded_session("s_2")
    second["session"]["created_at"] = 10_000.0
    members = [
        Member("i_a", "Ana", 0.0),
        Member("i_b", "Bo", 0.0),
        Member("i_c", "Cy Moss", -5.0),  # invited before both sessions, never came
        Member("i_d", "Dee", 5_000.0),  # invited between them: only the second one counts
        Member("i_e", "Eli", -5.0, revoked=True),  # no longer in the group
    ]
    trends = group_trends([first, second], members)
    people = {p["invite_id"]: p for p in trends["participants"]}
    assert list(people) == ["i_a", "i_b", "i_c", "i_d"]
    cy, dee = people["i_c"], people["i_d"]
    assert (cy["name"], cy["label"]) == (None, "Cy Moss")
    assert [(pt["session_id"], pt["attended"]) for pt in cy["sessions"]] == [
        ("s_1", False),
        ("s_2", False),
    ]
    assert [(pt["session_id"], pt["attended"]) for pt in dee["sessions"]] == [("s_2", False)]
    assert people["i_a"]["label"] == "Ana"


def _with_trouble(summary: dict[str, Any], pid: str, up: float, down: float) -> None:
    for p in summary["participants"]:
        if p["id"] == pid:
            p["quality"]["up"].update(poor_s=up, lost_s=0.0)
            p["quality"]["down"].update(poor_s=down / 2, lost_s=down / 2)


def test_trends_count_connection_trouble_both_ways_and_show_invite_labels() -> None:
    summary = recorded_session("s_1")
    _with_trouble(summary, "b", up=0.0, down=90.0)  # only receiving was poor
    trends = group_trends([summary], [Member("i_b", "B. (Tuesdays)", 0.0)])
    people = {p["invite_id"]: p for p in trends["participants"]}
    [point] = people["i_b"]["sessions"]
    assert point["poor_connection_s"] == 90.0
    assert (point["poor_sending_s"], point["poor_receiving_s"]) == (0.0, 90.0)
    assert (people["i_b"]["name"], people["i_b"]["label"]) == ("B", "B. (Tuesdays)")
    assert people["i_a"]["label"] is None


def test_a_private_talk_is_named_with_the_member() -> None:
    session = Session("s_p", "Week 4", 0.0)
    e = Engagement()
    for pid, role in (("f", Role.FACILITATOR), ("a", Role.PARTICIPANT)):
        e.observe(session.join(pid, pid.upper(), role, 0.0), 0.0)
    for event in controls.apply(
        session, "f", controls.parse_command({"action": "private_room", "target": "a"}), 10.0
    ):
        e.observe(event, 10.0)
    facts = SessionFacts("s_p", "Week 4", None, 0.0, None, [])
    summary = build_summary(facts, e, QualityMonitor(), [], 70.0, final=False)
    rooms = {r["room"]: r["name"] for p in summary["participants"] for r in p["rooms"]}
    assert rooms["private-a"] == "Private talk with A"
    assert summary["room_names"]["private-a"] == "Private talk with A"


def test_a_microphone_too_noisy_to_measure_gives_no_numbers() -> None:
    e = Engagement()
    for pid in ("a", "n"):
        e.join(pid, {"name": pid.upper(), "role": "participant"}, 0.0)
    speak(e, "a", 1.0, 6.0)
    # n: a -50 dBov hiss; what rises over it stands only 10-13 dB above it (noise, or a voice
    # the hiss buries): taken for voice, but too close to the floor to trust
    at = 0.0
    for i in range(500):
        voiced = i % 20 >= 10
        e.level("n", (40, 37)[i % 2] if voiced else 50, round(at, 3))
        at += 0.02
    e.tick(12.0)
    assert e.metrics(12.0)["participants"]["n"]["noisy_microphone"] is True
    facts = SessionFacts("s_1", "Week 3", None, 0.0, 12.0, [])
    summary = build_summary(facts, e, QualityMonitor(), [], 12.0, final=True)
    people = by_id(summary)
    assert people["n"]["speaking"] == {"measured": True, "noisy_microphone": True}
    assert people["a"]["speaking"]["noisy_microphone"] is False
    assert people["a"]["speaking"]["speaking_s"] == pytest.approx(5.0, abs=0.1)
    assert {t["participant_id"] for t in summary["timeline"]} == {"a"}
    rows = list(csv.reader(io.StringIO(summary_csv(summary))))
    table = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert table["n"]["noisy_microphone"] == "true" and table["n"]["speaking_s"] == ""
    assert table["a"]["noisy_microphone"] == "false" and table["a"]["speaking_s"] != ""
