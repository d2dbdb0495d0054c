"""Breakout rooms: prepare a plan (rooms, assignment), open it with an optional timer, move
people while it runs, and bring everyone back after a return countdown everyone sees.

Commands are part of rooms.controls' `control` action set (they are authorized there) and
handled here; `tick(session, now)` is called periodically by the server and returns the timer's
events. Rooms only say who receives whose media: moving someone never touches a connection.

commands (what clients send), handlers (applying them), timer (`tick`), assignment (the
balanced random `auto_assign`), events (what people are told, and the views they carry).
"""

from __future__ import annotations

from rooms.breakouts.assignment import auto_assign
from rooms.breakouts.commands import (
    COMMANDS,
    MAX_ROOMS,
    PARTICIPANT_COMMANDS,
    BreakoutAssign,
    BreakoutAutoAssign,
    BreakoutBroadcast,
    BreakoutChoose,
    BreakoutCloseAll,
    BreakoutCloseRoom,
    BreakoutCommand,
    BreakoutCreate,
    BreakoutExtend,
    BreakoutHelp,
    BreakoutKeepApart,
    BreakoutMove,
    BreakoutOpen,
    BreakoutReusePrevious,
    BreakoutSetChoose,
    BreakoutVisit,
    RoomRef,
)
from rooms.breakouts.events import (
    BreakoutPlanChanged,
    BreakoutsChanged,
    BroadcastMessage,
    RoomHelpRequested,
    plan_view,
    public_view,
    state_events,
)
from rooms.breakouts.handlers import (
    HANDLERS,
    ROOM_PREFIX,
    assign,
    auto,
    broadcast,
    choose,
    close_all,
    close_room,
    create,
    extend,
    help_request,
    keep_apart,
    move,
    open_rooms,
    reuse,
    set_choose,
    visit,
)
from rooms.breakouts.timer import tick
from rooms.command import Events, Handler

__all__ = [
    "COMMANDS",
    "HANDLERS",
    "MAX_ROOMS",
    "PARTICIPANT_COMMANDS",
    "ROOM_PREFIX",
    "BreakoutAssign",
    "BreakoutAutoAssign",
    "BreakoutBroadcast",
    "BreakoutChoose",
    "BreakoutCloseAll",
    "BreakoutCloseRoom",
    "BreakoutCommand",
    "BreakoutCreate",
    "BreakoutExtend",
    "BreakoutHelp",
    "BreakoutKeepApart",
    "BreakoutMove",
    "BreakoutOpen",
    "BreakoutPlanChanged",
    "BreakoutReusePrevious",
    "BreakoutSetChoose",
    "BreakoutVisit",
    "BreakoutsChanged",
    "BroadcastMessage",
    "Events",
    "Handler",
    "RoomHelpRequested",
    "RoomRef",
    "assign",
    "auto",
    "auto_assign",
    "broadcast",
    "choose",
    "close_all",
    "close_room",
    "create",
    "extend",
    "help_request",
    "keep_apart",
    "move",
    "open_rooms",
    "plan_view",
    "public_view",
    "reuse",
    "set_choose",
    "state_events",
    "tick",
    "visit",
]
