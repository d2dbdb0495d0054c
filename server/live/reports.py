"""What is reported from a live session: a participant's view of it, the engagement picture
for leaders and the REST API, and the summary for the store."""

from __future__ import annotations

from typing import Any

from rooms import controls
from rooms.crisis_state import Crisis
from rooms.quality import Level
from rooms.summary import SessionFacts, build_summary
from rooms.summary_merge import merge_summaries
from server.live.session import LiveSession
from server.store import CrisisRecord


def state_for(live: LiveSession, pid: str, now: float) -> dict[str, Any]:
    """Everything one admitted participant's page needs, as they may see it."""
    me = live.session.participants[pid]
    return {
        **controls.snapshot(live.session, pid, now),
        "me": me.full(),
        "active_speaker": live.announced_speakers.get(me.room_id),
    }


def engagement_report(live: LiveSession, now: float) -> dict[str, Any]:
    """The engagement picture for leaders and the REST API: metrics keyed by participant id
    (with display names), rooms, session, settings and the alerts that hold now."""
    engine = live.engagement
    return {
        "session_id": live.session.id,
        "at": now,
        **engine.metrics(now),
        "settings": engine.settings(),
        "alerts": [
            {"kind": _with_connection(live, kind, pid), "participant_id": pid, **detail}
            for (kind, pid), detail in sorted(engine.alerts(now).items())
        ],
    }


def summary_of(live: LiveSession, now: float, *, final: bool) -> dict[str, Any]:
    """The session's summary now (rooms.summary), from everything measured so far."""
    record = live.record
    facts = SessionFacts(
        record.id,
        record.title,
        record.group_id,
        record.created_at,
        record.ended_at,
        list(live.leaders.values()),
        room_names={room.id: room.name for room in live.session.breakouts.rooms},
        invite_ids=dict(live.invite_ids),
    )
    summary = build_summary(facts, live.engagement, live.quality, live.alert_log, now, final=final)
    if live.summary_base is not None:
        summary = merge_summaries(live.summary_base, summary)
    return summary


def _with_connection(live: LiveSession, kind: str, pid: str) -> str:
    """Silence means something else when the connection is failing: say so."""
    if kind == "silent" and live.quality.level(pid, "up") in (Level.POOR, Level.LOST):
        return "silent_poor_connection"
    return kind


def crisis_record(live: LiveSession, crisis: Crisis) -> CrisisRecord:
    """A crisis response as the clinical record keeps it: names by id as the session knew
    them, and the person's safety check as it was (kept because a crisis was recorded; None
    when memory has none, which `Effects` never writes over a recorded one)."""
    people = live.session.participants

    def who(pid: str | None) -> dict[str, str | None] | None:
        if not pid:
            return None
        person = people.get(pid)
        name = person.display_name if person else live.leaders.get(pid, {}).get("name", "")
        if pid == crisis.participant_id:
            # the invite that brought them: how the facilitator knows them (its label, on export)
            return {
                "id": pid,
                "name": name or crisis.participant_name,
                "invite_id": live.invite_ids.get(pid),
            }
        return {"id": pid, "name": name}

    info = live.session.safety.get(crisis.participant_id)
    actions = [
        {"at": a.at, "kind": a.kind, "by": a.by, "by_name": (who(a.by) or {}).get("name", "")}
        | {"note": a.note}
        for a in crisis.actions
    ]
    data = {
        **crisis.payload(),
        "actions": actions,
        "session_id": live.session.id,
        "session_title": live.session.title,
        "participant": who(crisis.participant_id),
        "leader": who(crisis.leader_id),
        "group_lead": who(crisis.group_lead),
        "safety": info.payload() if info else None,
        "safety_updates": [
            u.payload() for u in live.session.safety_updates.get(crisis.participant_id, [])
        ],
    }
    return CrisisRecord(live.session.id, crisis.id, crisis.started_at, data)
