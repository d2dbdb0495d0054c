"""The base of every `control` command and the shape of the handlers that apply commands
(each feature keeps a table from command type to handler)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict

from rooms.model import DomainEvent, Participant, Session


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("the message is empty")
    return text


MessageText = Annotated[str, AfterValidator(_not_blank)]  # a chat or broadcast message


Events = list[DomainEvent]
# (session, actor, command, now): checks everything, then mutates, and returns what happened.
# The command is Any: a table picks the handler by the command's exact type.
Handler = Callable[[Session, Participant, Any, float], Events]
