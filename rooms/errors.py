"""The one error type: a refusal with a code for programs and a message for people. Every
layer raises it; the server turns it into the `{"error": code, "message": ...}` reply for the
sender only (server/web.py for REST, server/signalling.py for socket acks)."""

from __future__ import annotations

from collections.abc import Mapping


class Refusal(Exception):
    """A refused request: `code` is one of the documented error codes (docs/api.md);
    `extra` is what a program needs to act on it (e.g. the `url` of `elsewhere`)."""

    def __init__(self, code: str, message: str, extra: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = dict(extra or {})

    def reply(self) -> dict[str, str]:
        return {**self.extra, "error": self.code, "message": self.message}
