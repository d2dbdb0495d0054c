"""The live layer without sockets: a real registry, effects, namespace, SQLite store and media
routers (no peer connections), with the socket.io server replaced by one that records what it
was asked to send, so each piece can be checked on its own."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rooms.model import Role
from server import tokens
from server.config import Settings
from server.live.effects import Effects
from server.live.fanout import Fanout
from server.live.registry import LiveSessions
from server.live.workers import Workers
from server.media.stats import ForwardingStats
from server.signalling import Signalling
from server.store import SessionRecord, Store, open_store
from tests.conftest import make_settings


@dataclass
class RecordingSocketServer:
    """Takes the place of socketio.AsyncServer: records messages, rooms and closes."""

    sent: list[tuple[str, str, Any]] = field(default_factory=list)  # (sid, event, payload)
    rooms: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    closed: list[str] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def emit(self, event: str, data: Any = None, to: str | list[str] = "", **_: Any) -> None:
        assert to, "an emit with no address goes to everyone connected"
        for sid in [to] if isinstance(to, str) else to:
            self.sent.append((sid, event, data))

    async def enter_room(self, sid: str, room: str, **_: Any) -> None:
        self.rooms[room].add(sid)

    async def leave_room(self, sid: str, room: str, **_: Any) -> None:
        self.rooms[room].discard(sid)

    async def disconnect(self, sid: str, **_: Any) -> None:
        self.closed.append(sid)

    async def get_session(self, sid: str, **_: Any) -> dict[str, Any]:
        return self.sessions.setdefault(sid, {})

    async def save_session(self, sid: str, session: dict[str, Any], **_: Any) -> None:
        self.sessions[sid] = session

    def to(self, sid: str) -> list[str]:
        """The events one socket was sent, in order."""
        return [event for to, event, _ in self.sent if to == sid]


@dataclass
class Live:
    sio: RecordingSocketServer
    store: Store
    registry: LiveSessions
    effects: Effects
    namespace: Signalling
    workers: Workers
    settings: Settings
    now: list[float]
    restarts: list[Live] = field(default_factory=list)  # every server over this store
    keys: dict[str, str] = field(default_factory=dict)  # participant id -> the key it was given

    @property
    def secret(self) -> str:
        return self.settings.secret

    async def restarted(self) -> Live:
        """A new server over the same store, as after a crash (this one is left as it was)."""
        fresh = build(self.settings, self.store, [self.now[0] + 5])
        self.restarts.append(fresh)
        fresh.restarts, fresh.keys = self.restarts, self.keys
        return fresh

    async def session(self, session_id: str = "s_1", waiting_room: bool = False) -> None:
        record = SessionRecord(session_id, "Group", None, None, waiting_room, None, self.now[0])
        await self.store.add_session(record)

    async def connect(
        self, sid: str, role: Role = Role.PARTICIPANT, session_id: str = "s_1"
    ) -> None:
        grant = tokens.SessionGrant(session_id, "Group", role, int(self.now[0]) + 3600)
        auth = {"token": tokens.issue(self.secret, grant)}
        await self.namespace.trigger_event("connect", sid, {}, auth)

    async def send(self, sid: str, event: str, data: Any = None) -> Any:
        return await self.namespace.trigger_event(event, sid, data)

    async def join(self, sid: str, name: str, role: Role = Role.PARTICIPANT) -> str:
        """Joined as someone new; the rejoin key the server gave is kept in `keys`."""
        await self.connect(sid, role)
        reply = await self.send(sid, "join", {"name": name})
        assert reply["ok"], reply
        pid: str = reply["participant_id"]
        self.keys[pid] = reply["rejoin_key"]
        return pid

    async def rejoin(self, sid: str, name: str, pid: str) -> Any:
        """A page back on a new connection `sid` with the key `pid`'s page was given."""
        return await self.send(sid, "join", {"name": name, "rejoin_key": self.keys[pid]})


def build(settings: Settings, store: Store, now: list[float]) -> Live:
    """One server's live layer over `store` (a second one over the same store is a restart)."""
    sio = RecordingSocketServer()
    fanout = Fanout(sio)  # type: ignore[arg-type]
    registry = LiveSessions(settings, ForwardingStats(), lambda: store, fanout, lambda: now[0])
    effects = Effects(registry, fanout)
    registry.on_media_failed = effects.media_failed
    namespace = Signalling(registry, fanout, effects)
    namespace._set_server(sio)
    workers = Workers(registry, fanout, effects)
    return Live(sio, store, registry, effects, namespace, workers, settings, now)


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    settings = make_settings(tmp_path, port=8080)  # nothing listens
    store = await open_store(settings)
    servers = [build(settings, store, [1_000_000.0])]
    servers[0].restarts = servers
    try:
        yield servers[0]
    finally:
        for server in servers:
            await server.registry.close()
            server.effects.fanout.close()
        await store.close()
