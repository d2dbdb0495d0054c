"""A session's engagement summary, and the trends of a group across sessions. Pure: built from
the engagement engine, the quality monitor and facts the server passes in. Metrics only: no
audio, no chat text, never more than counts.

The JSON shape is versioned (`SCHEMA`) and documented in docs/summaries.md; `summary_csv` is one
row per participant; `merge_summaries` (summary_merge.py) joins a session's live segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any

from rooms.engagement import Engagement
from rooms.model import PRIVATE_ROOM_PREFIX
from rooms.quality import QualityMonitor
from rooms.spreadsheet import csv_table, iso_time
from rooms.summary_merge import merge_summaries
from rooms.talk import balance_index

__all__ = [
    "CSV_COLUMNS",
    "SCHEMA",
    "Member",
    "SessionFacts",
    "build_summary",
    "group_trends",
    "merge_summaries",
    "summary_csv",
]

SCHEMA = "circle.summary/1"

# The CSV columns, in order: (header, path in a summary participant). `invite` is the label of
# the invite at `invite_id`; the `_CSV_TIMES` are written as ISO 8601 times.
CSV_COLUMNS: list[tuple[str, tuple[str, ...]]] = [
    ("participant_id", ("id",)),
    ("invite", ("invite_id",)),
    ("invite_id", ("invite_id",)),
    ("name", ("name",)),
    ("role", ("role",)),
    ("joined_at", ("attendance", "joined_at")),
    ("left_at", ("attendance", "left_at")),
    ("joins", ("attendance", "joins")),
    ("present_s", ("attendance", "present_s")),
    ("measured", ("speaking", "measured")),
    ("noisy_microphone", ("speaking", "noisy_microphone")),
    ("speaking_s", ("speaking", "speaking_s")),
    ("share_pct", ("speaking", "share_pct")),
    ("turns", ("speaking", "turns")),
    ("mean_turn_s", ("speaking", "mean_turn_s")),
    ("longest_turn_s", ("speaking", "longest_turn_s")),
    ("overlap_s", ("speaking", "overlap_s")),
    ("overlaps", ("speaking", "overlaps")),
    ("interruptions", ("speaking", "interruptions")),
    ("interrupted", ("speaking", "interrupted")),
    ("longest_silence_s", ("speaking", "longest_silence_s")),
    ("hand_raises", ("participation", "hand_raises")),
    ("chat_messages", ("participation", "chat_messages")),
    ("reactions", ("participation", "reactions")),
    ("help_requests", ("participation", "help_requests")),
    ("muted_s", ("attendance", "muted_s")),
    ("camera_on_s", ("attendance", "camera_on_s")),
    ("upload_poor_s", ("quality", "up", "poor_s")),
    ("upload_lost_s", ("quality", "up", "lost_s")),
    ("download_poor_s", ("quality", "down", "poor_s")),
    ("download_lost_s", ("quality", "down", "lost_s")),
    ("alerts", ("alert_count",)),
]

_CSV_TIMES = ("joined_at", "left_at")

_SPEECH_FIELDS = (
    "speaking_s",
    "share_pct",
    "turns",
    "mean_turn_s",
    "longest_turn_s",
    "overlap_s",
    "overlaps",
    "interruptions",
    "interrupted",
    "longest_silence_s",
)
_PARTICIPATION_FIELDS = ("hand_raises", "chat_messages", "reactions", "help_requests")


@dataclass(frozen=True)
class SessionFacts:
    id: str
    title: str
    group_id: str | None
    created_at: float
    ended_at: float | None
    facilitators: list[dict[str, str]]  # {"name", "credentials"} of the leaders who came
    room_names: dict[str, str] = field(default_factory=dict)  # breakout id -> name
    invite_ids: dict[str, str] = field(default_factory=dict)  # participant id -> invite id


def _quality(monitor: QualityMonitor, pid: str, now: float) -> dict[str, Any]:
    person = monitor.people.get(pid)
    out: dict[str, Any] = {}
    for direction in ("up", "down"):
        link = getattr(person, direction) if person else None
        seconds = link.history(now) if link else {}
        out[direction] = {
            "seconds_in": seconds,
            "poor_s": seconds.get("poor", 0.0),
            "lost_s": seconds.get("lost", 0.0),
            "worst": [{"score": s, "at": at} for s, at in link.worst] if link else [],
            "timeline": [[at, level] for at, level in link.changes] if link else [],
        }
    return out


def _private_talks(people: dict[str, dict[str, Any]], used: set[str]) -> dict[str, str]:
    """A 1:1 room is named after the member it was for, never by its id."""
    names = {
        PRIVATE_ROOM_PREFIX + pid: f"Private talk with {m['name']}" for pid, m in people.items()
    }
    return {room: name for room, name in names.items() if room in used}


def build_summary(
    facts: SessionFacts,
    engagement: Engagement,
    quality: QualityMonitor,
    alerts: list[dict[str, Any]],
    now: float,
    *,
    final: bool,
) -> dict[str, Any]:
    """The summary at `now`; `final` once the session has ended (else "in progress")."""
    metrics = engagement.metrics(now)
    used = {
        room for pid in metrics["participants"] for room in engagement.attendance(pid, now)["rooms"]
    }
    room_names = {**facts.room_names, **_private_talks(metrics["participants"], used)}
    participants = []
    timeline = []
    for pid, m in metrics["participants"].items():
        attendance = engagement.attendance(pid, now)
        spans = attendance["spans"]
        speaking: dict[str, Any] = {"measured": m["measured"]}
        noisy = m["measured"] and m["noisy_microphone"]
        if m["measured"]:
            # too noisy to measure: no numbers at all, rather than numbers of their noise
            speaking["noisy_microphone"] = noisy
            if not noisy:
                speaking.update({key: m[key] for key in _SPEECH_FIELDS})
        own_alerts = [a for a in alerts if a["participant_id"] == pid]
        participants.append(
            {
                "id": pid,
                "invite_id": facts.invite_ids.get(pid),
                "name": m["name"],
                "role": m["role"],
                "attendance": {
                    "joined_at": m["joined_at"],
                    "left_at": m["left_at"],
                    "joins": len(spans),
                    "spans": spans,
                    "present_s": m["present_s"],
                    "muted_s": m["muted_s"],
                    "camera_on_s": m["camera_on_s"],
                },
                "speaking": speaking,
                "participation": {key: m[key] for key in _PARTICIPATION_FIELDS},
                "rooms": [
                    {"room": room, "name": room_names.get(room, room), "seconds": s}
                    for room, s in attendance["rooms"].items()
                ],
                "quality": _quality(quality, pid, now),
                "alerts": own_alerts,
                "alert_count": len(own_alerts),
            }
        )
        for u in [] if noisy else engagement.utterances(pid):
            timeline.append(
                {
                    "participant_id": pid,
                    "room": u.room,
                    "start": round(u.start, 3),
                    "end": round(u.end, 3),
                }
            )
    timeline.sort(key=lambda t: (t["start"], t["participant_id"]))
    started = min((p["attendance"]["joined_at"] for p in participants), default=None)
    end = facts.ended_at if facts.ended_at is not None else now
    return {
        "schema": SCHEMA,
        "in_progress": not final,
        "generated_at": now,
        "session": {
            "id": facts.id,
            "title": facts.title,
            "group_id": facts.group_id,
            "created_at": facts.created_at,
            "started_at": started,
            "ended_at": facts.ended_at,
            "duration_s": round(end - started, 3) if started is not None else 0.0,
            "facilitators": facts.facilitators,
        },
        "measuring": metrics["measuring"],
        "participants": participants,
        "timeline": timeline,
        "rooms": metrics["rooms"],
        "room_names": room_names,
        # over everyone who took part as a participant, present at the end or not
        "balance_index": balance_index(
            [
                p["speaking"]["speaking_s"]
                for p in participants
                if p["role"] == "participant" and "speaking_s" in p["speaking"]
            ]
        ),
        "follows": metrics["session"]["follows"],
    }


def summary_csv(
    summary: dict[str, Any], zone: tzinfo = UTC, labels: dict[str, str] | None = None
) -> str:
    """One row per participant, columns CSV_COLUMNS; blanks for what was not measured. Times
    in `zone` (the session's); `labels`: invite id -> its label (blank for one not there)."""
    labels = labels or {}
    return csv_table(
        [header for header, _ in CSV_COLUMNS],
        (_row(p, zone, labels) for p in summary["participants"]),
    )


def _row(participant: dict[str, Any], zone: tzinfo, labels: dict[str, str]) -> list[Any]:
    row = []
    for header, path in CSV_COLUMNS:
        value: Any = participant
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if header in _CSV_TIMES:
            value = iso_time(value, zone)
        elif header == "invite":
            value = labels.get(value) if value else None
        row.append(value)
    return row


def _trouble(link: dict[str, Any]) -> float:
    return float(link["poor_s"]) + float(link["lost_s"])


@dataclass(frozen=True)
class Member:
    """A personal invite of a group: whom the facilitator invited, and since when."""

    invite_id: str
    label: str
    invited_at: float
    revoked: bool = False  # no longer in the group: listed only if they ever came


def group_trends(summaries: list[dict[str, Any]], members: Sequence[Member] = ()) -> dict[str, Any]:
    """Each participant with a personal invite, across the group's sessions (oldest first):
    attendance, share of talk, turns, longest silence, connection trouble (poor or lost,
    sending plus receiving, as the summary counts it). Every member of `members` (the group's
    invites) is listed, a member who never came too: absences are what a therapist most needs
    to see. A session before someone was invited is no absence of theirs."""
    labels = {m.invite_id: m.label for m in members}
    ordered = sorted(summaries, key=lambda s: (s["session"]["created_at"], s["session"]["id"]))
    people: dict[str, dict[str, Any]] = {}
    for summary in ordered:
        session = summary["session"]
        seen: set[str] = set()
        for p in summary["participants"]:
            invite = p.get("invite_id")
            if invite is None or p["role"] != "participant" or invite in seen:
                continue
            seen.add(invite)
            person = people.setdefault(
                invite,
                {
                    "invite_id": invite,
                    "name": p["name"],
                    "label": labels.get(invite),
                    "sessions": [],
                },
            )
            person["name"] = p["name"]  # the latest name they used
            speaking = p["speaking"]
            person["sessions"].append(
                {
                    "session_id": session["id"],
                    "title": session["title"],
                    "started_at": session["started_at"],
                    "attended": True,
                    "present_s": p["attendance"]["present_s"],
                    "share_pct": speaking.get("share_pct"),
                    "turns": speaking.get("turns"),
                    "longest_silence_s": speaking.get("longest_silence_s"),
                    "poor_connection_s": _trouble(p["quality"]["up"])
                    + _trouble(p["quality"]["down"]),
                    "poor_sending_s": _trouble(p["quality"]["up"]),
                    "poor_receiving_s": _trouble(p["quality"]["down"]),
                }
            )
    sessions = [
        {
            "session_id": s["session"]["id"],
            "title": s["session"]["title"],
            "started_at": s["session"]["started_at"],
            "in_progress": s["in_progress"],
        }
        for s in ordered
    ]
    for member in members:
        if member.invite_id not in people and not member.revoked:
            people[member.invite_id] = {
                "invite_id": member.invite_id,
                "name": None,  # they never came: nobody saw a name of theirs
                "label": member.label,
                "sessions": [],
            }
    invited_at = {m.invite_id: m.invited_at for m in members}
    created = {s["session"]["id"]: s["session"]["created_at"] for s in ordered}
    # absences are points too: a withdrawing member shows as gaps
    for person in people.values():
        attended = {point["session_id"] for point in person["sessions"]}
        since = invited_at.get(person["invite_id"], float("-inf"))
        for s in sessions:
            if s["session_id"] not in attended and created[s["session_id"]] >= since:
                person["sessions"].append(
                    {
                        "session_id": s["session_id"],
                        "title": s["title"],
                        "started_at": s["started_at"],
                        "attended": False,
                    }
                )
        order = {s["session_id"]: i for i, s in enumerate(sessions)}
        person["sessions"].sort(key=lambda point: order[point["session_id"]])
    return {"sessions": sessions, "participants": list(people.values())}
