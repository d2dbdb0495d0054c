"""The base of every `control` command and the one error every refusal raises."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


class ControlError(Exception):
    """A refused command: code "forbidden" | "invalid" | "not_found", and a message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("the message is empty")
    return text


MessageText = Annotated[str, AfterValidator(_not_blank)]  # a chat or broadcast message
