"""The one CSV writer of every export (summaries, crisis records): cells a spreadsheet would run
as a formula are written as text; times are ISO 8601 in the session's zone. Pure."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, tzinfo

__all__ = ["csv_table", "iso_time", "session_zone"]

# Spreadsheets run a cell starting with one of these as a formula (OWASP "CSV injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The header, then each row; None is a blank cell, booleans are `true`/`false`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return out.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    # a leading quote makes a spreadsheet show the text as it is; a plain number stays a number
    return "'" + text if text.startswith(FORMULA_STARTS) and not _number(text) else text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def session_zone(scheduled_start: str | None) -> tzinfo:
    """The zone a session's times are written in: the offset of its scheduled start (ISO 8601
    with a zone, as the facilitator entered it), else UTC."""
    if scheduled_start:
        try:
            zone = datetime.fromisoformat(scheduled_start).tzinfo
        except ValueError:
            zone = None
        if zone is not None:
            return zone
    return UTC


def iso_time(at: object, zone: tzinfo) -> str | None:
    """A unix time as ISO 8601 to the second in `zone` ("2026-12-08T17:32:17-05:00"); None
    for no time."""
    if not isinstance(at, int | float) or isinstance(at, bool):
        return None
    return datetime.fromtimestamp(at, zone).isoformat(timespec="seconds")
