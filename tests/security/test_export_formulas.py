"""Issue 26, finding 6: no export writes a cell a spreadsheet would run as a formula. A name
`=1+1`, a location `=HYPERLINK(...)` and a contact `@SUM(1+1)` reach the crisis CSV as text."""

from __future__ import annotations

import csv
import io

import pytest

from server.crisis_api import crises_csv
from server.store import CrisisRecord

pytestmark = pytest.mark.unit

FORMULAS = ("=1+1", '=HYPERLINK("http://evil.example","help")', "@SUM(1+1)", "+1+cmd", "-2+3")


def crisis_with(name: str, location: str, contact: str, phone: str, note: str) -> CrisisRecord:
    data = {
        "participant": {"id": "p_1", "name": name},
        "safety": {"location": location, "contact_name": contact, "contact_phone": phone},
        "started_at": 100.0,
        "ended_at": 200.0,
        "actions": [{"at": 150.0, "kind": "called_emergency", "by_name": name, "note": note}],
    }
    return CrisisRecord("s_1", "c_1", 100.0, data)


def test_crisis_csv_writes_formulas_as_text() -> None:
    name, location, contact, phone, note = FORMULAS
    text = crises_csv([crisis_with(name, location, contact, phone, note)])
    header, row = list(csv.reader(io.StringIO(text)))
    cells = dict(zip(header, row, strict=True))
    for column, written in (
        ("participant", name),
        ("location", location),
        ("contact_name", contact),
        ("contact_phone", phone),
        ("by", name),
        ("note", note),
    ):
        assert cells[column] == "'" + written, column
    assert not any(cell[:1] in "=+-@\t\r" for cell in row if cell)


def test_crisis_csv_keeps_numbers_and_plain_text() -> None:
    text = crises_csv([crisis_with("Sam", "12 High St", "Jo", "-1", "Safe")])
    _, row = list(csv.reader(io.StringIO(text)))
    assert [row[1], *row[4:7]] == ["Sam", "12 High St", "Jo", "-1"]  # after invite, id
