"""The breakout commands: part of the `control` command set (rooms.controls.dispatch parses
and authorizes them; rooms.breakouts.handlers applies them)."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, field_validator, model_validator

from rooms.command import Command, MessageText

MAX_ROOMS = 50
RoomRef = Annotated[str, Field(min_length=1, max_length=64)]


class BreakoutCreate(Command):
    """Make the rooms: `count` numbered rooms, or one per name. Replaces an unopened plan."""

    action: Literal["breakout_create"]
    count: int | None = Field(default=None, ge=1, le=MAX_ROOMS)
    names: list[Annotated[str, Field(min_length=1, max_length=60)]] | None = Field(
        default=None, min_length=1, max_length=MAX_ROOMS
    )

    @model_validator(mode="after")
    def _one_of(self) -> BreakoutCreate:
        if (self.count is None) == (self.names is None):
            raise ValueError("give either count or names")
        return self


class BreakoutAssign(Command):
    """Put someone in a room (None: the main room). While open, they move at once."""

    action: Literal["breakout_assign"]
    target: RoomRef
    room: RoomRef | None


class BreakoutAutoAssign(Command):
    """Balanced random assignment of the participants, honouring keep-apart pairs."""

    action: Literal["breakout_auto_assign"]
    seed: int | None = None


class BreakoutKeepApart(Command):
    action: Literal["breakout_keep_apart"]
    a: RoomRef
    b: RoomRef
    apart: bool = True  # False forgets the pair


class BreakoutReusePrevious(Command):
    action: Literal["breakout_reuse_previous"]


class BreakoutSetChoose(Command):
    action: Literal["breakout_set_choose"]
    allowed: bool


class BreakoutChoose(Command):
    """A participant picks their room (when the leaders allow it)."""

    action: Literal["breakout_choose"]
    room: RoomRef


class BreakoutOpen(Command):
    action: Literal["breakout_open"]
    duration_s: int | None = Field(default=None, ge=30, le=4 * 3600)
    return_countdown_s: int = Field(default=60, ge=0, le=600)


class BreakoutExtend(Command):
    """Add (or, negative, take away) time while the rooms run."""

    action: Literal["breakout_extend"]
    seconds: int = Field(ge=-4 * 3600, le=4 * 3600)

    @field_validator("seconds")
    @classmethod
    def _not_zero(cls, seconds: int) -> int:
        if seconds == 0:
            raise ValueError("must not be 0")
        return seconds


class BreakoutBroadcast(Command):
    action: Literal["breakout_broadcast"]
    text: MessageText = Field(min_length=1, max_length=500)


class BreakoutVisit(Command):
    """A leader goes to a room (or back to "main"); heard and seen only there."""

    action: Literal["breakout_visit"]
    room: RoomRef


class BreakoutMove(Command):
    action: Literal["breakout_move"]
    target: RoomRef
    room: RoomRef  # a breakout room id or "main"


class BreakoutCloseRoom(Command):
    """Send one room's people back to the main room now."""

    action: Literal["breakout_close_room"]
    room: RoomRef


class BreakoutCloseAll(Command):
    """Start the return countdown for every room (at once when it is 0); `at_once` brings
    everyone back now, also while a countdown runs."""

    action: Literal["breakout_close_all"]
    at_once: bool = False


class BreakoutHelp(Command):
    """Someone in a breakout room asks the leaders to come."""

    action: Literal["breakout_help"]


BreakoutCommand = (
    BreakoutCreate
    | BreakoutAssign
    | BreakoutAutoAssign
    | BreakoutKeepApart
    | BreakoutReusePrevious
    | BreakoutSetChoose
    | BreakoutChoose
    | BreakoutOpen
    | BreakoutExtend
    | BreakoutBroadcast
    | BreakoutVisit
    | BreakoutMove
    | BreakoutCloseRoom
    | BreakoutCloseAll
    | BreakoutHelp
)
COMMANDS: tuple[type[Command], ...] = get_args(BreakoutCommand)
PARTICIPANT_COMMANDS = (BreakoutChoose, BreakoutHelp)
