"""Engagement measurement as commands: leaders tune it for the session, and each participant
may opt out of being measured. The engagement engine (rooms.engagement) applies the events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import Field

from rooms.command import Command, Events, Handler
from rooms.controls.common import ToTarget
from rooms.errors import Refusal
from rooms.model import Audience, Leaders, Participant, Session


class EngagementSettings(Command):
    """Leaders tune engagement measurement for this session (unset fields stay as they are)."""

    action: Literal["engagement_settings"]
    measuring: bool | None = None
    alerts_enabled: bool | None = None
    dominance_share_pct: float | None = Field(default=None, ge=10, le=100)
    silence_min: float | None = Field(default=None, ge=1, le=240)


class EngagementOptOut(Command):
    """A participant's own choice: their speaking is not measured (or is again)."""

    action: Literal["engagement_opt_out"]
    opted_out: bool


EngagementCommand = EngagementSettings | EngagementOptOut
PARTICIPANT_COMMANDS = (EngagementOptOut,)


@dataclass(frozen=True)
class EngagementSettingsChanged:
    """Only the fields that were set; the engagement engine applies them."""

    changes: dict[str, float | bool]
    by: str
    name: ClassVar[str] = "engagement_settings_changed"
    audience: ClassVar[Audience] = Leaders()

    def payload(self) -> dict[str, object]:
        return {**self.changes, "by": self.by}


@dataclass(frozen=True)
class EngagementOptOutChanged(ToTarget):
    target: str
    opted_out: bool
    name: ClassVar[str] = "engagement_opt_out_changed"

    def payload(self) -> dict[str, object]:
        return {"opted_out": self.opted_out}


def _on_settings(
    session: Session, actor: Participant, cmd: EngagementSettings, now: float
) -> Events:
    changes = cmd.model_dump(exclude={"action"}, exclude_none=True)
    if not changes:
        raise Refusal("invalid", "nothing to change")
    return [EngagementSettingsChanged(changes, actor.id)]


def _on_opt_out(session: Session, actor: Participant, cmd: EngagementOptOut, now: float) -> Events:
    return [EngagementOptOutChanged(actor.id, cmd.opted_out)]


HANDLERS: dict[type[Command], Handler] = {
    EngagementSettings: _on_settings,
    EngagementOptOut: _on_opt_out,
}
