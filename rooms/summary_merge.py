"""One summary per session that only grows: `merge_summaries(earlier, later)` joins the summary
of a session's earlier live segments with the next segment's (built by `build_summary` from
fresh engines after everyone had gone for a while, or after a server restart).

The result is what one continuous segment would have produced, as far as the summaries can say
(rules per field: docs/summaries.md, "Segments"). Pure; re-exported by rooms.summary.
"""

from __future__ import annotations

import copy
from typing import Any

from rooms.talk import balance_index

_SUMMED_SPEECH = ("speaking_s", "turns", "overlap_s", "overlaps", "interruptions", "interrupted")
_MAXED_SPEECH = ("longest_turn_s", "longest_silence_s")
_SUMMED_ATTENDANCE = ("present_s", "muted_s", "camera_on_s")
_PARTICIPATION = ("hand_raises", "chat_messages", "reactions", "help_requests")


def merge_summaries(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    """`earlier` continued by `later` (a later segment of the same session), as one summary.

    People are matched by participant id; their attendance spans are appended (time between
    segments shows as absence), counts and times added, longest turn and silence the max,
    shares and balance recomputed from the totals, quality and alerts combined; the session
    starts when `earlier` did and is final (or not) as `later` says. Merging is associative, and
    a `later` without participants changes nothing but `generated_at` (and the duration, when
    the session has not ended)."""
    close_open_spans = bool(later["participants"])
    later_people = {p["id"]: p for p in later["participants"]}
    people = []
    for person in earlier["participants"]:
        mine = copy.deepcopy(person)
        if close_open_spans:
            _close_span(mine["attendance"])
        if person["id"] in later_people:
            mine = _merge_person(mine, later_people[person["id"]])
        people.append(mine)
    seen = {p["id"] for p in earlier["participants"]}
    people += [copy.deepcopy(p) for p in later["participants"] if p["id"] not in seen]
    _shares(people)

    measured = {p["id"] for p in people if p["speaking"]["measured"]}
    timeline = [
        dict(turn)
        for turn in [*earlier["timeline"], *later["timeline"]]
        if turn["participant_id"] in measured
    ]
    timeline.sort(key=lambda t: (t["start"], t["participant_id"]))
    return {
        **later,
        "session": _session(earlier["session"], later["session"], later["generated_at"]),
        "participants": people,
        "timeline": timeline,
        "rooms": _rooms(earlier["rooms"], later["rooms"], timeline),
        "room_names": {**earlier["room_names"], **later["room_names"]},
        # a segment nobody joined yet has a fresh engine's setting, not the session's
        "measuring": later["measuring"] if later["participants"] else earlier["measuring"],
        "balance_index": balance_index(
            [
                p["speaking"]["speaking_s"]
                for p in people
                if p["role"] == "participant" and p["speaking"]["measured"]
            ]
        ),
        "follows": _follows(earlier, later),
    }


def _close_span(attendance: dict[str, Any]) -> None:
    """An open span of an earlier segment ended when that segment was last written: where its
    `present_s` (counted up to then) says."""
    spans = attendance["spans"]
    if not spans or spans[-1][1] is not None:
        return
    closed = sum(end - start for start, end in spans[:-1])
    end = round(spans[-1][0] + attendance["present_s"] - closed, 3)
    attendance["spans"] = [*spans[:-1], [spans[-1][0], end]]
    attendance["left_at"] = end


def _merge_person(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    before, after = earlier["attendance"], later["attendance"]
    spans = [*before["spans"], *after["spans"]]
    attendance = {
        "joined_at": _first(before["joined_at"], after["joined_at"]),
        "left_at": after["left_at"],
        "joins": len(spans),
        "spans": copy.deepcopy(spans),
        **{key: _sum(before[key], after[key]) for key in _SUMMED_ATTENDANCE},
    }
    own_alerts = [*earlier["alerts"], *later["alerts"]]
    return {
        **copy.deepcopy(later),
        "invite_id": later["invite_id"] if later["invite_id"] is not None else earlier["invite_id"],
        "attendance": attendance,
        "speaking": _speaking(earlier["speaking"], later["speaking"]),
        "participation": {
            k: earlier["participation"][k] + later["participation"][k] for k in _PARTICIPATION
        },
        "rooms": _person_rooms(earlier["rooms"], later["rooms"]),
        "quality": {d: _link(earlier["quality"][d], later["quality"][d]) for d in ("up", "down")},
        "alerts": copy.deepcopy(own_alerts),
        "alert_count": len(own_alerts),
    }


def _speaking(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    """The later segment says whether they are measured (an opt-out stands, as in the engine);
    when they are, what was measured in either segment counts."""
    if not later["measured"]:
        return {"measured": False}
    if not earlier["measured"]:
        return dict(later)
    merged: dict[str, Any] = {"measured": True}
    merged.update({key: _sum(earlier[key], later[key]) for key in _SUMMED_SPEECH})
    merged.update({key: max(earlier[key], later[key]) for key in _MAXED_SPEECH})
    turns = merged["turns"]
    merged["mean_turn_s"] = round(merged["speaking_s"] / turns, 3) if turns else None
    merged["share_pct"] = None  # _shares fills it in from everyone's totals
    return merged


def _shares(people: list[dict[str, Any]]) -> None:
    """Share of talk, from the merged totals of everyone measured (leaders included)."""
    speaking = [p["speaking"] for p in people if p["speaking"]["measured"]]
    total = sum(s["speaking_s"] for s in speaking)
    for s in speaking:
        s["share_pct"] = round(100 * s["speaking_s"] / total, 1) if total > 0 else None


def _person_rooms(
    earlier: list[dict[str, Any]], later: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    rooms: dict[str, dict[str, Any]] = {}
    for entry in [*earlier, *later]:
        room = rooms.setdefault(entry["room"], {"room": entry["room"], "seconds": 0.0})
        room["name"] = entry["name"]  # the later name of a room id wins, as in room_names
        room["seconds"] = _sum(room["seconds"], entry["seconds"])
    return [{"room": r["room"], "name": r["name"], "seconds": r["seconds"]} for r in rooms.values()]


def _link(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    seconds = dict(earlier["seconds_in"])
    for level, s in later["seconds_in"].items():
        seconds[level] = round(seconds.get(level, 0.0) + s, 1)
    worst = sorted([*earlier["worst"], *later["worst"]], key=lambda w: (w["score"], w["at"]))[:3]
    changes = [list(c) for c in later["timeline"]]
    if changes and earlier["timeline"] and changes[0][1] == earlier["timeline"][-1][1]:
        changes = changes[1:]  # the same level again is no change
    return {
        "seconds_in": seconds,
        "poor_s": seconds.get("poor", 0.0),
        "lost_s": seconds.get("lost", 0.0),
        "worst": [dict(w) for w in worst],
        "timeline": [list(c) for c in earlier["timeline"]] + changes,
    }


def _session(earlier: dict[str, Any], later: dict[str, Any], now: float) -> dict[str, Any]:
    started = _first(earlier["started_at"], later["started_at"])
    end = later["ended_at"] if later["ended_at"] is not None else now
    facilitators = list(earlier["facilitators"])
    facilitators += [f for f in later["facilitators"] if f not in facilitators]
    return {
        **later,
        "created_at": earlier["created_at"],
        "started_at": started,
        "duration_s": round(end - started, 3) if started is not None else 0.0,
        "facilitators": copy.deepcopy(facilitators),
    }


def _rooms(
    earlier: dict[str, Any], later: dict[str, Any], timeline: list[dict[str, Any]]
) -> dict[str, Any]:
    """Per room: talk and turns added; a room talked in during both segments gets its balance
    from everyone's talk there in the merged timeline."""
    rooms = copy.deepcopy(earlier)
    for room, figures in later.items():
        if room not in rooms:
            rooms[room] = dict(figures)
            continue
        talk: dict[str, float] = {}
        for turn in timeline:
            if turn["room"] == room:
                pid = turn["participant_id"]
                talk[pid] = talk.get(pid, 0.0) + turn["end"] - turn["start"]
        rooms[room] = {
            "speaking_s": _sum(rooms[room]["speaking_s"], figures["speaking_s"]),
            "turns": rooms[room]["turns"] + figures["turns"],
            "balance_index": balance_index(list(talk.values())),
        }
    return rooms


def _follows(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Who spoke after whom, added; plus, in each room, the later segment's first speaker
    following the earlier segment's last one."""
    follows: dict[str, dict[str, int]] = copy.deepcopy(earlier["follows"])
    pairs = [(a, b, n) for a, row in later["follows"].items() for b, n in row.items()]
    last: dict[str, str] = {}
    for turn in sorted(earlier["timeline"], key=lambda t: (t["start"], t["participant_id"])):
        last[turn["room"]] = turn["participant_id"]
    first: dict[str, str] = {}
    for turn in sorted(later["timeline"], key=lambda t: (t["start"], t["participant_id"])):
        first.setdefault(turn["room"], turn["participant_id"])
    pairs += [(last[r], first[r], 1) for r in first if r in last and last[r] != first[r]]
    for a, b, n in pairs:
        row = follows.setdefault(a, {})
        row[b] = row.get(b, 0) + n
    return follows


def _first(a: float | None, b: float | None) -> float | None:
    return min(x for x in (a, b) if x is not None) if (a, b) != (None, None) else None


def _sum(a: float, b: float) -> float:
    return round(a + b, 3)
