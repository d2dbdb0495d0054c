"""What domain events mean beyond their messages: media (pause, move, add to the router),
sockets (join the session's room, close a removed person's), and the store (blocks, the end
of the session). One handler per event type, looked up in a table."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from rooms import controls
from rooms.model import MAIN_ROOM, DomainEvent, RoomChanged
from server.live.fanout import Fanout
from server.live.registry import LiveSessions
from server.live.reports import state_for
from server.live.session import LiveSession

log = logging.getLogger(__name__)


class Effects:
    def __init__(self, registry: LiveSessions, fanout: Fanout) -> None:
        self.registry = registry
        self.fanout = fanout

    async def publish(self, live: LiveSession, events: list[DomainEvent]) -> None:
        """Tell everyone first, then act: a removed person hears why before being cut off."""
        now = self.registry.clock()
        for event in events:
            live.engagement.observe(event, now)
            await self.fanout.deliver(live, event)
        for event in events:
            effect = _EFFECTS.get(type(event))
            if effect is not None:
                await effect(self, live, event)

    async def enter(self, live: LiveSession, pid: str) -> None:
        """Admitted: into the media router and the session's broadcast room."""
        live.router.add(pid, MAIN_ROOM)
        sid = live.sids.get(pid)
        if sid is not None:
            await self.fanout.sio.enter_room(sid, live.room())

    async def depart(self, session_id: str, pid: str) -> None:
        """A participant is gone (left, closed the tab, or their media failed)."""
        live = self.registry.get(session_id)
        if live is None or pid not in live.session.participants:
            return
        events = controls.leave(live.session, pid, self.registry.clock())
        live.quality.leave(pid, self.registry.clock())
        sid = live.sids.pop(pid, None)
        live.forget_speaker(pid)
        await live.router.remove(pid)
        log.info("participant %s left session %s", pid, session_id)
        await self.publish(live, events)
        if sid is not None:
            await self.fanout.sio.leave_room(sid, live.room())
        if not live.session.participants:
            # Everyone has gone: the summary is complete (docs/summaries.md), unless they are
            # gone because the server is stopping.
            await self.registry.finish(live, final=not self.registry.stopping)

    async def _take_out(self, live: LiveSession, pid: str) -> None:
        """The domain has already taken them out of the session; take their media and socket."""
        live.quality.leave(pid, self.registry.clock())
        sid = live.sids.pop(pid, None)
        live.forget_speaker(pid)
        await live.router.remove(pid)
        if sid is not None:
            self.fanout.close_later(sid)

    # -- one handler per event type --------------------------------------------------------

    async def _audio_forced_off(self, live: LiveSession, event: controls.AudioForcedOff) -> None:
        live.router.set_paused(event.target, "audio", True)
        live.forget_speaker(event.target)

    async def _video_forced_off(self, live: LiveSession, event: controls.VideoForcedOff) -> None:
        live.router.set_paused(event.target, "video", True)

    async def _admitted(self, live: LiveSession, event: controls.ParticipantAdmitted) -> None:
        pid = event.participant.id
        await self.enter(live, pid)
        await self.fanout.to(live, pid, "admitted", state_for(live, pid, self.registry.clock()))

    async def _role_changed(self, live: LiveSession, event: controls.RoleChanged) -> None:
        # a new leader sees the waiting room and help requests
        pid = event.participant_id
        await self.fanout.to(live, pid, "snapshot", state_for(live, pid, self.registry.clock()))

    async def _room_changed(self, live: LiveSession, event: RoomChanged) -> None:
        live.forget_speaker(event.target)
        if event.target in live.router.participants:
            live.router.move(event.target, event.room_id)

    async def _removed(self, live: LiveSession, event: controls.ParticipantRemoved) -> None:
        if event.blocked:
            for invite_token_id in live.session.blocked_invites:
                await self.registry.store().block_invite(live.session.id, invite_token_id)

    async def _sent_away(
        self, live: LiveSession, event: controls.RemovedNotice | controls.ParticipantDenied
    ) -> None:
        await self._take_out(live, event.target)

    async def _ended(self, live: LiveSession, event: controls.SessionEnded) -> None:
        if not isinstance(event.audience, controls.Everyone):
            return  # the copy of the event for a waiting participant
        await self.registry.store().end_session(live.session.id, event.at)
        live.record = replace(live.record, ended_at=event.at)
        for pid in list(live.sids):
            await self._take_out(live, pid)
        await self.registry.finish(live, final=True)


Effect = Callable[[Effects, LiveSession, Any], Awaitable[None]]
_EFFECTS: dict[type, Effect] = {
    controls.AudioForcedOff: Effects._audio_forced_off,
    controls.VideoForcedOff: Effects._video_forced_off,
    controls.ParticipantAdmitted: Effects._admitted,
    controls.RoleChanged: Effects._role_changed,
    RoomChanged: Effects._room_changed,
    controls.ParticipantRemoved: Effects._removed,
    controls.RemovedNotice: Effects._sent_away,
    controls.ParticipantDenied: Effects._sent_away,
    controls.SessionEnded: Effects._ended,
}
