"""Messages to audiences: one participant, the leaders, or a domain event's audience. Every
message goes to the participant's own socket, so no one receives what is not theirs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import socketio

from rooms import controls
from rooms.model import DomainEvent
from server.background import BackgroundTasks
from server.live.session import LiveSession

DISCONNECT_GRACE_S = 0.5


class Fanout:
    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio
        self._background = BackgroundTasks()

    async def to(self, live: LiveSession, pid: str, event: str, payload: dict[str, Any]) -> None:
        sid = live.sids.get(pid)
        if sid is not None:
            await self.sio.emit(event, payload, to=sid)

    async def to_each(
        self, live: LiveSession, pids: Iterable[str], event: str, payload: dict[str, Any]
    ) -> None:
        """The same message to each of `pids`, on their own sockets, encoded once."""
        sids = [sid for pid in pids if (sid := live.sids.get(pid)) is not None]
        if sids:  # socket.io reads an empty list as no address: everyone connected
            await self.sio.emit(event, payload, to=sids)

    async def to_leaders(self, live: LiveSession, event: str, payload: dict[str, Any]) -> None:
        await self.to_each(
            live, controls.recipients(live.session, controls.Leaders()), event, payload
        )

    async def deliver(self, live: LiveSession, event: DomainEvent, skip: str | None = None) -> None:
        """A domain event to its audience, each recipient getting what they may see."""
        for pid, payload in controls.deliveries(live.session, event):
            if pid != skip:
                await self.to(live, pid, event.name, payload)

    def close_later(self, sid: str) -> None:
        """Close a socket the server is done with, a moment later: the events that say why,
        and the answer to the request that caused it (say, their own "end"), arrive first."""
        self._background.spawn(self._close_after_grace(sid))

    async def _close_after_grace(self, sid: str) -> None:
        await asyncio.sleep(DISCONNECT_GRACE_S)
        await self.sio.disconnect(sid)

    def close(self) -> None:
        self._background.cancel_all()
