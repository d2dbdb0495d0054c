"""Log output: the text lines a person reads (the default), or one JSON object per line for a
log collector (`--log-format json`).

A JSON line carries the session and participant a record concerns, by id: from the record's
`extra=` or from the socket event being handled (`about`, set by the signalling). Log calls
name people by participant id only, never by display name, and never log chat text."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

SESSION_ID: ContextVar[str | None] = ContextVar("session_id", default=None)
PARTICIPANT_ID: ContextVar[str | None] = ContextVar("participant_id", default=None)


@contextmanager
def about(session_id: str | None, participant_id: str | None) -> Iterator[None]:
    """Records logged inside the block concern this session and participant."""
    session_token = SESSION_ID.set(session_id)
    participant_token = PARTICIPANT_ID.set(participant_id)
    try:
        yield
    finally:
        PARTICIPANT_ID.reset(participant_token)
        SESSION_ID.reset(session_token)


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "process", "logger", "event", "message", "session_id"?,
    "participant_id"?, "exception"?}`: `event` is the call's message template (the same for
    every occurrence, to count by), `message` the text with its arguments."""

    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "process": self.process,
            "logger": record.name,
            "event": str(record.msg),
            "message": record.getMessage(),
        }
        for key, context in (("session_id", SESSION_ID), ("participant_id", PARTICIPANT_ID)):
            value = getattr(record, key, None) or context.get()
            if value is not None:
                entry[key] = str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(log_format: str, process: str, level: str) -> None:
    """The root logger's one handler (stderr), in `log_format` ("text" or "json")."""
    handler = logging.StreamHandler()
    json_lines = log_format == "json"
    handler.setFormatter(JsonFormatter(process) if json_lines else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
    logging.captureWarnings(json_lines)  # a warning is a JSON line too, not raw stderr text
    logging.getLogger("aioice").setLevel(logging.WARNING)  # one line per ICE check otherwise
