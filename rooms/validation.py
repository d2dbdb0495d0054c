"""One way to tell a client what was wrong with what it sent."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError


def describe(exc: ValidationError, skip_loc: int = 0) -> str:
    """`<field>: <problem>` for the first error (`body` when the whole value is wrong)."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"][skip_loc:]) or "body"
    # our own validators' messages are for people: drop pydantic's "Value error, " prefix
    return f"{where}: {first['msg'].removeprefix('Value error, ')}"


def clean_text(text: str) -> str:
    """Without control and format characters (NUL, bidi overrides, zero-width joiners: a name
    that reads differently on screen), runs of whitespace as one space."""
    kept = "".join(
        " " if c.isspace() else c for c in text if unicodedata.category(c) not in ("Cc", "Cf")
    )
    return " ".join(kept.split())


def _tidy(text: str) -> str:
    """Runs of whitespace become one space; a value of only whitespace is refused."""
    tidy = clean_text(text)
    if not tidy:
        raise ValueError("must not be blank")
    return tidy


TidyText = Annotated[str, AfterValidator(_tidy)]  # a name or title typed by a person


class StrictModel(BaseModel):
    """The base of every request body and event: unknown fields and loose types refused."""

    model_config = ConfigDict(extra="forbid", strict=True)
