"""What domain events mean beyond their messages: media (pause, move, add to the router),
sockets (join the session's room, close a removed person's), and the store (blocks, the end
of the session). One handler per event type, looked up in a table."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from rooms import controls
from rooms.controls import continuity
from rooms.crisis_state import Crisis
from rooms.emergency import help_lines
from rooms.model import MAIN_ROOM, DomainEvent, RoomChanged
from server.live.fanout import Fanout
from server.live.registry import LiveSessions
from server.live.reports import crisis_record, state_for
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
        if events:
            await self.registry.save_state(live)

    async def enter(self, live: LiveSession, pid: str) -> None:
        """Admitted: into the media router and the session's broadcast room."""
        live.router.add(pid, MAIN_ROOM)
        sid = live.sids.get(pid)
        if sid is not None:
            await self.fanout.sio.enter_room(sid, live.room())

    async def disconnected(self, session_id: str, pid: str) -> None:
        """Their connection dropped: they keep their place (continuity); someone still
        waiting simply leaves."""
        live = self.registry.get(session_id)
        person = live.session.participants.get(pid) if live else None
        if live is None or person is None:
            return
        if not person.admitted:
            await self.depart(session_id, pid)
            return
        live.sids.pop(pid, None)
        live.forget_speaker(pid)
        log.info("participant %s of session %s is away", pid, session_id)
        await self.publish(live, continuity.disconnect(live.session, pid, self.registry.clock()))

    async def resume(self, live: LiveSession, pid: str, sid: str) -> None:
        """They are back on a new connection (`sid`), as the same person: a connection still
        open for them (another tab, another device) is closed, and their media starts anew in
        the room they are in."""
        previous = live.sids.get(pid)
        live.sids[pid] = sid
        if previous is not None and previous != sid:
            self.fanout.close_later(previous)
        person = live.session.participants[pid]
        if person.admitted:
            await live.router.reset(pid, person.room_id, person.stepped_away)
            await self.fanout.sio.enter_room(sid, live.room())
        log.info("participant %s of session %s resumed", pid, live.session.id)
        await self.publish(live, continuity.resume(live.session, pid, self.registry.clock()))

    async def depart(self, session_id: str, pid: str) -> None:
        """A participant is gone: they left, or their place lapsed."""
        live = self.registry.get(session_id)
        if live is None or pid not in live.session.participants:
            return
        now = self.registry.clock()
        events = continuity.depart(live.session, pid, now)
        live.quality.leave(pid, now)
        sid = live.sids.pop(pid, None)
        live.forget_speaker(pid)
        await live.router.remove(pid)
        log.info("participant %s left session %s", pid, session_id)
        await self.publish(live, events)
        if sid is not None:
            await self.fanout.sio.leave_room(sid, live.room())
        if not live.session.participants:
            live.empty_since = now  # final after a while, unless someone comes back

    async def media_failed(self, session_id: str, pid: str) -> None:
        """A peer connection of theirs failed: their page renegotiates (`restart_media`)."""
        live = self.registry.get(session_id)
        if live is not None and pid in live.sids:
            await self.fanout.to(live, pid, "media_reset", {})

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

    async def _away_changed(self, live: LiveSession, event: controls.AwayChanged) -> None:
        # a 1:1 room already keeps its people from the group; a step-away of one's own hides
        pid = event.participant_id
        if pid in live.router.participants:
            live.router.set_hidden(pid, live.session.participants[pid].stepped_away)
        if event.away:
            live.forget_speaker(pid)

    async def _removed(self, live: LiveSession, event: controls.ParticipantRemoved) -> None:
        if event.blocked:
            for invite_token_id in live.session.blocked_invites:
                await self.registry.store().block_invite(live.session.id, invite_token_id)

    async def _sent_away(
        self, live: LiveSession, event: controls.RemovedNotice | controls.ParticipantDenied
    ) -> None:
        await self._take_out(live, event.target)

    async def _crisis_changed(self, live: LiveSession, event: controls.CrisisChanged) -> None:
        """Every change to a crisis response is kept at once, with the audit data."""
        await self._keep_crisis(live, event.crisis)

    async def _keep_crisis(self, live: LiveSession, crisis: Crisis) -> None:
        """Write the record as memory has it, but never a recorded safety check over with
        none: the person may have left (their answers are gone from memory), or the session
        moved here after a restart or a drain and nobody's page sent them again."""
        store = self.registry.store()
        record = crisis_record(live, crisis)
        kept = {c.crisis_id: c.data for c in await store.crises_of_session(live.session.id)}
        before = kept.get(crisis.id, {})
        # answers given again: those recorded, then those memory holds that are new
        updates = list(before.get("safety_updates") or [])
        seen = {u.get("given_at") for u in updates}
        updates += [u for u in record.data["safety_updates"] if u["given_at"] not in seen]
        data = {**record.data, "safety_updates": updates}
        if data["safety"] is None:
            data["safety"] = before.get("safety")
        await store.put_crisis(replace(record, data=data))

    async def _ended(self, live: LiveSession, event: controls.SessionEnded) -> None:
        if not isinstance(event.audience, controls.Everyone):
            return  # the copy of the event for a waiting participant
        store = self.registry.store()
        await store.end_session(live.session.id, event.at)
        for crisis in live.session.crises:  # each record as the session's end left it
            await self._keep_crisis(live, crisis)
        live.record = replace(live.record, ended_at=event.at)
        await self._after_session(live, event.at)
        for pid in list(live.sids):
            await self._take_out(live, pid)
        await self.registry.finish(live, final=True)

    async def _after_session(self, live: LiveSession, now: float) -> None:
        """Each member leaves a hard session with somewhere to turn: the group's next session
        and the help lines for where they said they are (their own answer, to them only)."""
        upcoming = await self._next_session(live, now)
        for pid, person in live.session.participants.items():
            if person.role.leads or not person.admitted:
                continue
            info = live.session.safety.get(pid)
            body = {
                "next_session": upcoming,
                "help_lines": help_lines(info.location if info else ""),
            }
            await self.fanout.to(live, pid, "after_session", body)

    async def _next_session(self, live: LiveSession, now: float) -> dict[str, Any] | None:
        """The group's next scheduled session that has not ended, if any."""
        if live.record.group_id is None:
            return None
        coming = []
        for record in await self.registry.store().sessions_of_group(live.record.group_id):
            start = _start_of(record.scheduled_start)
            if record.id != live.session.id and record.ended_at is None and start > now:
                coming.append((start, record))
        if not coming:
            return None
        _, record = min(coming, key=lambda pair: pair[0])
        return {"title": record.title, "scheduled_start": record.scheduled_start}


def _start_of(iso: str | None) -> float:
    """A session's scheduled start as a Unix time (never for one without a start)."""
    if not iso:
        return 0.0
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0


Effect = Callable[[Effects, LiveSession, Any], Awaitable[None]]
_EFFECTS: dict[type, Effect] = {
    controls.AudioForcedOff: Effects._audio_forced_off,
    controls.VideoForcedOff: Effects._video_forced_off,
    controls.ParticipantAdmitted: Effects._admitted,
    controls.RoleChanged: Effects._role_changed,
    RoomChanged: Effects._room_changed,
    controls.AwayChanged: Effects._away_changed,
    controls.ParticipantRemoved: Effects._removed,
    controls.RemovedNotice: Effects._sent_away,
    controls.ParticipantDenied: Effects._sent_away,
    controls.SessionEnded: Effects._ended,
    controls.CrisisChanged: Effects._crisis_changed,
}
