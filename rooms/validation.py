"""One way to tell a client what was wrong with what it sent."""

from __future__ import annotations

from pydantic import ValidationError


def describe(exc: ValidationError, skip_loc: int = 0) -> str:
    """`<field>: <problem>` for the first error (`body` when the whole value is wrong)."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"][skip_loc:]) or "body"
    # our own validators' messages are for people: drop pydantic's "Value error, " prefix
    return f"{where}: {first['msg'].removeprefix('Value error, ')}"
