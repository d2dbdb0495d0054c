"""REST API for crisis records (docs/crisis.md): a session's crisis responses, JSON or CSV,
for the clinical record. Only the leaders of the session's group (or its creator) and the API
key may read them; they are deleted with the session's audit data (and by retention)."""

from __future__ import annotations

from datetime import UTC, tzinfo
from typing import Any

from aiohttp import web

from rooms.errors import Refusal
from rooms.spreadsheet import csv_table, iso_time, session_zone
from server.store import CrisisRecord
from server.web import STORE, Caller, key_or_facilitator, led_session

CSV_COLUMNS = (
    "crisis_id",
    "participant",  # the name they used in the session, as the leader saw it
    "invite",  # the label of the personal invite that brought them (blank: another link)
    "participant_id",
    "location",
    "contact_name",
    "contact_phone",
    "started_at",
    "ended_at",
    "action_at",
    "action",
    "by",
    "note",
)


def crises_csv(
    records: list[CrisisRecord], zone: tzinfo = UTC, labels: dict[str, str] | None = None
) -> str:
    """One row per action of each crisis response, times ISO 8601 in `zone` (the session's);
    `labels`: invite id -> its label."""
    labels = labels or {}
    return csv_table(
        CSV_COLUMNS, (row for record in records for row in _rows(record, zone, labels))
    )


def _rows(record: CrisisRecord, zone: tzinfo, labels: dict[str, str]) -> list[tuple[object, ...]]:
    data: dict[str, Any] = record.data
    safety = data.get("safety") or {}
    who = data.get("participant") or {}
    return [
        (
            record.crisis_id,
            who.get("name", ""),
            labels.get(who.get("invite_id") or ""),
            who.get("id", ""),
            safety.get("location", ""),
            safety.get("contact_name", ""),
            safety.get("contact_phone", ""),
            iso_time(data.get("started_at"), zone),
            iso_time(data.get("ended_at"), zone),
            iso_time(action.get("at"), zone),
            action.get("kind", ""),
            action.get("by_name", ""),
            action.get("note", ""),
        )
        for action in data.get("actions", [])
    ]


@key_or_facilitator
async def session_crises(request: web.Request, caller: Caller) -> web.StreamResponse:
    record = await led_session(request, caller)
    crises = await request.app[STORE].crises_of_session(record.id)
    fmt = request.query.get("format", "json")
    if fmt == "csv":
        store = request.app[STORE]
        invites = await store.invites_of_group(record.group_id) if record.group_id else []
        labels = {i.id: i.label for i in invites}
        return web.Response(
            text=crises_csv(crises, session_zone(record.scheduled_start), labels),
            content_type="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="circle-{record.id}-crises.csv"'
            },
        )
    if fmt != "json":
        raise Refusal("invalid", "format: json or csv")
    return web.json_response({"session_id": record.id, "crises": [c.data for c in crises]})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/sessions/{session_id}/crises", session_crises)
