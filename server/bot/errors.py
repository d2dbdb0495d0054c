"""What a bot raises when the server refuses it or a step fails (client.py, relocation.py)."""

from __future__ import annotations


class BotError(RuntimeError):
    """The server refused a bot's request (`code` and `reason` are the server's), or a step
    timed out or failed (`code` None)."""

    def __init__(
        self, message: str, code: str | None = None, reason: str = "", url: str = ""
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.url = url  # where the session runs, with code "elsewhere"
