"""The one CSV writer of every export (summaries, crisis records): cells a spreadsheet would run
as a formula are written as text. Pure."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

__all__ = ["csv_table"]

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
